// Replica assignment as Kafka's AdminUtils: its documented examples, the distribution
// properties it promises (distinct replicas, leaders even across brokers, every rack used),
// its errors, and checks of an explicit assignment.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "coordination/replica_assignment.h"

namespace gregor::coordination {
namespace {

std::vector<broker_placement> brokers(int n, int first_id = 0) {
    std::vector<broker_placement> out;
    for (int i = 0; i < n; ++i) out.push_back({first_id + i, std::nullopt});
    return out;
}

TEST(ReplicaAssignment, MatchesKafkasDocumentedRackUnawareExample) {
    // AdminUtils' table: 5 brokers, 10 partitions, replication factor 3, start index 0.
    std::mt19937_64 rng(1);
    auto a = assign_replicas(brokers(5), 10, 3, rng, /*fixed_start_index=*/0);
    ASSERT_TRUE(a.ok()) << a.error().message;
    const replica_map expected = {{0, {0, 1, 2}}, {1, {1, 2, 3}}, {2, {2, 3, 4}}, {3, {3, 4, 0}},
                                  {4, {4, 0, 1}}, {5, {0, 2, 3}}, {6, {1, 3, 4}}, {7, {2, 4, 0}},
                                  {8, {3, 0, 1}}, {9, {4, 1, 2}}};
    EXPECT_EQ(*a, expected);
}

TEST(ReplicaAssignment, MatchesKafkasDocumentedRackAwareExample) {
    // 0->rack1, 1->rack3, 2->rack3, 3->rack2, 4->rack2, 5->rack1: alternated list 0,3,1,5,4,2.
    const std::vector<broker_placement> racked = {{0, "rack1"}, {1, "rack3"}, {2, "rack3"},
                                                  {3, "rack2"}, {4, "rack2"}, {5, "rack1"}};
    std::mt19937_64 rng(1);
    auto a = assign_replicas(racked, 6, 3, rng, /*fixed_start_index=*/0);
    ASSERT_TRUE(a.ok()) << a.error().message;
    const replica_map expected = {{0, {0, 3, 1}}, {1, {3, 1, 5}}, {2, {1, 5, 4}},
                                  {3, {5, 4, 2}}, {4, {4, 2, 0}}, {5, {2, 0, 3}}};
    EXPECT_EQ(*a, expected);
}

TEST(ReplicaAssignment, ReplicasAreDistinctAndLeadersEvenAcrossFiveBrokers) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
        std::mt19937_64 rng(seed);
        auto a = assign_replicas(brokers(5, 1), 50, 3, rng);
        ASSERT_TRUE(a.ok());
        ASSERT_EQ(a->size(), 50u);
        std::map<int32_t, int> leaders, replicas;
        for (const auto& [p, rs] : *a) {
            ASSERT_EQ(rs.size(), 3u);
            EXPECT_EQ(std::set<int32_t>(rs.begin(), rs.end()).size(), 3u) << "partition " << p;
            ++leaders[rs[0]];
            for (int32_t r : rs) ++replicas[r];
        }
        ASSERT_EQ(leaders.size(), 5u);
        for (const auto& [b, n] : leaders) EXPECT_EQ(n, 10) << "broker " << b << " seed " << seed;
        for (const auto& [b, n] : replicas) EXPECT_EQ(n, 30) << "broker " << b << " seed " << seed;
    }
}

TEST(ReplicaAssignment, LeadersStayWithinOneOfEvenWhenPartitionsDoNotDivide) {
    std::mt19937_64 rng(7);
    auto a = assign_replicas(brokers(5), 13, 3, rng);
    ASSERT_TRUE(a.ok());
    std::map<int32_t, int> leaders;
    for (const auto& [p, rs] : *a) ++leaders[rs[0]];
    int lo = 100, hi = 0;
    for (const auto& [b, n] : leaders) {
        lo = std::min(lo, n);
        hi = std::max(hi, n);
    }
    EXPECT_LE(hi - lo, 1);
}

TEST(ReplicaAssignment, StartIsRandomButSeedable) {
    std::set<int32_t> first_leaders;
    for (uint64_t seed = 0; seed < 50; ++seed) {
        std::mt19937_64 rng(seed);
        first_leaders.insert(assign_replicas(brokers(5), 1, 1, rng)->at(0)[0]);
    }
    EXPECT_GT(first_leaders.size(), 1u);
    std::mt19937_64 a(42), b(42);
    EXPECT_EQ(*assign_replicas(brokers(5), 8, 2, a), *assign_replicas(brokers(5), 8, 2, b));
}

