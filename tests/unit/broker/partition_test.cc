// The partition's replication rules against a real log and a real event loop, without a
// network: the leader's high watermark and acks=all waits, ISR shrink and expansion through a
// recorded ISR writer, epoch fencing, and the follower's truncation by leader epoch.
#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "broker/replication/partition.h"
#include "tests/unit/storage/log_test_support.h"

namespace gregor::broker {
namespace {

using storage::log;
using namespace storage::test;

// ISR writes the partition proposed; the test answers them.
struct recorded_isr_writes {
    std::mutex mu;
    std::vector<std::pair<coordination::partition_state, std::function<void(result<int32_t>)>>> writes;

    isr_writer writer() {
        return [this](const topic_partition&, const coordination::partition_state& s,
                      std::function<void(result<int32_t>)> done) {
            std::lock_guard lock(mu);
            writes.emplace_back(s, std::move(done));
        };
    }
    size_t count() {
        std::lock_guard lock(mu);
        return writes.size();
    }
    std::pair<coordination::partition_state, std::function<void(result<int32_t>)>> take(size_t i) {
        std::lock_guard lock(mu);
        return writes.at(i);
    }
};

class PartitionTest : public ::testing::Test {
protected:
    void SetUp() override { loop_.start(); }
    void TearDown() override { loop_.stop(); }

    std::shared_ptr<partition> make(int32_t broker_id, const std::string& dir, int64_t lag_ms = 30000,
                                    int32_t min_isr = 1) {
        storage::log_options o;
        o.dir = tmp_.path() / dir;
        o.config.min_insync_replicas = min_isr;
        std::shared_ptr<log> l = must_open(std::move(o));
        return std::make_shared<partition>(topic_partition{"t", 0}, broker_id, l, loop_, loop_.make_strand(),
                                           replication_settings{lag_ms, isr_.writer()});
    }

    // Runs `fn` on the partition's strand and returns its result.
    template <typename F>
    auto on_strand(const std::shared_ptr<partition>& p, F fn) {
        using R = decltype(fn());
        std::promise<R> done;
        auto f = done.get_future();
        p->strand().post([&] {
            if constexpr (std::is_void_v<R>) {
                fn();
                done.set_value();
            } else {
                done.set_value(fn());
            }
        });
        return f.get();
    }

    template <typename F>
    bool eventually(F cond) {
        for (int i = 0; i < 5000; ++i) {
            if (cond()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return cond();
    }

    static leadership led_by(int32_t leader, int32_t epoch, std::vector<int32_t> isr, int32_t zk_version = 0) {
        return {leader, epoch, {1, 2, 3}, std::move(isr), zk_version, 1};
    }

    int64_t append(const std::shared_ptr<partition>& p, int n, int16_t acks = 1) {
        auto batch = make_batch(simple_records(n, fake_clock::kStart));
        return on_strand(p, [&] {
            auto r = p->append(batch, -1, acks);
            EXPECT_TRUE(r.ok()) << r.error().message;
            return r ? r->last_offset + 1 : -1;
        });
    }

    result<partition::read_result> fetch(const std::shared_ptr<partition>& p, int32_t replica, int64_t offset,
                                         int32_t epoch = -1) {
        return on_strand(p, [&] { return p->read(offset, 1 << 20, epoch, replica); });
    }

    temp_dir tmp_;
    event_loop loop_{2};
    recorded_isr_writes isr_;
};

TEST_F(PartitionTest, LoneLeaderCommitsAtOnce) {
    auto p = make(1, "lone");
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader({1, 0, {1}, {1}, 0, 1}); }));
    const int64_t end = append(p, 3);
    EXPECT_EQ(end, 3);
    EXPECT_EQ(on_strand(p, [&] { return p->high_watermark(); }), 3);
    std::promise<status> acked;
    on_strand(p, [&] { p->await_replication(end, 10000, [&](status s) { acked.set_value(s); }); });
    EXPECT_TRUE(acked.get_future().get().ok());
}

TEST_F(PartitionTest, HighWatermarkIsTheSmallestEndInTheIsr) {
    auto p = make(1, "hw");
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader(led_by(1, 0, {1, 2, 3})); }));
    const int64_t end = append(p, 5, -1);
    std::promise<status> acked;
    auto acked_f = acked.get_future();
    on_strand(p, [&] { p->await_replication(end, 60000, [&](status s) { acked.set_value(s); }); });

    // A consumer sees nothing yet; a follower sees everything.
    auto consumer = fetch(p, -1, 0);
    ASSERT_TRUE(consumer.ok());
    EXPECT_TRUE(consumer->records.empty());
    auto follower = fetch(p, 2, 0);
    ASSERT_TRUE(follower.ok());
    EXPECT_FALSE(follower->records.empty());
    EXPECT_EQ(follower->high_watermark, 0);

    ASSERT_TRUE(fetch(p, 2, end).ok());  // broker 2 has it all; broker 3 nothing yet
    EXPECT_EQ(on_strand(p, [&] { return p->high_watermark(); }), 0);
    EXPECT_EQ(acked_f.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

    ASSERT_TRUE(fetch(p, 3, 2).ok());
    EXPECT_EQ(on_strand(p, [&] { return p->high_watermark(); }), 2);
    auto last = fetch(p, 3, end);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->high_watermark, end);
    EXPECT_TRUE(acked_f.get().ok());
    EXPECT_EQ(isr_.count(), 0u);  // nobody joined or left
}

