// What the log offers replication: a follower's append of the leader's bytes (kept byte for
// byte, refused on a gap, an overlap or an invalid batch), the leader epoch cache kept in step
// with appends, truncation, retention, crash recovery and reload, and the high watermark's
// clamp to the log.
#include "broker/storage/log.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/storage/log_dir_health.h"
#include "common/record_batch.h"
#include "tests/unit/storage/log_test_support.h"

namespace gregor::storage {
namespace {

using namespace gregor::storage::test;
using entries = std::vector<epoch_entry>;

constexpr int64_t kT0 = fake_clock::kStart;
constexpr size_t kAll = 1 << 24;

std::map<std::string, bytes> snapshot(const fs::path& dir) {
    std::map<std::string, bytes> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.is_regular_file()) out[e.path().filename().string()] = read_file(e.path());
    }
    return out;
}

std::string file_text(const fs::path& p) {
    const bytes b = read_file(p);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Every stored byte of [from, log end), as a follower would fetch it.
bytes log_bytes(log& l, int64_t from = 0) {
    auto r = l.read(from, kAll);
    if (!r) {
        ADD_FAILURE() << "read at " << from << ": " << r.error().message;
        return {};
    }
    return range_bytes(r->range);
}

// A stored batch as a leader would send it: `records` at `base` under `epoch`.
bytes leader_batch(int64_t base, int32_t epoch, int records, const std::string& tag = "r") {
    bytes b = make_batch(simple_records(records, kT0, tag));
    rb::set_base_offset(b, base);
    rb::set_leader_epoch(b, epoch);
    return b;
}

// A follower's append of `batches` (append_as_follower takes mutable bytes).
result<log::append_result> replicate(log& l, bytes batches) { return l.append_as_follower(batches); }

class storage_log_replication : public ::testing::Test {
protected:
    storage_log_replication() {
        config_.retention_ms = -1;
        config_.segment_bytes = 1 << 20;
    }

    log_options options(const std::string& name, bool clean = false, int64_t hw = 0) {
        log_options o;
        o.dir = tmp_.path() / name;
        o.config = config_;
        o.clean_shutdown = clean;
        o.recovery_point = 0;
        o.high_watermark = hw;
        o.health = std::make_shared<log_dir_health>(tmp_.path());
        o.clock = clock_.fn();
        return o;
    }
    std::unique_ptr<log> open_log(const std::string& name = "orders-0", bool clean = false,
                                  int64_t hw = 0) {
        return must_open(options(name, clean, hw));
    }
    fs::path dir(const std::string& name = "orders-0") const { return tmp_.path() / name; }

    // Appends `batches` batches of 5 records each under `epoch` as the leader.
    void lead(log& l, int batches, int32_t epoch) {
        for (int i = 0; i < batches; ++i) {
            must_append(l, make_batch(simple_records(5, clock_.now(), "e" + std::to_string(epoch))),
                        epoch);
        }
    }

    temp_dir tmp_{memory_temp_base()};
    fake_clock clock_;
    log_config config_;
};

// ---- the follower's append ------------------------------------------------------------------

TEST_F(storage_log_replication, FollowerAppendKeepsTheLeadersOffsetsAndEpochsByteForByte) {
    auto leader = open_log("leader-0");
    ASSERT_TRUE(leader);
    lead(*leader, 2, 3);
    lead(*leader, 3, 5);
    const bytes sent = log_bytes(*leader);
    ASSERT_FALSE(sent.empty());

    auto follower = open_log("follower-0");
    ASSERT_TRUE(follower);
    // In two fetches, split at a batch boundary.
    const auto first = split_batches(sent);
    ASSERT_EQ(first.size(), 5u);
    const size_t cut = first[0].data.size() + first[1].data.size() + first[2].data.size();
    bytes part1(sent.begin(), sent.begin() + static_cast<ptrdiff_t>(cut));
    bytes part2(sent.begin() + static_cast<ptrdiff_t>(cut), sent.end());
    auto r1 = follower->append_as_follower(part1);
    ASSERT_TRUE(r1) << r1.error().message;
    EXPECT_EQ(r1->base_offset, 0);
    EXPECT_EQ(r1->last_offset, 14);
    EXPECT_EQ(r1->record_count, 15);
    auto r2 = follower->append_as_follower(part2);
    ASSERT_TRUE(r2) << r2.error().message;
    EXPECT_EQ(r2->base_offset, 15);
    EXPECT_EQ(r2->last_offset, 24);

    EXPECT_EQ(follower->log_end_offset(), leader->log_end_offset());
    EXPECT_EQ(log_bytes(*follower), sent);
    EXPECT_EQ(follower->epoch_entries(), (entries{{3, 0}, {5, 10}}));
    EXPECT_EQ(follower->epoch_entries(), leader->epoch_entries());
    EXPECT_EQ(file_text(dir("follower-0") / kLeaderEpochCheckpoint), "0\n2\n3 0\n5 10\n");
}

TEST_F(storage_log_replication, FollowerAppendOfNothingIsANoOp) {
    auto l = open_log();
    ASSERT_TRUE(l);
    ASSERT_TRUE(replicate(*l, leader_batch(0, 1, 3)));
    const auto before = snapshot(dir());
    auto r = l->append_as_follower({});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->record_count, 0);
    EXPECT_EQ(r->base_offset, 3);
    EXPECT_EQ(l->log_end_offset(), 3);
    EXPECT_EQ(snapshot(dir()), before);
}

