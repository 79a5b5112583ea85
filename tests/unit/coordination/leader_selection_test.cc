// The controller's leader and ISR decisions: new partitions, a leader's death with and without
// an ISR member to take over, an RF=1 partition going offline and coming back, unclean
// election, controlled shutdown and the preferred leader.
#include <gtest/gtest.h>

#include "coordination/leader_selection.h"

namespace gregor::coordination {
namespace {

partition_state state(int32_t leader, int32_t epoch, std::vector<int32_t> isr, int32_t zk_version = 3) {
    partition_state s;
    s.leader = leader;
    s.leader_epoch = epoch;
    s.isr = std::move(isr);
    s.zk_version = zk_version;
    return s;
}

TEST(LeaderSelection, NewPartitionIsLedByTheFirstLiveReplica) {
    auto s = initial_state({2, 3, 1}, {1, 3});
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->leader, 3);
    EXPECT_EQ(s->isr, (std::vector<int32_t>{3, 1}));
    EXPECT_EQ(s->leader_epoch, 0);
    EXPECT_FALSE(initial_state({2}, {1, 3}).has_value());
}

TEST(LeaderSelection, DeadLeaderIsReplacedFromTheIsrWithABumpedEpoch) {
    auto s = reconcile_with_live_brokers({1, 2, 3}, state(1, 4, {1, 2, 3}), {2, 3}, false);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->leader, 2);
    EXPECT_EQ(s->isr, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(s->leader_epoch, 5);
    EXPECT_EQ(s->zk_version, 3);  // the write is conditional on the version read
}

TEST(LeaderSelection, OnlyIsrMembersMayLeadUnlessUnclean) {
    const auto current = state(1, 4, {1, 3});
    auto clean = reconcile_with_live_brokers({1, 2, 3}, current, {2}, false);
    ASSERT_TRUE(clean.has_value());
    EXPECT_EQ(clean->leader, kNoLeader);
    EXPECT_EQ(clean->isr, (std::vector<int32_t>{1, 3}));
    auto unclean = reconcile_with_live_brokers({1, 2, 3}, current, {2}, true);
    ASSERT_TRUE(unclean.has_value());
    EXPECT_EQ(unclean->leader, 2);
    EXPECT_EQ(unclean->isr, (std::vector<int32_t>{2}));
}

TEST(LeaderSelection, SingleReplicaGoesOfflineAndReturnsWithItsBroker) {
    auto offline = reconcile_with_live_brokers({1}, state(1, 0, {1}), {2, 3}, false);
    ASSERT_TRUE(offline.has_value());
    EXPECT_EQ(offline->leader, kNoLeader);
    EXPECT_EQ(offline->isr, (std::vector<int32_t>{1}));
    EXPECT_EQ(offline->leader_epoch, 1);
    EXPECT_FALSE(reconcile_with_live_brokers({1}, *offline, {2, 3}, false).has_value());  // stays offline

    auto back = reconcile_with_live_brokers({1}, *offline, {1, 2, 3}, false);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->leader, 1);
    EXPECT_EQ(back->isr, (std::vector<int32_t>{1}));
    EXPECT_EQ(back->leader_epoch, 2);
}

TEST(LeaderSelection, DeadFollowerLeavesTheIsr) {
    auto s = reconcile_with_live_brokers({1, 2, 3}, state(1, 2, {1, 2, 3}), {1, 3}, false);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->leader, 1);
    EXPECT_EQ(s->isr, (std::vector<int32_t>{1, 3}));
    EXPECT_EQ(s->leader_epoch, 3);
    EXPECT_FALSE(reconcile_with_live_brokers({1, 2, 3}, state(1, 2, {1, 3}), {1, 2, 3}, false).has_value());
}

