// gregor-dump-log run as a user runs it: segment and index files written here from
// batch_builder batches, the built binary started with popen, its lines and exit status
// checked, and the files compared byte for byte afterwards (the tool must never write).
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/storage/offset_index.h"
#include "broker/storage/time_index.h"
#include "common/crc32c.h"
#include "common/record_batch.h"
#include "common/wire.h"

namespace gregor {
namespace {

namespace rb = record_batch;
namespace fs = std::filesystem;
using bytes = std::vector<std::byte>;

constexpr int64_t kT0 = 1700000000000;

struct run_result {
    int exit_code = -1;
    std::vector<std::string> lines;
    std::string text;

    bool has_line(const std::string& l) const {
        return std::find(lines.begin(), lines.end(), l) != lines.end();
    }
    bool has_line_containing(const std::string& part) const {
        return std::any_of(lines.begin(), lines.end(),
                           [&](const std::string& l) { return l.find(part) != std::string::npos; });
    }
};

// Runs the tool with `args` (already shell-quoted), stdout and stderr together.
run_result run_tool(const std::string& args) {
    const std::string cmd = std::string("'") + GREGOR_DUMP_LOG_PATH + "' " + args + " 2>&1";
    run_result r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        ADD_FAILURE() << "popen failed for " << cmd;
        return r;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.text.append(buf, n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::istringstream in(r.text);
    for (std::string line; std::getline(in, line);) r.lines.push_back(line);
    return r;
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

bytes read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes out(c.size());
    std::memcpy(out.data(), c.data(), c.size());
    return out;
}

void write_file(const fs::path& p, const bytes& b) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    ASSERT_TRUE(out.good()) << p;
}

void append(bytes& to, const bytes& b) { to.insert(to.end(), b.begin(), b.end()); }

// Recomputes the CRC after a test changed a field it covers.
void reseal(bytes& b) {
    wire::store_be<uint32_t>(
        b.data() + rb::kCrcPos,
        crc32c::value(std::span<const std::byte>(b).subspan(rb::kAttributesPos)));
}

class dump_log : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::path(::testing::TempDir()) / "gregor_dump_log_XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        segment_ = dir_ / "00000000000000000100.log";

        rb::batch_builder b0({.leader_epoch = 3});
        b0.add(kT0, "k0", "v0");
        b0.add(kT0 + 1, "k1", "v1", {{"a", "1"}, {"b", std::nullopt}});
        b0.add(kT0 + 2, std::nullopt, "v2");
        batches_.push_back(b0.build());
        rb::set_base_offset(batches_[0], 100);

        rb::batch_builder b1({.producer_id = 42, .producer_epoch = 0, .base_sequence = 7,
                              .leader_epoch = 3});
        b1.add(kT0 + 4, "k3", "v3");
        b1.add(kT0 + 3, "k4", "line\nbreak");
        batches_.push_back(b1.build());
        rb::set_base_offset(batches_[1], 103);

        // Larger than the small read chunks used below, so a batch must span several reads.
        rb::batch_builder b2({.leader_epoch = 4});
        b2.add(kT0 + 10, "k5", std::string(300, 'z'));
        batches_.push_back(b2.build());
        rb::set_base_offset(batches_[2], 105);

        for (const auto& b : batches_) append(contents_, b);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    uint64_t position_of(size_t batch) const {
        uint64_t pos = 0;
        for (size_t i = 0; i < batch; ++i) pos += batches_[i].size();
        return pos;
    }

    // The batch line kafka-dump-log prints, for batch i of the fixture's segment.
    std::string batch_line(size_t i, bool valid = true) const {
        const rb::batch_view v(batches_[i]);
        const int32_t seq = v.base_sequence();
        std::ostringstream s;
        s << "baseOffset: " << v.base_offset() << " lastOffset: " << v.last_offset()
          << " count: " << v.record_count() << " baseSequence: " << seq
          << " lastSequence: " << (seq < 0 ? -1 : seq + v.last_offset_delta())
          << " producerId: " << v.producer_id() << " producerEpoch: " << v.producer_epoch()
          << " partitionLeaderEpoch: " << v.leader_epoch()
          << " isTransactional: false isControl: false position: " << position_of(i)
          << " CreateTime: " << v.max_timestamp() << " size: " << batches_[i].size()
          << " magic: 2 compresscodec: none crc: " << v.crc()
          << " isvalid: " << (valid ? "true" : "false");
        return s.str();
    }