TEST_F(storage_log_replication, FollowerAppendRefusesAGapAndLeavesTheLogUnchanged) {
    auto l = open_log();
    ASSERT_TRUE(l);
    bytes first = leader_batch(0, 1, 4);
    ASSERT_TRUE(l->append_as_follower(first));
    const auto before = snapshot(dir());
    bytes gap = leader_batch(6, 2, 2);
    auto r = l->append_as_follower(gap);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::invalid_record);
    EXPECT_NE(r.error().message.find("6"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("4"), std::string::npos) << r.error().message;
    EXPECT_EQ(l->log_end_offset(), 4);
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}}));
    EXPECT_EQ(snapshot(dir()), before);
}

TEST_F(storage_log_replication, FollowerAppendRefusesAnOverlap) {
    auto l = open_log();
    ASSERT_TRUE(l);
    ASSERT_TRUE(replicate(*l, leader_batch(0, 1, 10)));
    const auto before = snapshot(dir());
    auto r = replicate(*l, leader_batch(8, 1, 5));
    EXPECT_EQ(r.code(), errc::invalid_record);
    EXPECT_NE(r.error().message.find("8"), std::string::npos) << r.error().message;
    EXPECT_EQ(l->log_end_offset(), 10);
    EXPECT_EQ(snapshot(dir()), before);
}