TEST(LeaderSelection, ControlledShutdownMovesLeadershipWithinTheIsr) {
    auto moved = move_for_shutdown({1, 2, 3}, state(1, 0, {1, 2, 3}), {1, 2, 3}, {1});
    ASSERT_TRUE(moved.has_value());
    EXPECT_EQ(moved->leader, 2);
    EXPECT_EQ(moved->isr, (std::vector<int32_t>{2, 3}));
    EXPECT_FALSE(move_for_shutdown({1}, state(1, 0, {1}), {1, 2}, {1}).has_value());  // nowhere to go

    auto follower = move_for_shutdown({2, 1}, state(2, 0, {2, 1}), {1, 2}, {1});
    ASSERT_TRUE(follower.has_value());
    EXPECT_EQ(follower->leader, 2);
    EXPECT_EQ(follower->isr, (std::vector<int32_t>{2}));
}

TEST(LeaderSelection, PreferredLeaderReturnsWhenLiveAndInSync) {
    auto back = restore_preferred_leader({1, 2}, state(2, 5, {2, 1}), {1, 2});
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->leader, 1);
    EXPECT_EQ(back->leader_epoch, 6);
    EXPECT_FALSE(restore_preferred_leader({1, 2}, state(2, 5, {2}), {1, 2}).has_value());     // not in sync
    EXPECT_FALSE(restore_preferred_leader({1, 2}, state(2, 5, {2, 1}), {2}).has_value());     // not live
    EXPECT_FALSE(restore_preferred_leader({1, 2}, state(1, 5, {2, 1}), {1, 2}).has_value());  // already
}

TEST(LeaderSelection, UncleanElectionIsALeaderFromOutsideTheIsr) {
    const auto before = state(1, 4, {1, 3});
    EXPECT_TRUE(is_unclean_election(before, *reconcile_with_live_brokers({1, 2, 3}, before, {2}, true)));
    EXPECT_FALSE(is_unclean_election(before, *reconcile_with_live_brokers({1, 2, 3}, before, {2, 3}, true)));
    EXPECT_FALSE(is_unclean_election(before, *reconcile_with_live_brokers({1, 2, 3}, before, {2}, false)));  // offline
    EXPECT_FALSE(is_unclean_election(before, state(1, 5, {1})));  // the leader stays
}

TEST(LeaderSelection, ReassignmentCompletesOnlyOnceEveryTargetReplicaIsInSync) {
    // Moving {1,2} to {2,3}: the replicas are {2,3,1} meanwhile, 1 leads.
    EXPECT_FALSE(complete_reassignment({2, 3}, state(1, 7, {1, 2}), {1, 2, 3}).has_value());
    auto done = complete_reassignment({2, 3}, state(1, 7, {1, 2, 3}), {1, 2, 3});
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->leader, 2);  // the leader is leaving: the first target replica takes over
    EXPECT_EQ(done->isr, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(done->leader_epoch, 8);
    EXPECT_EQ(done->zk_version, 3);

    auto dead_first = complete_reassignment({2, 3}, state(1, 7, {1, 2, 3}), {1, 3});
    ASSERT_TRUE(dead_first.has_value());
    EXPECT_EQ(dead_first->leader, 3);
}

TEST(LeaderSelection, ReassignmentKeepsALeaderThatStaysAndBumpsTheEpochAnyway) {
    auto grown = complete_reassignment({1, 2, 3}, state(1, 2, {1, 2, 3}), {1, 2, 3});
    ASSERT_TRUE(grown.has_value());
    EXPECT_EQ(grown->leader, 1);
    EXPECT_EQ(grown->isr, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(grown->leader_epoch, 3);
    auto shrunk = complete_reassignment({2}, state(2, 2, {2, 1}), {1, 2});
    ASSERT_TRUE(shrunk.has_value());
    EXPECT_EQ(shrunk->leader, 2);
    EXPECT_EQ(shrunk->isr, std::vector<int32_t>{2});
    EXPECT_FALSE(complete_reassignment({3}, state(1, 2, {1, 3}), {1}).has_value());  // nobody live to lead
}

}  // namespace
}  // namespace gregor::coordination