TEST_F(PartitionTest, AcksAllRefusedBelowMinInsyncReplicas) {
    auto p = make(1, "minisr", 30000, 2);
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader(led_by(1, 0, {1})); }));
    auto batch = make_batch(simple_records(1, fake_clock::kStart));
    auto r = on_strand(p, [&] { return p->append(batch, -1, -1); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, errc::not_enough_replicas);
    EXPECT_EQ(p->log()->log_end_offset(), 0);  // nothing appended
    EXPECT_EQ(append(p, 1, 1), 1);             // acks=1 is still served
}

TEST_F(PartitionTest, LaggingFollowerLeavesTheIsrAndTheWaitEndsBelowTheMinimum) {
    // Long enough that broker 2, fetching right before each check, never counts as lagging even
    // on a loaded machine; broker 3 never fetches.
    auto p = make(1, "shrink", /*lag_ms=*/500, /*min_isr=*/2);
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader(led_by(1, 0, {1, 2, 3}, 7)); }));
    const int64_t end = append(p, 2, -1);
    std::promise<status> acked;
    auto acked_f = acked.get_future();
    on_strand(p, [&] { p->await_replication(end, 60000, [&](status s) { acked.set_value(s); }); });
    ASSERT_TRUE(fetch(p, 2, end).ok());

    // Broker 3 never fetched: past the lag it is proposed out (broker 2 keeps fetching).
    ASSERT_TRUE(eventually([&] {
        EXPECT_TRUE(fetch(p, 2, end).ok());
        on_strand(p, [&] { p->maybe_shrink_isr(); });
        return isr_.count() > 0;
    }));
    auto [state, done] = isr_.take(0);
    EXPECT_EQ(state.isr, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(state.zk_version, 7);
    EXPECT_EQ(state.leader_epoch, 0);
    // Until the write is confirmed the old ISR holds the high watermark back.
    EXPECT_EQ(on_strand(p, [&] { return p->high_watermark(); }), 0);
    done(8);
    EXPECT_TRUE(eventually([&] { return on_strand(p, [&] { return p->high_watermark(); }) == end; }));
    EXPECT_TRUE(acked_f.get().ok());  // ISR {1,2} still meets min.insync.replicas=2
    EXPECT_EQ(on_strand(p, [&] { return p->isr(); }), (std::vector<int32_t>{1, 2}));
}

TEST_F(PartitionTest, RefusedIsrWriteKeepsTheOldIsr) {
    auto p = make(1, "refused", /*lag_ms=*/1);
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader(led_by(1, 0, {1, 2})); }));
    ASSERT_TRUE(eventually([&] {
        on_strand(p, [&] { p->maybe_shrink_isr(); });
        return isr_.count() > 0;
    }));
    isr_.take(0).second(status(errc::invalid_update_version, "moved on"));
    EXPECT_TRUE(eventually([&] { return on_strand(p, [&] { return p->isr(); }) == std::vector<int32_t>{1, 2}; }));
}