TEST_F(storage_log_replication, FollowerAppendRefusesBatchesThatAreNotContiguous) {
    auto l = open_log();
    ASSERT_TRUE(l);
    const auto before = snapshot(dir());
    bytes both = concat({leader_batch(0, 1, 3), leader_batch(4, 2, 3)});
    auto r = l->append_as_follower(both);
    EXPECT_EQ(r.code(), errc::invalid_record);
    EXPECT_NE(r.error().message.find("4"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("2"), std::string::npos) << r.error().message;
    EXPECT_EQ(l->log_end_offset(), 0);
    EXPECT_TRUE(l->epoch_entries().empty());
    EXPECT_EQ(snapshot(dir()), before);
}

TEST_F(storage_log_replication, FollowerAppendRefusesAnInvalidBatchWhole) {
    auto l = open_log();
    ASSERT_TRUE(l);
    const auto before = snapshot(dir());
    bytes good = leader_batch(0, 1, 3);
    bytes bad = leader_batch(3, 2, 3);
    bad[bad.size() - 2] ^= std::byte{0x40};  // a record byte: the CRC no longer matches
    bytes both = concat({good, bad});
    auto r = l->append_as_follower(both);
    EXPECT_EQ(r.code(), errc::corrupt_message);
    EXPECT_EQ(l->log_end_offset(), 0);
    EXPECT_TRUE(l->epoch_entries().empty());
    EXPECT_EQ(snapshot(dir()), before);
}

TEST_F(storage_log_replication, FollowerAcceptsBatchesLargerThanItsOwnMaxMessageBytes) {
    config_.max_message_bytes = 100;
    auto l = open_log();
    ASSERT_TRUE(l);
    bytes big = leader_batch(0, 1, 10, std::string(50, 'x'));
    ASSERT_GT(big.size(), 100u);
    auto r = l->append_as_follower(big);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(l->log_end_offset(), 10);
}

TEST_F(storage_log_replication, FollowerAppendRollsSegmentsAndSurvivesAReload) {
    config_.segment_bytes = 400;
    auto l = open_log();
    ASSERT_TRUE(l);
    int64_t next = 0;
    for (int32_t epoch = 1; epoch <= 4; ++epoch) {
        for (int i = 0; i < 3; ++i) {
            ASSERT_TRUE(replicate(*l, leader_batch(next, epoch, 5)));
            next += 5;
        }
    }
    EXPECT_GT(l->segment_count(), 2u);
    const bytes stored = log_bytes(*l);
    const entries want = {{1, 0}, {2, 15}, {3, 30}, {4, 45}};
    EXPECT_EQ(l->epoch_entries(), want);
    ASSERT_TRUE(l->close().ok());
    l = open_log("orders-0", true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->epoch_entries(), want);
    EXPECT_EQ(log_bytes(*l), stored);
}

// ---- the epoch cache as the leader writes ---------------------------------------------------

TEST_F(storage_log_replication, LeaderAppendRecordsEachNewerEpochAtItsFirstOffset) {
    auto l = open_log();
    ASSERT_TRUE(l);
    EXPECT_EQ(l->latest_epoch(), std::nullopt);
    lead(*l, 2, 1);
    lead(*l, 1, 2);
    lead(*l, 1, 1);  // a stale epoch does not rewrite history
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}, {2, 10}}));
    EXPECT_EQ(l->latest_epoch(), 2);
    EXPECT_EQ(l->end_offset_for_epoch(1), (log::epoch_end{1, 10}));
    EXPECT_EQ(l->end_offset_for_epoch(2), (log::epoch_end{2, 20}));
    EXPECT_EQ(l->end_offset_for_epoch(3), (log::epoch_end{-1, -1}));
}

TEST_F(storage_log_replication, AssignEpochStartMarksANewLeaderBeforeItsFirstAppend) {
    auto l = open_log();
    ASSERT_TRUE(l);
    lead(*l, 2, 1);
    ASSERT_TRUE(l->assign_epoch_start(4, l->log_end_offset()).ok());
    EXPECT_EQ(l->latest_epoch(), 4);
    EXPECT_EQ(l->end_offset_for_epoch(1), (log::epoch_end{1, 10}));
    EXPECT_EQ(l->end_offset_for_epoch(4), (log::epoch_end{4, 10}));
    lead(*l, 1, 4);
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}, {4, 10}}));
    EXPECT_EQ(l->end_offset_for_epoch(4), (log::epoch_end{4, 15}));
    EXPECT_EQ(l->assign_epoch_start(-1, 0).code, errc::invalid_request);
}

// ---- the epoch cache follows the log --------------------------------------------------------

TEST_F(storage_log_replication, TruncationDropsEpochsPastTheNewEnd) {
    auto l = open_log();
    ASSERT_TRUE(l);
    lead(*l, 2, 1);
    lead(*l, 2, 2);
    lead(*l, 2, 3);
    ASSERT_EQ(l->epoch_entries(), (entries{{1, 0}, {2, 10}, {3, 20}}));
    ASSERT_TRUE(l->truncate_to(17).ok());  // inside the batch [15, 19]
    EXPECT_EQ(l->log_end_offset(), 15);
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}, {2, 10}}));
    EXPECT_EQ(l->end_offset_for_epoch(2), (log::epoch_end{2, 15}));
    ASSERT_TRUE(l->truncate_to(10).ok());
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}}));
    EXPECT_EQ(file_text(dir() / kLeaderEpochCheckpoint), "0\n1\n1 0\n");
    ASSERT_TRUE(l->truncate_fully_and_start_at(100).ok());
    EXPECT_TRUE(l->epoch_entries().empty());
    EXPECT_EQ(file_text(dir() / kLeaderEpochCheckpoint), "0\n0\n");
}