TEST(ReplicaAssignment, RackAwareSpreadsEachPartitionOverAllRacks) {
    std::vector<broker_placement> racked;
    for (int i = 0; i < 6; ++i) racked.push_back({i + 1, "rack-" + std::to_string(i % 3)});
    for (uint64_t seed = 0; seed < 10; ++seed) {
        std::mt19937_64 rng(seed);
        auto a = assign_replicas(racked, 30, 3, rng);
        ASSERT_TRUE(a.ok());
        std::map<int32_t, int> leaders;
        for (const auto& [p, rs] : *a) {
            std::set<std::string> racks;
            for (int32_t r : rs) racks.insert("rack-" + std::to_string((r - 1) % 3));
            EXPECT_EQ(racks.size(), 3u) << "partition " << p;
            ++leaders[rs[0]];
        }
        for (const auto& [b, n] : leaders) EXPECT_EQ(n, 5) << "broker " << b;
    }
}

TEST(ReplicaAssignment, RackAwareWithFewerReplicasThanRacksPutsAtMostOnePerRack) {
    std::vector<broker_placement> racked = {{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}, {6, "c"}};
    std::mt19937_64 rng(3);
    auto a = assign_replicas(racked, 12, 2, rng);
    ASSERT_TRUE(a.ok());
    for (const auto& [p, rs] : *a) {
        EXPECT_NE(racked[rs[0] - 1].rack, racked[rs[1] - 1].rack) << "partition " << p;
    }
}

TEST(ReplicaAssignment, AddedPartitionsContinueTheNumbering) {
    std::mt19937_64 rng(0);
    auto a = assign_replicas(brokers(3), 2, 2, rng, /*fixed_start_index=*/1, /*start_partition_id=*/4);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->begin()->first, 4);
    EXPECT_EQ(a->rbegin()->first, 5);
}

TEST(ReplicaAssignment, ErrorsCarryKafkasMessages) {
    std::mt19937_64 rng(0);
    auto none = assign_replicas(brokers(3), 0, 1, rng);
    EXPECT_EQ(none.code(), errc::invalid_partitions);
    EXPECT_EQ(none.error().message, "Number of partitions must be larger than 0.");
    EXPECT_EQ(assign_replicas(brokers(3), 1, 0, rng).code(), errc::invalid_replication_factor);
    auto too_many = assign_replicas(brokers(3), 1, 4, rng);
    EXPECT_EQ(too_many.code(), errc::invalid_replication_factor);
    EXPECT_EQ(too_many.error().message, "Replication factor: 4 larger than available brokers: 3.");
    auto partial = assign_replicas({{1, "a"}, {2, std::nullopt}}, 1, 1, rng);
    EXPECT_EQ(partial.code(), errc::invalid_replica_assignment);
}

TEST(ReplicaAssignment, ExplicitAssignmentIsChecked) {
    const std::vector<int32_t> known{1, 2, 3};
    EXPECT_TRUE(validate_replica_assignment({{0, {1, 2}}, {1, {2, 3}}}, known).ok());
    EXPECT_EQ(validate_replica_assignment({}, known).code, errc::invalid_replica_assignment);
    EXPECT_EQ(validate_replica_assignment({{1, {1}}}, known).code, errc::invalid_replica_assignment);
    EXPECT_EQ(validate_replica_assignment({{0, {1, 1}}}, known).code, errc::invalid_replica_assignment);
    EXPECT_EQ(validate_replica_assignment({{0, {1, 2}}, {1, {3}}}, known).code, errc::invalid_replica_assignment);
    auto unknown = validate_replica_assignment({{0, {1, 9}}}, known);
    EXPECT_EQ(unknown.code, errc::invalid_replica_assignment);
    EXPECT_EQ(unknown.message, "Unknown broker(s) in replica assignment: 9.");
}

TEST(ReplicaAssignment, ReassigningPartitionListsTargetThenLeavingReplicas) {
    EXPECT_EQ(replicas_while_reassigning({1, 2, 3}, {4, 2, 5}), (std::vector<int32_t>{4, 2, 5, 1, 3}));
    EXPECT_EQ(replicas_while_reassigning({1, 2}, {2, 1}), (std::vector<int32_t>{2, 1}));
    EXPECT_EQ(replicas_while_reassigning({1, 2, 3}, {3}), (std::vector<int32_t>{3, 1, 2}));
}

TEST(ReplicaAssignment, ReassignmentTargetIsChecked) {
    EXPECT_TRUE(validate_reassignment_target({3, 1}, {1, 2, 3}).ok());
    for (const auto& bad : std::vector<std::vector<int32_t>>{{}, {1, 1}, {1, 9}, {-1}}) {
        EXPECT_EQ(validate_reassignment_target(bad, {1, 2, 3}).code, errc::invalid_replica_assignment) << bad.size();
    }
    EXPECT_EQ(validate_reassignment_target({1, 9, 8}, {1}).message, "unknown broker(s) 9, 8");
}

}  // namespace
}  // namespace gregor::coordination