TEST_F(PartitionTest, CaughtUpFollowerIsProposedBackIn) {
    auto p = make(1, "expand");
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader(led_by(1, 0, {1, 2})); }));
    const int64_t end = append(p, 4);
    ASSERT_TRUE(fetch(p, 2, end).ok());
    EXPECT_EQ(on_strand(p, [&] { return p->high_watermark(); }), end);
    ASSERT_TRUE(fetch(p, 3, 1).ok());
    EXPECT_EQ(isr_.count(), 0u);  // behind the high watermark: not yet
    ASSERT_TRUE(fetch(p, 3, end).ok());
    ASSERT_TRUE(eventually([&] { return isr_.count() > 0; }));
    const auto proposed = isr_.take(isr_.count() - 1).first.isr;
    EXPECT_NE(std::find(proposed.begin(), proposed.end(), 3), proposed.end());
}

TEST_F(PartitionTest, EpochsFenceStaleRequests) {
    auto p = make(1, "fence");
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader(led_by(1, 5, {1})); }));
    EXPECT_FALSE(on_strand(p, [&] { return p->make_leader(led_by(1, 4, {1})); }));  // older: ignored
    auto batch = make_batch(simple_records(1, fake_clock::kStart));
    auto old = on_strand(p, [&] { return p->append(batch, 4, 1); });
    ASSERT_FALSE(old.ok());
    EXPECT_EQ(old.error().code, errc::fenced_leader_epoch);
    auto future = fetch(p, -1, 0, 6);
    ASSERT_FALSE(future.ok());
    EXPECT_EQ(future.error().code, errc::unknown_leader_epoch);
    auto not_replica = fetch(p, 9, 0);
    ASSERT_FALSE(not_replica.ok());
    EXPECT_EQ(not_replica.error().code, errc::not_leader_or_follower);

    ASSERT_TRUE(on_strand(p, [&] { return p->make_follower(led_by(2, 6, {2})); }));
    auto as_follower = on_strand(p, [&] { return p->append(batch, -1, 1); });
    ASSERT_FALSE(as_follower.ok());
    EXPECT_EQ(as_follower.error().code, errc::not_leader_or_follower);
    // The fetcher's calls for an older leadership change nothing.
    auto stale = on_strand(p, [&] { return p->append_from_leader(5, batch, 0); });
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code, errc::fenced_leader_epoch);
}

TEST_F(PartitionTest, LeaderEpochStartsAtTheLogEndWhenLeadershipBegins) {
    auto p = make(1, "epochs");
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader(led_by(1, 1, {1})); }));
    append(p, 3);
    ASSERT_TRUE(on_strand(p, [&] { return p->make_leader(led_by(1, 2, {1})); }));
    // Epoch 1 ends where epoch 2 began, even before anything is written under epoch 2.
    auto e1 = on_strand(p, [&] { return p->end_offset_for_epoch(-1, 1); });
    ASSERT_TRUE(e1.ok());
    EXPECT_EQ(e1->epoch, 1);
    EXPECT_EQ(e1->end_offset, 3);
    append(p, 2);
    auto e2 = on_strand(p, [&] { return p->end_offset_for_epoch(2, 2); });
    ASSERT_TRUE(e2.ok());
    EXPECT_EQ(e2->end_offset, 5);
}