TEST_F(storage_log_replication, SuccessiveTruncationsEachCutAtTheirBatch) {
    auto l = open_log();
    ASSERT_TRUE(l);
    must_append(*l, make_batch(simple_records(1, kT0)), 1);
    must_append(*l, make_batch(simple_records(1, kT0)), 1);
    must_append(*l, make_batch(simple_records(2, kT0)), 3);
    ASSERT_EQ(l->epoch_entries(), (entries{{1, 0}, {3, 2}}));
    ASSERT_TRUE(l->truncate_to(2).ok());
    EXPECT_EQ(l->log_end_offset(), 2);
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}}));
    ASSERT_TRUE(l->truncate_to(1).ok());
    EXPECT_EQ(l->log_end_offset(), 1);
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}}));
}

TEST_F(storage_log_replication, RetentionMovesTheFirstEpochToTheNewLogStart) {
    // Two of lead()'s batches per segment.
    config_.segment_bytes =
        2 * static_cast<int64_t>(make_batch(simple_records(5, kT0, "e1")).size()) + 10;
    auto l = open_log();
    ASSERT_TRUE(l);
    lead(*l, 4, 1);
    lead(*l, 4, 2);
    lead(*l, 2, 3);
    ASSERT_EQ(l->epoch_entries(), (entries{{1, 0}, {2, 20}, {3, 40}}));
    ASSERT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 10, 20, 30, 40}));
    // Keep the segments from offset 30 on: the log then starts inside epoch 2.
    uint64_t kept = 0;
    for (int64_t base : {30, 40}) kept += size_on_disk(segment_path(dir(), base, ".log"));
    config_.retention_bytes = static_cast<int64_t>(kept);
    l->set_config(config_);
    ASSERT_EQ(l->delete_retained_segments().value(), 3u);
    ASSERT_EQ(l->log_start_offset(), 30);
    EXPECT_EQ(l->epoch_entries(), (entries{{2, 30}, {3, 40}}));
    EXPECT_EQ(l->end_offset_for_epoch(1), (log::epoch_end{1, 30}));
    ASSERT_TRUE(l->close().ok());
    l = open_log("orders-0", true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->epoch_entries(), (entries{{2, 30}, {3, 40}}));
}

TEST_F(storage_log_replication, RecoveryOfATornTailDropsEpochsPastTheRecoveredEnd) {
    auto l = open_log();
    ASSERT_TRUE(l);
    lead(*l, 3, 1);
    lead(*l, 1, 2);
    ASSERT_EQ(l->epoch_entries(), (entries{{1, 0}, {2, 15}}));
    const fs::path seg = segment_path(dir(), 0, ".log");
    l.reset();  // a crash: no close
    const auto batches = batch_positions(seg);
    ASSERT_EQ(batches.size(), 4u);
    truncate_file(seg, batches.back().first + batches.back().second / 2);
    l = open_log();
    ASSERT_TRUE(l);
    EXPECT_EQ(l->log_end_offset(), 15);
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}}));
    EXPECT_EQ(file_text(dir() / kLeaderEpochCheckpoint), "0\n1\n1 0\n");
}

TEST_F(storage_log_replication, AnEpochAssignedAtTheEndWithNothingUnderItIsDroppedAtLoad) {
    auto l = open_log();
    ASSERT_TRUE(l);
    lead(*l, 1, 1);
    ASSERT_TRUE(l->assign_epoch_start(2, 5).ok());
    ASSERT_TRUE(l->close().ok());
    l = open_log("orders-0", true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->epoch_entries(), (entries{{1, 0}}));
}

