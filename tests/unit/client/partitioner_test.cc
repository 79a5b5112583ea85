// murmur2 against the vectors of Kafka's own UtilsTest.testMurmur2, and the partitioner's
// choices: keyed records as Kafka places them, keyless ones round-robin or sticky.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/murmur2.h"
#include "client/partitioner.h"

namespace gregor::client {
namespace {

TEST(murmur2, MatchesKafkaUtilsTestVectors) {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const std::map<std::string, int32_t> cases = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    for (const auto& [key, want] : cases) EXPECT_EQ(murmur2(key), want) << key;
}

TEST(murmur2, CoversEveryTailLength) {
    // Lengths 0..3 exercise each branch of the tail switch; the values must be stable.
    EXPECT_EQ(murmur2(std::string_view("")), murmur2(std::span<const std::byte>()));
    std::set<int32_t> distinct;
    for (const char* s : {"", "a", "ab", "abc", "abcd", "abcde"}) distinct.insert(murmur2(s));
    EXPECT_EQ(distinct.size(), 6u);
}

TEST(murmur2, ToPositiveClearsOnlyTheSignBit) {
    EXPECT_EQ(to_positive(-1), 0x7fffffff);
    EXPECT_EQ(to_positive(INT32_MIN), 0);
    EXPECT_EQ(to_positive(5), 5);
    // -973932308 & 0x7fffffff, and its partition among 3 as Kafka computes it.
    EXPECT_EQ(to_positive(-973932308), 1173551340);
    EXPECT_EQ(partition_for_key("21", 3), 1173551340 % 3);
}

TEST(partitioner, KeyedRecordsUseMurmur2ModuloPartitions) {
    partitioner p(partitioner_kind::round_robin, 1);
    for (int i = 0; i < 200; ++i) {
        const std::string key = "order-" + std::to_string(i);
        for (int32_t n : {1, 3, 6, 12, 50}) {
            EXPECT_EQ(p.partition("t", key, n), to_positive(murmur2(key)) % n);
        }
    }
}

TEST(partitioner, SameKeyAlwaysSamePartition) {
    partitioner p(partitioner_kind::sticky, 7);
    const int32_t first = p.partition("t", std::string("user-1002"), 8);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(p.partition("t", std::string("user-1002"), 8), first);
}

TEST(partitioner, KeylessRoundRobinGoesP0P1ThenWraps) {
    partitioner p(partitioner_kind::round_robin, 1);
    std::vector<int32_t> got;
    for (int i = 0; i < 7; ++i) got.push_back(p.partition("t", std::nullopt, 3));
    EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(partitioner, RoundRobinCountersArePerTopic) {
    partitioner p(partitioner_kind::round_robin, 1);
    EXPECT_EQ(p.partition("a", std::nullopt, 4), 0);
    EXPECT_EQ(p.partition("a", std::nullopt, 4), 1);
    EXPECT_EQ(p.partition("b", std::nullopt, 4), 0);
    EXPECT_EQ(p.partition("a", std::nullopt, 4), 2);
}

TEST(partitioner, KeyDistributionIsRoughlyUniform) {
    partitioner p(partitioner_kind::round_robin, 1);
    constexpr int kPartitions = 10;
    constexpr int kKeys = 20000;
    std::vector<int> counts(kPartitions);
    for (int i = 0; i < kKeys; ++i) ++counts[p.partition("t", "key-" + std::to_string(i), kPartitions)];
    // Chi-square with 9 degrees of freedom: 27.9 is the 0.1% tail.
    double chi2 = 0;
    const double expected = static_cast<double>(kKeys) / kPartitions;
    for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
    EXPECT_LT(chi2, 27.9);
}

TEST(partitioner, StickyStaysUntilItsBatchIsClosedThenMoves) {
    partitioner p(partitioner_kind::sticky, 42);
    bool new_batch = false;
    auto opens = [&](int32_t) { return new_batch; };
    const int32_t first = p.partition("t", std::nullopt, 5, opens);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(p.partition("t", std::nullopt, 5, opens), first);
    new_batch = true;
    const int32_t second = p.partition("t", std::nullopt, 5, opens);
    EXPECT_NE(second, first);
    new_batch = false;
    EXPECT_EQ(p.partition("t", std::nullopt, 5, opens), second);
}

TEST(partitioner, StickyWithOnePartitionStaysOnIt) {
    partitioner p(partitioner_kind::sticky, 3);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(p.partition("t", std::nullopt, 1, [](int32_t) { return true; }), 0);
}

}  // namespace
}  // namespace gregor::client
