// The replica comparison the chaos tests rely on, on partition directories written here: it
// must call equal logs equal and name the offset, the brokers and the batches where they part.
#include "tests/chaos/replica_logs.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "common/record_batch.h"

namespace gregor::chaos {
namespace {

namespace fs = std::filesystem;
namespace rb = gregor::record_batch;

struct batch_spec {
    int64_t base_offset;
    int32_t leader_epoch;
    std::vector<std::string> values;
};

// A segment file holding `batches`, named after the first one's base offset, then the first
// `torn_tail_bytes` of one more batch (a write in progress).
void write_segment(const fs::path& dir, const std::vector<batch_spec>& batches, size_t torn_tail_bytes = 0) {
    fs::create_directories(dir);
    char name[32];
    std::snprintf(name, sizeof name, "%020lld.log", static_cast<long long>(batches.front().base_offset));
    std::ofstream out(dir / name, std::ios::binary);
    for (const auto& spec : batches) {
        rb::batch_builder builder;
        for (const auto& v : spec.values) builder.add(1'700'000'000'000, std::nullopt, v);
        auto bytes = builder.build();
        rb::set_base_offset(bytes, spec.base_offset);
        rb::set_leader_epoch(bytes, spec.leader_epoch);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    if (torn_tail_bytes > 0) {
        rb::batch_builder builder;
        builder.add(1'700'000'000'000, std::nullopt, "torn");
        const auto bytes = builder.build();
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(std::min(torn_tail_bytes, bytes.size() - 1)));
    }
}

class replica_logs_test : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "gregor-replica-logs-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path replica(int32_t id) const { return dir_ / std::to_string(id) / "t-0"; }
    fs::path dir_;
};

TEST_F(replica_logs_test, SegmentsAreReadInOffsetOrderAndATornTailEndsTheLog) {
    write_segment(replica(1), {{3, 1, {"d"}}, {4, 2, {"e", "f"}}}, 20);
    write_segment(replica(1), {{0, 1, {"a", "b", "c"}}});
    auto log = read_replica_log(1, replica(1));
    EXPECT_TRUE(log.problem.empty()) << log.problem;
    ASSERT_EQ(log.batches.size(), 3u);
    EXPECT_EQ(log.batches[0].base_offset, 0);
    EXPECT_EQ(log.batches[0].last_offset, 2);
    EXPECT_EQ(log.batches[2].leader_epoch, 2);
    EXPECT_TRUE(log.batches[2].crc_valid);
    EXPECT_EQ(log.end_offset(), 6);
    ASSERT_NE(log.batch_at(5), nullptr);
    EXPECT_EQ(log.batch_at(5)->base_offset, 4);
    EXPECT_EQ(log.batch_at(6), nullptr);
    EXPECT_EQ(read_replica_log(2, replica(2)).end_offset(), 0) << "an absent directory is an empty log";
}

TEST_F(replica_logs_test, EqualReplicasAreEqualAndALaggingOneOnlyAboveTheHighWatermark) {
    write_segment(replica(1), {{0, 1, {"a", "b"}}, {2, 1, {"c"}}, {3, 2, {"d"}}});
    write_segment(replica(2), {{0, 1, {"a", "b"}}, {2, 1, {"c"}}, {3, 2, {"d"}}});
    write_segment(replica(3), {{0, 1, {"a", "b"}}, {2, 1, {"c"}}});
    const std::vector<replica_log> logs = {read_replica_log(1, replica(1)), read_replica_log(2, replica(2)),
                                           read_replica_log(3, replica(3))};
    EXPECT_TRUE(compare_replicas("t-0", logs, 3).empty()) << ::testing::PrintToString(compare_replicas("t-0", logs, 3));
    const auto above = compare_replicas("t-0", logs, 4);
    ASSERT_EQ(above.size(), 1u) << ::testing::PrintToString(above);
    EXPECT_NE(above[0].find("replica logs of t-0 differ at offset 3: broker 1 (the leader) has batch [3..3]"),
              std::string::npos)
        << above[0];
    EXPECT_NE(above[0].find("broker 3 has nothing there (its log ends at 3)"), std::string::npos) << above[0];
}

TEST_F(replica_logs_test, ADivergentBatchIsNamedWithBothCrcsAndEpochs) {
    write_segment(replica(1), {{0, 1, {"a"}}, {1, 3, {"new"}}});
    write_segment(replica(2), {{0, 1, {"a"}}, {1, 2, {"old"}}});
    const std::vector<replica_log> logs = {read_replica_log(1, replica(1)), read_replica_log(2, replica(2))};
    const auto problems = compare_replicas("t-0", logs, 2);
    ASSERT_EQ(problems.size(), 1u) << ::testing::PrintToString(problems);
    EXPECT_NE(problems[0].find("differ at offset 1: broker 1 (the leader) has batch " + describe(logs[0].batches[1]) +
                               ", broker 2 has batch " + describe(logs[1].batches[1])),
              std::string::npos)
        << problems[0];
    EXPECT_NE(logs[0].batches[1].crc, logs[1].batches[1].crc);
}

TEST_F(replica_logs_test, ALeaderShortOfTheHighWatermarkIsReported) {
    write_segment(replica(1), {{0, 1, {"a"}}});
    const auto problems = compare_replicas("t-0", {read_replica_log(1, replica(1))}, 5);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("only up to offset 1, below the high watermark 5"), std::string::npos) << problems[0];
}

}  // namespace
}  // namespace gregor::chaos