// KIP-101: a follower that wrote records the new leader never got truncates them away by epoch,
// not by high watermark; then fetches the leader's records unchanged.
TEST_F(PartitionTest, FollowerTruncatesByLeaderEpochAndCopiesTheLeader) {
    auto leader = make(2, "leader");
    auto follower = make(1, "follower");
    // Both had epoch 1's offsets 0-2; the follower (then leader at epoch 1) also wrote 3-4.
    ASSERT_TRUE(on_strand(follower, [&] { return follower->make_leader(led_by(1, 1, {1})); }));
    append(follower, 3);
    ASSERT_TRUE(on_strand(leader, [&] { return leader->make_follower(led_by(1, 1, {1, 2})); }));
    auto first = fetch(follower, 2, 0);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(on_strand(leader, [&] { return leader->append_from_leader(1, first->records, 3); }).ok());
    append(follower, 2);
    EXPECT_EQ(follower->log()->log_end_offset(), 5);

    // Broker 2 becomes leader at epoch 2 and takes a write; broker 1 follows it.
    ASSERT_TRUE(on_strand(leader, [&] { return leader->make_leader(led_by(2, 2, {2, 1})); }));
    append(leader, 4);
    ASSERT_TRUE(on_strand(follower, [&] { return follower->make_follower(led_by(2, 2, {2, 1})); }));

    auto pos = on_strand(follower, [&] { return follower->position(2); });
    ASSERT_TRUE(pos.ok());
    ASSERT_TRUE(pos->latest_epoch.has_value());
    EXPECT_EQ(*pos->latest_epoch, 1);
    auto answer = on_strand(leader, [&] { return leader->end_offset_for_epoch(2, *pos->latest_epoch); });
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(answer->epoch, 1);
    EXPECT_EQ(answer->end_offset, 3);
    auto cut = on_strand(follower, [&] { return follower->truncate_to_leader(2, *answer); });
    ASSERT_TRUE(cut.ok()) << cut.error().message;
    ASSERT_TRUE(cut->has_value());
    EXPECT_EQ(**cut, 3);

    int64_t offset = **cut;
    while (offset < leader->log()->log_end_offset()) {
        auto r = fetch(leader, 1, offset, 2);
        ASSERT_TRUE(r.ok()) << r.error().message;
        auto next = on_strand(follower, [&] { return follower->append_from_leader(2, r->records, r->high_watermark); });
        ASSERT_TRUE(next.ok()) << next.error().message;
        offset = *next;
    }
    EXPECT_EQ(offset, 7);
    EXPECT_EQ(read_all(*follower->log(), 0), read_all(*leader->log(), 0));
    auto ours = on_strand(follower, [&] { return follower->log()->end_offset_for_epoch(1); });
    EXPECT_EQ(ours.end_offset, 3);
}

// KIP-279: the follower's latest epoch is unknown to the leader (both led in turn without the
// other's records); truncation takes more than one round.
TEST_F(PartitionTest, TruncationAsksAgainWhenEpochHistoriesDiverge) {
    auto follower = make(1, "diverged");
    ASSERT_TRUE(on_strand(follower, [&] { return follower->make_leader(led_by(1, 1, {1})); }));
    append(follower, 1);  // epoch 1: 0-1, a batch each
    append(follower, 1);
    ASSERT_TRUE(on_strand(follower, [&] { return follower->make_leader(led_by(1, 3, {1})); }));
    append(follower, 2);  // epoch 3: 2-3
    ASSERT_TRUE(on_strand(follower, [&] { return follower->make_follower(led_by(2, 4, {2})); }));
    // The leader has epochs 1 (0-0) and 2 (1-...): asked about epoch 3 it answers (2, 6).
    auto first = on_strand(follower, [&] { return follower->truncate_to_leader(4, {2, 6}); });
    ASSERT_TRUE(first.ok());
    EXPECT_FALSE(first->has_value());  // our epoch 1 ends at 2: cut there and ask about epoch 1
    EXPECT_EQ(follower->log()->log_end_offset(), 2);
    auto pos = on_strand(follower, [&] { return follower->position(4); });
    ASSERT_TRUE(pos.ok());
    EXPECT_EQ(pos->latest_epoch, std::optional<int32_t>(1));
    auto second = on_strand(follower, [&] { return follower->truncate_to_leader(4, {1, 1}); });
    ASSERT_TRUE(second.ok());
    ASSERT_TRUE(second->has_value());
    EXPECT_EQ(**second, 1);
}

}  // namespace
}  // namespace gregor::broker