TEST_F(storage_log_replication, AMissingEpochFileIsRebuiltFromTheBatches) {
    config_.segment_bytes = 400;
    auto l = open_log();
    ASSERT_TRUE(l);
    lead(*l, 3, 0);
    lead(*l, 4, 2);
    lead(*l, 2, 7);
    const entries want = {{0, 0}, {2, 15}, {7, 35}};
    ASSERT_EQ(l->epoch_entries(), want);
    ASSERT_GT(l->segment_count(), 2u);
    ASSERT_TRUE(l->close().ok());
    fs::remove(dir() / kLeaderEpochCheckpoint);
    l = open_log("orders-0", true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->epoch_entries(), want);
    EXPECT_EQ(file_text(dir() / kLeaderEpochCheckpoint), "0\n3\n0 0\n2 15\n7 35\n");
    EXPECT_TRUE(l->load_report().ignored_files.empty());
}

TEST_F(storage_log_replication, TheRebuildWalksASegmentLargerThanOneReadChunk) {
    config_.segment_bytes = 64 << 20;
    auto l = open_log();
    ASSERT_TRUE(l);
    entries want;
    for (int i = 0; i < 60; ++i) {
        const int32_t epoch = i / 7;
        if (i % 7 == 0) want.push_back({epoch, l->log_end_offset()});
        must_append(*l, make_batch(simple_records(3, kT0, "big", 33'000)), epoch);
    }
    ASSERT_EQ(l->segment_count(), 1u);
    ASSERT_GT(l->size_bytes(), 5u << 20);
    ASSERT_EQ(l->epoch_entries(), want);
    ASSERT_TRUE(l->close().ok());
    fs::remove(dir() / kLeaderEpochCheckpoint);
    l = open_log("orders-0", true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->epoch_entries(), want);
}

TEST_F(storage_log_replication, AMalformedEpochFileFailsTheLoad) {
    auto l = open_log();
    ASSERT_TRUE(l);
    lead(*l, 1, 1);
    ASSERT_TRUE(l->close().ok());
    l.reset();
    write_file(dir() / kLeaderEpochCheckpoint, bytes{std::byte{'0'}, std::byte{'\n'}, std::byte{'z'}});
    auto r = log::open(options("orders-0", true));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::corrupt_message);
    EXPECT_NE(r.error().message.find(kLeaderEpochCheckpoint), std::string::npos) << r.error().message;
}

// ---- the high watermark ---------------------------------------------------------------------

TEST_F(storage_log_replication, HighWatermarkStaysWithinTheLog) {
    config_.segment_bytes = 400;
    auto l = open_log();
    ASSERT_TRUE(l);
    EXPECT_EQ(l->high_watermark(), 0);
    lead(*l, 8, 1);
    l->set_high_watermark(1000);
    EXPECT_EQ(l->high_watermark(), 40);
    l->set_high_watermark(-3);
    EXPECT_EQ(l->high_watermark(), 0);
    l->set_high_watermark(30);
    EXPECT_EQ(l->high_watermark(), 30);
    ASSERT_TRUE(l->truncate_to(22).ok());  // to 20, below the high watermark: it follows
    EXPECT_EQ(l->high_watermark(), 20);
    ASSERT_TRUE(l->truncate_to(35).ok());  // past the end: nothing changes
    EXPECT_EQ(l->high_watermark(), 20);
    l->set_high_watermark(5);
    config_.retention_bytes = 0;
    l->set_config(config_);
    ASSERT_TRUE(l->delete_retained_segments());
    ASSERT_GT(l->log_start_offset(), 5);
    EXPECT_EQ(l->high_watermark(), l->log_start_offset());
    ASSERT_TRUE(l->truncate_fully_and_start_at(70).ok());
    EXPECT_EQ(l->high_watermark(), 70);
}

TEST_F(storage_log_replication, HighWatermarkFromTheCheckpointIsClampedAtLoad) {
    {
        auto l = open_log();
        ASSERT_TRUE(l);
        lead(*l, 2, 1);
        ASSERT_TRUE(l->close().ok());
    }
    for (auto [checkpointed, loaded] : {std::pair<int64_t, int64_t>{7, 7}, {500, 10}, {-2, 0}}) {
        auto l = open_log("orders-0", true, checkpointed);
        ASSERT_TRUE(l);
        EXPECT_EQ(l->high_watermark(), loaded) << "checkpointed " << checkpointed;
    }
}

}  // namespace
}  // namespace gregor::storage