    fs::path dir_;
    fs::path segment_;
    std::vector<bytes> batches_;
    bytes contents_;
};

TEST_F(dump_log, prints_one_line_per_batch_like_kafka) {
    write_file(segment_, contents_);
    const run_result r = run_tool("--files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 0) << r.text;
    const std::vector<std::string> expected = {
        "Dumping " + segment_.string(), "Log starting offset: 100", batch_line(0), batch_line(1),
        batch_line(2)};
    EXPECT_EQ(r.lines, expected) << r.text;
    // Spot checks that do not go through batch_line(), in case it shares a mistake.
    EXPECT_TRUE(r.has_line_containing("baseOffset: 100 lastOffset: 102 count: 3 "));
    EXPECT_TRUE(r.has_line_containing(
        "baseOffset: 103 lastOffset: 104 count: 2 baseSequence: 7 lastSequence: 8 producerId: 42 "
        "producerEpoch: 0 partitionLeaderEpoch: 3"));
    EXPECT_TRUE(r.has_line_containing("position: 0 CreateTime: 1700000000002 size: " +
                                      std::to_string(batches_[0].size())));
}

TEST_F(dump_log, print_data_log_prints_every_record_after_its_batch) {
    write_file(segment_, contents_);
    const run_result r = run_tool("--print-data-log --files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 0) << r.text;
    const std::vector<std::string> expected = {
        "Dumping " + segment_.string(),
        "Log starting offset: 100",
        batch_line(0),
        "| offset: 100 CreateTime: 1700000000000 keySize: 2 valueSize: 2 sequence: -1 "
        "headerKeys: [] key: k0 value: v0",
        "| offset: 101 CreateTime: 1700000000001 keySize: 2 valueSize: 2 sequence: -1 "
        "headerKeys: [a,b] key: k1 value: v1 headers: [a:1,b:null]",
        "| offset: 102 CreateTime: 1700000000002 keySize: -1 valueSize: 2 sequence: -1 "
        "headerKeys: [] value: v2",
        batch_line(1),
        "| offset: 103 CreateTime: 1700000000004 keySize: 2 valueSize: 2 sequence: 7 "
        "headerKeys: [] key: k3 value: v3",
        // The newline inside the value is escaped so each record stays on one line.
        "| offset: 104 CreateTime: 1700000000003 keySize: 2 valueSize: 10 sequence: 8 "
        "headerKeys: [] key: k4 value: line\\x0Abreak",
        batch_line(2),
        "| offset: 105 CreateTime: 1700000000010 keySize: 2 valueSize: 300 sequence: -1 "
        "headerKeys: [] key: k5 value: " + std::string(300, 'z'),
    };
    EXPECT_EQ(r.lines, expected) << r.text;
}

TEST_F(dump_log, flipped_byte_marks_only_its_batch_invalid_and_fails) {
    bytes damaged = contents_;
    damaged[position_of(1) + batches_[1].size() - 3] ^= std::byte{0x01};
    write_file(segment_, damaged);
    const run_result r = run_tool("--files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    // CRC values are printed as stored, so batch 1 shows its original (now wrong) CRC.
    EXPECT_TRUE(r.has_line(batch_line(0, true))) << r.text;
    EXPECT_TRUE(r.has_line(batch_line(1, false))) << r.text;
    EXPECT_TRUE(r.has_line(batch_line(2, true))) << "the walk goes on past a bad CRC\n" << r.text;
}

TEST_F(dump_log, torn_tail_is_reported_with_its_position_and_fails) {
    bytes torn = contents_;
    const bytes& next = batches_[0];
    torn.insert(torn.end(), next.begin(), next.begin() + 40);
    write_file(segment_, torn);
    const run_result r = run_tool("--files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_TRUE(r.has_line(batch_line(2))) << "whole batches before the tail are shown\n" << r.text;
    EXPECT_EQ(r.lines.back(),
              "Found 40 invalid bytes at the end of 00000000000000000100.log at position " +
                  std::to_string(contents_.size()) + ": the batch declares " +
                  std::to_string(next.size()) +
                  " bytes but only 40 remain (a torn write, or a corrupt length)")
        << r.text;
}

TEST_F(dump_log, tail_shorter_than_a_length_field_is_reported) {
    bytes torn = contents_;
    torn.resize(torn.size() + 5, std::byte{0});
    write_file(segment_, torn);
    const run_result r = run_tool("--files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_EQ(r.lines.back(),
              "Found 5 invalid bytes at the end of 00000000000000000100.log at position " +
                  std::to_string(contents_.size()) +
                  ": 5 bytes are too few for a batch's offset and length")
        << r.text;
}

TEST_F(dump_log, corrupt_header_stops_the_file_and_says_why) {
    bytes bad_magic = contents_;
    bytes extra = batches_[0];
    wire::store_be<int8_t>(extra.data() + rb::kMagicPos, 1);
    append(bad_magic, extra);
    append(bad_magic, batches_[0]);  // never reached: the walk cannot resynchronise
    write_file(segment_, bad_magic);
    run_result r = run_tool("--files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_EQ(r.lines.size(), 6u) << r.text;
    EXPECT_EQ(r.lines.back(), "Found " + std::to_string(2 * batches_[0].size()) +
                                  " invalid bytes at the end of 00000000000000000100.log at "
                                  "position " +
                                  std::to_string(contents_.size()) + ": magic byte is 1, not 2")
        << r.text;

    bytes bad_length = contents_;
    extra = batches_[0];
    wire::store_be<int32_t>(extra.data() + rb::kBatchLengthPos, 10);
    append(bad_length, extra);
    write_file(segment_, bad_length);
    r = run_tool("--files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_TRUE(r.has_line_containing("batch length 10 is below the minimum of 49")) << r.text;
}

TEST_F(dump_log, length_pointing_past_the_file_is_a_torn_tail_not_an_allocation) {
    bytes huge = contents_;
    bytes extra = batches_[0];
    wire::store_be<int32_t>(extra.data() + rb::kBatchLengthPos, INT32_MAX);
    append(huge, extra);
    write_file(segment_, huge);
    const run_result r = run_tool("--read-chunk-bytes 64 --files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_TRUE(r.has_line_containing("the batch declares 2147483659 bytes but only " +
                                      std::to_string(extra.size()) + " remain"))
        << r.text;
}

TEST_F(dump_log, undecodable_records_are_reported_and_fail) {
    bytes b = batches_[0];
    // Record 1's offset delta (its fourth byte: length, attributes, timestamp delta, offset
    // delta) becomes 5; the CRC is recomputed so only the record walk can notice.
    const size_t record1 = rb::kHeaderSize + 1 + static_cast<size_t>(b[rb::kHeaderSize]) / 2;
    b[record1 + 3] = std::byte{10};
    reseal(b);
    write_file(segment_, b);
    const run_result r = run_tool("--print-data-log --files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_TRUE(r.has_line_containing("isvalid: true")) << r.text;
    EXPECT_TRUE(r.has_line_containing("| records could not be decoded: record 1 of 3")) << r.text;
}

TEST_F(dump_log, log_append_time_batches_are_labelled_and_use_the_broker_time) {
    bytes b = batches_[0];
    wire::store_be<int16_t>(b.data() + rb::kAttributesPos, rb::kTimestampTypeBit);
    wire::store_be<int64_t>(b.data() + rb::kMaxTimestampPos, kT0 + 999);
    reseal(b);
    write_file(segment_, b);
    const run_result r = run_tool("--print-data-log --files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 0) << r.text;
    EXPECT_TRUE(r.has_line_containing("position: 0 LogAppendTime: 1700000000999 ")) << r.text;
    EXPECT_TRUE(r.has_line_containing("| offset: 100 LogAppendTime: 1700000000999 ")) << r.text;
    EXPECT_TRUE(r.has_line_containing("| offset: 102 LogAppendTime: 1700000000999 ")) << r.text;
}

// Producer sequences wrap from INT32_MAX to 0, as Kafka's DefaultRecordBatch counts them.
TEST_F(dump_log, sequences_wrap_past_int32_max) {
    rb::batch_builder bld({.producer_id = 9, .producer_epoch = 2, .base_sequence = INT32_MAX - 1});
    bld.add(kT0, "a", "1");
    bld.add(kT0, "b", "2");
    bld.add(kT0, "c", "3");
    write_file(segment_, bld.build());
    const run_result r = run_tool("--print-data-log --files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 0) << r.text;
    EXPECT_TRUE(r.has_line_containing("baseSequence: 2147483646 lastSequence: 0 ")) << r.text;
    EXPECT_TRUE(r.has_line_containing("| offset: 0 CreateTime: 1700000000000 keySize: 1 valueSize: 1 "
                                      "sequence: 2147483646 "))
        << r.text;
    EXPECT_TRUE(r.has_line_containing(" sequence: 2147483647 ")) << r.text;
    EXPECT_TRUE(r.has_line_containing("| offset: 2 CreateTime: 1700000000000 keySize: 1 valueSize: 1 "
                                      "sequence: 0 "))
        << r.text;
}

TEST_F(dump_log, small_read_chunks_print_the_same_as_one_big_read) {
    bytes torn = contents_;
    torn.insert(torn.end(), batches_[1].begin(), batches_[1].begin() + 70);
    write_file(segment_, torn);
    const run_result whole = run_tool("--print-data-log --files " + quoted(segment_));
    ASSERT_EQ(whole.exit_code, 1);
    // heading 2 + batches 3 + records 6 + the torn-tail line
    ASSERT_EQ(whole.lines.size(), 12u) << whole.text;
    ASSERT_EQ(whole.lines.back().rfind("Found 70 invalid bytes", 0), 0u) << whole.text;
    for (int chunk : {1, 7, 12, 61, 64, 100, 333}) {
        const run_result r = run_tool("--print-data-log --read-chunk-bytes " +
                                      std::to_string(chunk) + " --files " + quoted(segment_));
        EXPECT_EQ(r.exit_code, 1) << "chunk " << chunk;
        EXPECT_EQ(r.lines, whole.lines) << "chunk " << chunk;
    }
}

TEST_F(dump_log, empty_segment_prints_only_its_heading) {
    write_file(segment_, {});
    const run_result r = run_tool("--files " + quoted(segment_));
    EXPECT_EQ(r.exit_code, 0) << r.text;
    const std::vector<std::string> expected = {"Dumping " + segment_.string(),
                                               "Log starting offset: 100"};
    EXPECT_EQ(r.lines, expected);
}

TEST_F(dump_log, index_and_time_index_entries_are_printed) {
    storage::offset_index idx(100);
    idx.append(100, 0);
    idx.append(103, static_cast<uint32_t>(position_of(1)));
    storage::time_index tidx(100);
    tidx.maybe_append(kT0 + 2, 100);
    tidx.maybe_append(kT0 + 4, 103);
    const fs::path index = dir_ / "00000000000000000100.index";
    const fs::path time_index = dir_ / "00000000000000000100.timeindex";
    write_file(index, idx.encode());
    write_file(time_index, tidx.encode());
    const run_result r = run_tool("--files " + quoted(index) + "," + quoted(time_index));
    EXPECT_EQ(r.exit_code, 0) << r.text;
    const std::vector<std::string> expected = {
        "Dumping " + index.string(),
        "offset: 100 position: 0",
        "offset: 103 position: " + std::to_string(position_of(1)),
        "Dumping " + time_index.string(),
        "timestamp: 1700000000002 offset: 100",
        "timestamp: 1700000000004 offset: 103",
    };
    EXPECT_EQ(r.lines, expected) << r.text;
}

TEST_F(dump_log, invalid_index_shows_its_raw_entries_and_fails) {
    bytes raw;
    for (auto [rel, pos] : {std::pair{0, 0u}, std::pair{5, 900u}, std::pair{3, 400u}}) {
        raw.resize(raw.size() + 8);
        wire::store_be<int32_t>(raw.data() + raw.size() - 8, rel);
        wire::store_be<uint32_t>(raw.data() + raw.size() - 4, pos);
    }
    raw.push_back(std::byte{0});  // and a partial entry
    const fs::path index = dir_ / "00000000000000000100.index";
    write_file(index, raw);
    run_result r = run_tool("--files " + quoted(index));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_TRUE(r.has_line("offset: 105 position: 900")) << r.text;
    EXPECT_TRUE(r.has_line("offset: 103 position: 400")) << r.text;
    EXPECT_TRUE(r.has_line_containing("Index 00000000000000000100.index is invalid: ")) << r.text;

    const fs::path time_index = dir_ / "00000000000000000100.timeindex";
    write_file(time_index, bytes(13, std::byte{0}));
    r = run_tool("--files " + quoted(time_index));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_TRUE(r.has_line_containing("Time index 00000000000000000100.timeindex is invalid: "))
        << r.text;
}

TEST_F(dump_log, one_bad_file_fails_the_run_but_the_others_are_still_dumped) {
    write_file(segment_, contents_);
    const fs::path unknown = dir_ / "00000000000000000100.txt";
    write_file(unknown, contents_);
    const fs::path missing = dir_ / "00000000000000000999.log";
    const fs::path misnamed = dir_ / "segment.log";
    write_file(misnamed, contents_);
    const run_result r = run_tool("--files " + quoted(unknown) + "," + quoted(missing) + "," +
                                  quoted(misnamed) + "," + quoted(segment_));
    EXPECT_EQ(r.exit_code, 1) << r.text;
    EXPECT_TRUE(r.has_line_containing(
        "00000000000000000100.txt: unknown file type; expected a .log, .index or .timeindex file"))
        << r.text;
    EXPECT_TRUE(r.has_line_containing("00000000000000000999.log: No such file or directory"))
        << r.text;
    EXPECT_TRUE(r.has_line_containing("segment.log: the file name is not a base offset"))
        << r.text;
    EXPECT_TRUE(r.has_line(batch_line(2))) << r.text;
}

TEST_F(dump_log, files_are_byte_identical_after_every_kind_of_dump) {
    bytes torn = contents_;
    torn[position_of(2) + 70] ^= std::byte{0x40};
    torn.insert(torn.end(), batches_[0].begin(), batches_[0].begin() + 30);
    write_file(segment_, torn);
    storage::offset_index idx(100);
    idx.append(103, 80);
    const fs::path index = dir_ / "00000000000000000100.index";
    write_file(index, idx.encode());
    const auto log_time = fs::last_write_time(segment_);
    const auto index_time = fs::last_write_time(index);

    for (const char* flags : {"", "--print-data-log", "--read-chunk-bytes 5"}) {
        const run_result r =
            run_tool(std::string(flags) + " --files " + quoted(segment_) + "," + quoted(index));
        EXPECT_EQ(r.exit_code, 1) << r.text;
    }
    EXPECT_EQ(read_file(segment_), torn);
    EXPECT_EQ(read_file(index), idx.encode());
    EXPECT_EQ(fs::file_size(segment_), torn.size());
    EXPECT_EQ(fs::last_write_time(segment_), log_time);
    EXPECT_EQ(fs::last_write_time(index), index_time);
}

TEST(dump_log_cli, help_names_the_flags_and_succeeds) {
    const run_result r = run_tool("--help");
    EXPECT_EQ(r.exit_code, 0) << r.text;
    EXPECT_NE(r.text.find("--files"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("--print-data-log"), std::string::npos) << r.text;
}

TEST(dump_log_cli, files_flag_is_required) {
    const run_result r = run_tool("");
    EXPECT_NE(r.exit_code, 0) << r.text;
    EXPECT_NE(r.text.find("--files"), std::string::npos) << r.text;
}

}  // namespace
}  // namespace gregor
