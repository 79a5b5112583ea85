// The partition log end to end on a real directory: appends and their validation, reads,
// timestamp lookups, truncation, retention, segment rolls and index cadence, clean and
// unclean reopen, crash damage (torn tails, bit flips, garbage, broken index files, misnamed
// segments), an I/O failure, and the open-segment limit. The random-operation property test
// is in log_property_test.cc; shared builders are in log_test_support.h.
#include "broker/storage/log.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <iomanip>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/storage/log_dir_health.h"
#include "broker/storage/open_segment_limiter.h"
#include "common/record_batch.h"
#include "common/wire.h"
#include "tests/unit/storage/log_test_support.h"

namespace gregor::storage {
namespace {

using namespace gregor::storage::test;

constexpr int64_t kT0 = fake_clock::kStart;
constexpr size_t kAll = 1 << 24;  // a max_bytes larger than any test log

// Every file of a directory with its bytes: "nothing changed" checks compare two of these.
std::map<std::string, bytes> snapshot(const fs::path& dir) {
    std::map<std::string, bytes> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.is_regular_file()) out[e.path().filename().string()] = read_file(e.path());
    }
    return out;
}

void copy_dir(const fs::path& from, const fs::path& to) {
    fs::remove_all(to);
    fs::create_directories(to);
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// Open descriptors of this process on `<dir>/*.log` files.
int open_log_descriptors(const fs::path& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        const auto target = fs::read_symlink(e.path(), ec);
        if (!ec && target.parent_path() == dir && target.extension() == ".log") ++n;
    }
    return n;
}

// The entries of an .index file, decoded by hand: {absolute offset, position}.
std::vector<std::pair<int64_t, uint32_t>> index_entries(const fs::path& p, int64_t base) {
    const bytes b = read_file(p);
    EXPECT_EQ(b.size() % 8, 0u) << p;
    std::vector<std::pair<int64_t, uint32_t>> out;
    for (size_t at = 0; at + 8 <= b.size(); at += 8) {
        out.emplace_back(base + wire::load_be<int32_t>(b.data() + at),
                         wire::load_be<uint32_t>(b.data() + at + 4));
    }
    return out;
}

// The entries of a .timeindex file: {timestamp, absolute offset}.
std::vector<std::pair<int64_t, int64_t>> time_index_entries(const fs::path& p, int64_t base) {
    const bytes b = read_file(p);
    EXPECT_EQ(b.size() % 12, 0u) << p;
    std::vector<std::pair<int64_t, int64_t>> out;
    for (size_t at = 0; at + 12 <= b.size(); at += 12) {
        out.emplace_back(wire::load_be<int64_t>(b.data() + at),
                         base + wire::load_be<int32_t>(b.data() + at + 8));
    }
    return out;
}

class storage_log : public ::testing::Test {
protected:
    storage_log() {
        config_.retention_ms = -1;  // retention only where a test asks for it
        config_.segment_bytes = 1 << 20;
    }

    log_options options(bool clean_shutdown = false, int64_t recovery_point = 0) {
        log_options o;
        o.dir = dir_;
        o.config = config_;
        o.recovery_point = recovery_point;
        o.clean_shutdown = clean_shutdown;
        o.limiter = limiter_;
        o.health = health_;
        o.clock = clock_.fn();
        o.request_flush = [this](log&) { ++flush_requests_; };
        return o;
    }

    std::unique_ptr<log> open_log(bool clean_shutdown = false, int64_t recovery_point = 0) {
        return must_open(options(clean_shutdown, recovery_point));
    }

    // Appends one batch of `recs` and remembers the records at the offsets assigned.
    log::append_result append(log& l, const std::vector<record_spec>& recs, int32_t epoch = 0) {
        auto r = must_append(l, make_batch(recs), epoch);
        EXPECT_EQ(r.base_offset, next_);
        EXPECT_EQ(r.last_offset, next_ + static_cast<int64_t>(recs.size()) - 1);
        EXPECT_EQ(r.record_count, static_cast<int32_t>(recs.size()));
        for (size_t i = 0; i < recs.size(); ++i) {
            model_.push_back({next_ + static_cast<int64_t>(i), recs[i]});
        }
        next_ += static_cast<int64_t>(recs.size());
        return r;
    }

    // Appends `n` batches of `per_batch` records, one clock millisecond apart, stamped with
    // the clock.
    void fill(log& l, int n, int per_batch = 5, size_t value_size = 30) {
        for (int i = 0; i < n; ++i) {
            append(l, simple_records(per_batch, clock_.now(), "b" + std::to_string(i), value_size));
            clock_.advance(1);
        }
    }

    int64_t model_end() const { return next_; }

    // The remembered records with offset >= from.
    std::vector<stored_record> expected(int64_t from = 0) const {
        std::vector<stored_record> out;
        for (const auto& r : model_) {
            if (r.offset >= from) out.push_back(r);
        }
        return out;
    }
    // The log was truncated to `offset`: forget the records from it on.
    void forget_from(int64_t offset) {
        std::erase_if(model_, [&](const stored_record& r) { return r.offset >= offset; });
        next_ = offset;
    }
    // The log restarted empty at `offset`.
    void restart_at(int64_t offset) {
        model_.clear();
        next_ = offset;
    }

    // A log of three segments of two 5-record batches each: bases 0, 10, 20; closed cleanly.
    void build_three_closed_segments() {
        config_.segment_bytes = 2 * static_cast<int64_t>(
                                        make_batch(simple_records(5, kT0, "b0", 30)).size()) +
                                10;
        auto l = open_log();
        ASSERT_TRUE(l);
        fill(*l, 6);
        ASSERT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 10, 20}));
        ASSERT_TRUE(l->close().ok());
    }

    temp_dir tmp_;
    fs::path dir_ = tmp_.path() / "orders-0";
    fake_clock clock_;
    log_config config_;
    std::shared_ptr<log_dir_health> health_ = std::make_shared<log_dir_health>(tmp_.path());
    open_segment_limiter* limiter_ = nullptr;
    int flush_requests_ = 0;
    std::vector<stored_record> model_;  // what was appended, by offset
    int64_t next_ = 0;                  // the offset the next append must get
};

// ---- append and round trip ------------------------------------------------------------------

TEST_F(storage_log, RoundTripKeepsRecordsByteIdenticalAndRewritesOffsetAndEpoch) {
    auto l = open_log();
    ASSERT_TRUE(l);
    const std::vector<std::vector<record_spec>> sent = {
        {{kT0, "key", "hello", {}},
         {kT0 + 5, std::nullopt, "v", {{"a", "1"}, {"b", std::nullopt}}},
         {kT0 - 2, "", std::nullopt, {}}},
        {{kT0 + 100, "solo", std::string(3000, 'x'), {{"h", ""}}}},
        {{kT0 + 9, "k0", "v0", {}},
         {kT0 + 3, "k1", "v1", {}},
         {kT0 + 7, "k2", "v2", {}},
         {kT0 - 50, "k3", "v3", {}},
         {kT0 + 9, "k4", "v4", {}}},
    };
    const std::vector<int32_t> epochs = {7, 7, 9};
    std::vector<bytes> produced;
    for (size_t i = 0; i < sent.size(); ++i) {
        produced.push_back(make_batch(sent[i]));
        const auto r = append(*l, sent[i], epochs[i]);
        EXPECT_EQ(r.log_start_offset, 0);
    }
    EXPECT_EQ(l->log_end_offset(), 9);

    auto rd = l->read(0, kAll);
    ASSERT_TRUE(rd) << rd.error().message;
    EXPECT_EQ(rd->log_start_offset, 0);
    EXPECT_EQ(rd->log_end_offset, 9);
    EXPECT_EQ(rd->range.first_offset, 0);
    const bytes got = range_bytes(rd->range);
    const auto batches = split_batches(got);
    ASSERT_EQ(batches.size(), 3u);
    const std::vector<int64_t> bases = {0, 3, 4};
    for (size_t i = 0; i < batches.size(); ++i) {
        SCOPED_TRACE("batch " + std::to_string(i));
        EXPECT_EQ(batches[i].base_offset, bases[i]);
        EXPECT_EQ(batches[i].leader_epoch, epochs[i]);
        EXPECT_TRUE(batches[i].crc_valid);
        const bytes& p = produced[i];
        const bytes& s = batches[i].data;
        ASSERT_EQ(s.size(), p.size());
        // Only baseOffset [0, 8) and partitionLeaderEpoch [12, 16) may differ.
        EXPECT_TRUE(std::equal(p.begin() + 8, p.begin() + 12, s.begin() + 8));
        EXPECT_TRUE(std::equal(p.begin() + 16, p.end(), s.begin() + 16));
        EXPECT_EQ(rb::batch_view(p).leader_epoch(), -1) << "the producer's bytes are untouched";
    }
    EXPECT_EQ(to_stored(decode_all(got)), expected());
}

TEST_F(storage_log, SeveralBatchesInOneRequestGetDenseOffsets) {
    auto l = open_log();
    ASSERT_TRUE(l);
    append(*l, simple_records(2, kT0));
    const std::vector<std::vector<record_spec>> parts = {
        simple_records(3, kT0, "a"), simple_records(1, kT0, "b"), simple_records(4, kT0, "c")};
    bytes request = concat({make_batch(parts[0]), make_batch(parts[1]), make_batch(parts[2])});
    auto r = l->append(request, 3);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->base_offset, 2);
    EXPECT_EQ(r->last_offset, 9);
    EXPECT_EQ(r->record_count, 8);
    int64_t next = 2;
    for (const auto& p : parts) {
        for (const auto& rec : p) model_.push_back({next++, rec});
    }
    EXPECT_EQ(l->log_end_offset(), 10);
    auto rd = l->read(2, kAll);
    ASSERT_TRUE(rd);
    const auto batches = split_batches(range_bytes(rd->range));
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0].base_offset, 2);
    EXPECT_EQ(batches[0].last_offset, 4);
    EXPECT_EQ(batches[1].base_offset, 5);
    EXPECT_EQ(batches[1].last_offset, 5);
    EXPECT_EQ(batches[2].base_offset, 6);
    EXPECT_EQ(batches[2].last_offset, 9);
    EXPECT_EQ(read_all(*l), expected());
    // The caller's buffer now holds the stored bytes: offsets assigned in place.
    EXPECT_EQ(rb::batch_view(request).base_offset(), 2);
}

TEST_F(storage_log, OffsetsStayDenseAndIncreasingOverManyAppends) {
    auto l = open_log();
    ASSERT_TRUE(l);
    std::mt19937_64 rng(7);
    int64_t last = -1;
    for (int i = 0; i < 200; ++i) {
        const auto r = append(*l, random_records(rng, 1 + static_cast<int>(rng() % 7), kT0));
        EXPECT_EQ(r.base_offset, last + 1);
        last = r.last_offset;
    }
    const auto all = read_all(*l, 0, 1000);
    ASSERT_EQ(all.size(), model_.size());
    for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(all, expected());
}

// ---- append validation: every refusal leaves the log exactly as it was ----------------------

struct bad_batch {
    const char* name;
    errc code;
    std::function<bytes(const log_config&)> make;
};

std::vector<bad_batch> bad_batches() {
    return {
        {"flipped bit in a value (CRC mismatch)", errc::corrupt_message,
         [](const log_config&) {
             bytes b = make_batch(simple_records(3, kT0));
             b[b.size() - 3] ^= std::byte{0x10};
             return b;
         }},
        {"record offset delta out of sequence (CRC fixed)", errc::invalid_record,
         [](const log_config&) {
             bytes b = make_batch(simple_records(3, kT0));
             // First record: length, attributes, timestampDelta, then offsetDelta (zig-zag 0).
             EXPECT_EQ(b[rb::kHeaderSize + 3], std::byte{0});
             b[rb::kHeaderSize + 3] = std::byte{0x0A};  // 5
             fix_crc(b);
             return b;
         }},
        {"record count disagreeing with lastOffsetDelta (CRC fixed)", errc::invalid_record,
         [](const log_config&) {
             bytes b = make_batch(simple_records(3, kT0));
             wire::store_be<int32_t>(b.data() + rb::kRecordCountPos, 4);
             fix_crc(b);
             return b;
         }},
        {"batch larger than max.message.bytes", errc::message_too_large,
         [](const log_config& c) {
             return make_batch(simple_records(1, kT0, "big", static_cast<size_t>(c.max_message_bytes)));
         }},
        {"magic 1", errc::unsupported_for_message_format,
         [](const log_config&) {
             bytes b = make_batch(simple_records(3, kT0));
             b[rb::kMagicPos] = std::byte{1};
             return b;
         }},
        {"batch cut short", errc::corrupt_message,
         [](const log_config&) {
             bytes b = make_batch(simple_records(3, kT0));
             b.resize(b.size() - 1);
             return b;
         }},
    };
}

TEST_F(storage_log, InvalidBatchIsRefusedAndTheLogIsUnchanged) {
    config_.max_message_bytes = 2000;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 3);
    for (const auto& bad : bad_batches()) {
        SCOPED_TRACE(bad.name);
        const auto before = snapshot(dir_);
        const int64_t end = l->log_end_offset();
        const uint64_t size = l->size_bytes();
        bytes b = bad.make(config_);
        auto r = l->append(b, 1);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), bad.code) << r.error().message;
        EXPECT_EQ(l->log_end_offset(), end);
        EXPECT_EQ(l->size_bytes(), size);
        EXPECT_EQ(snapshot(dir_), before);
        EXPECT_FALSE(l->offline()) << "bad input is not an I/O failure";
    }
    // The next good batch takes the next offset as if nothing had been tried.
    EXPECT_EQ(append(*l, simple_records(2, kT0)).base_offset, 15);
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, RequestWhoseSecondBatchIsBadAppendsNeither) {
    config_.max_message_bytes = 2000;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 2);
    for (const auto& bad : bad_batches()) {
        SCOPED_TRACE(bad.name);
        const auto before = snapshot(dir_);
        const int64_t end = l->log_end_offset();
        bytes request = concat({make_batch(simple_records(4, kT0, "good")), bad.make(config_)});
        auto r = l->append(request, 1);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), bad.code) << r.error().message;
        EXPECT_EQ(l->log_end_offset(), end);
        EXPECT_EQ(snapshot(dir_), before);
    }
    EXPECT_EQ(read_all(*l), expected());
    EXPECT_EQ(append(*l, simple_records(1, kT0)).base_offset, 10);
}

TEST_F(storage_log, EmptyRequestIsRefused) {
    auto l = open_log();
    ASSERT_TRUE(l);
    bytes none;
    auto r = l->append(none, 0);
    EXPECT_EQ(r.code(), errc::corrupt_message);
    EXPECT_EQ(l->log_end_offset(), 0);
}

TEST_F(storage_log, BatchOfExactlyMaxMessageBytesIsAccepted) {
    const bytes b = make_batch(simple_records(2, kT0, "x", 500));
    config_.max_message_bytes = static_cast<int64_t>(b.size());
    auto l = open_log();
    ASSERT_TRUE(l);
    bytes copy = b;
    EXPECT_TRUE(l->append(copy, 0));
    config_.max_message_bytes = static_cast<int64_t>(b.size()) - 1;
    l->set_config(config_);
    copy = b;
    EXPECT_EQ(l->append(copy, 0).code(), errc::message_too_large);
    EXPECT_EQ(l->log_end_offset(), 2);
}

// ---- segments: roll by size and time, names, index cadence ------------------------------------

TEST_F(storage_log, SegmentsRollAtSegmentBytes) {
    const size_t batch_size = make_batch(simple_records(3, kT0, "b0", 60)).size();
    config_.segment_bytes = static_cast<int64_t>(3 * batch_size + batch_size / 2);
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 10, 3, 60);
    // Three batches fit in a segment, the fourth would not: bases every 9 offsets.
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 9, 18, 27}));
    for (int64_t base : l->segment_base_offsets()) {
        const auto p = segment_path(dir_, base, ".log");
        EXPECT_LE(size_on_disk(p), static_cast<uint64_t>(config_.segment_bytes)) << p;
        const auto batches = batch_positions(p);
        ASSERT_FALSE(batches.empty());
        EXPECT_EQ(rb::batch_view(read_file(p)).base_offset(), base) << "a segment is named after its first batch";
    }
    // A batch larger than a whole segment still goes in, alone in a fresh segment.
    append(*l, simple_records(1, kT0, "huge", static_cast<size_t>(config_.segment_bytes)));
    append(*l, simple_records(1, kT0));
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 9, 18, 27, 30, 31}));
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, SegmentFilesAreNamedWithTwentyDigitBaseOffsets) {
    config_.segment_bytes = 300;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 3, 2);
    ASSERT_TRUE(l->truncate_fully_and_start_at(12345678901).ok());
    restart_at(12345678901);
    fill(*l, 8, 2);
    const auto bases = l->segment_base_offsets();
    ASSERT_GE(bases.size(), 2u);
    ASSERT_TRUE(l->close().ok());
    std::vector<std::string> want;
    for (int64_t b : bases) {
        std::ostringstream name;
        name << std::setw(20) << std::setfill('0') << b;
        for (const char* ext : {".index", ".log", ".timeindex"}) want.push_back(name.str() + ext);
    }
    EXPECT_EQ(want.front(), "00000000012345678901.index");
    want.push_back(kLeaderEpochCheckpoint);
    EXPECT_EQ(list_dir(dir_), want);
}

TEST_F(storage_log, SegmentsRollAtSegmentMs) {
    config_.segment_ms = 60'000;
    auto l = open_log();
    ASSERT_TRUE(l);
    append(*l, simple_records(1, clock_.now()));
    clock_.advance(59'999);
    append(*l, simple_records(1, clock_.now()));
    EXPECT_EQ(l->segment_count(), 1u) << "rolled before segment.ms had passed";
    clock_.advance(2);
    append(*l, simple_records(1, clock_.now()));
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 2}));
    // The new segment's age counts from its own first batch.
    clock_.advance(59'000);
    append(*l, simple_records(1, clock_.now()));
    EXPECT_EQ(l->segment_count(), 2u);
    clock_.advance(1'001);
    append(*l, simple_records(1, clock_.now()));
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 2, 4}));
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, IdleEmptySegmentDoesNotRollOnTime) {
    config_.segment_ms = 1'000;
    auto l = open_log();
    ASSERT_TRUE(l);
    clock_.advance(1'000'000);
    append(*l, simple_records(1, clock_.now()));
    EXPECT_EQ(l->segment_count(), 1u) << "an empty segment is never rolled";
}

// Which batches of a segment get an offset-index entry: the first batch after more than
// index.interval.bytes of data since the last entry (Kafka's rule).
std::vector<std::pair<int64_t, uint32_t>> expected_index(const fs::path& log_file, uint64_t interval) {
    std::vector<std::pair<int64_t, uint32_t>> out;
    const bytes b = read_file(log_file);
    uint64_t since = 0;
    for (auto [pos, size] : batch_positions(log_file)) {
        if (since > interval) {
            out.emplace_back(rb::batch_view(std::span(b).subspan(pos)).base_offset(),
                             static_cast<uint32_t>(pos));
            since = 0;
        }
        since += size;
    }
    return out;
}

// Checks a .timeindex against its segment: entries strictly increase, each (T, o) names a
// batch at o whose max timestamp is T while every record before o is older than T, and the
// last entry holds the segment's largest timestamp when `sealed`.
void check_time_index(const fs::path& dir, int64_t base, bool sealed) {
    const auto log_file = segment_path(dir, base, ".log");
    const auto entries = time_index_entries(segment_path(dir, base, ".timeindex"), base);
    const auto records = decode_all(read_file(log_file));
    int64_t max_ts = -1;
    for (const auto& r : records) max_ts = std::max(max_ts, r.timestamp);
    for (size_t i = 0; i < entries.size(); ++i) {
        const auto [ts, off] = entries[i];
        if (i > 0) {
            EXPECT_GT(ts, entries[i - 1].first);
            EXPECT_GT(off, entries[i - 1].second);
        }
        bool at_batch = false;
        for (const auto& b : split_batches(read_file(log_file))) {
            if (b.base_offset == off) {
                at_batch = true;
                EXPECT_EQ(rb::batch_view(b.data).max_timestamp(), ts);
            }
        }
        EXPECT_TRUE(at_batch) << "time index entry at offset " << off << " is not a batch start";
        for (const auto& r : records) {
            if (r.offset < off) {
                EXPECT_LT(r.timestamp, ts) << "record " << r.offset;
            }
        }
    }
    if (sealed && !records.empty()) {
        ASSERT_FALSE(entries.empty());
        EXPECT_EQ(entries.back().first, max_ts);
    }
}

TEST_F(storage_log, IndexEntriesAreWrittenEveryIndexIntervalBytes) {
    config_.index_interval_bytes = 256;
    config_.segment_bytes = 4096;
    auto l = open_log();
    ASSERT_TRUE(l);
    std::mt19937_64 rng(11);
    while (l->segment_count() < 3) {
        // Batches of 90..400 bytes with timestamps that wander back and forth.
        const int n = 1 + static_cast<int>(rng() % 3);
        append(*l, simple_records(n, kT0 + static_cast<int64_t>(rng() % 5000), "v", 20 + rng() % 100));
    }
    const auto bases = l->segment_base_offsets();
    for (size_t s = 0; s + 1 < bases.size(); ++s) {
        SCOPED_TRACE("sealed segment " + std::to_string(bases[s]));
        const auto want = expected_index(segment_path(dir_, bases[s], ".log"), 256);
        EXPECT_GE(want.size(), 5u) << "the test should exercise many entries";
        EXPECT_EQ(size_on_disk(segment_path(dir_, bases[s], ".index")), 8 * want.size());
        EXPECT_EQ(index_entries(segment_path(dir_, bases[s], ".index"), bases[s]), want);
        check_time_index(dir_, bases[s], true);
    }
    ASSERT_TRUE(l->close().ok());
    SCOPED_TRACE("active segment after close");
    const auto want = expected_index(segment_path(dir_, bases.back(), ".log"), 256);
    EXPECT_EQ(index_entries(segment_path(dir_, bases.back(), ".index"), bases.back()), want);
    check_time_index(dir_, bases.back(), false);
}

TEST_F(storage_log, IndexEntryComesAfterMoreThanIndexIntervalBytes) {
    // Equal batches and an interval of exactly two of them: the entry goes to the batch after
    // *more* than the interval (Kafka's bytesSinceLastIndexEntry > indexIntervalBytes), that
    // is to every third batch, not every second.
    const auto batch = static_cast<int64_t>(make_batch(simple_records(2, kT0, "b0", 30)).size());
    config_.index_interval_bytes = 2 * batch;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 10, 2);
    ASSERT_TRUE(l->close().ok());
    const auto b = static_cast<uint32_t>(batch);
    EXPECT_EQ(index_entries(segment_path(dir_, 0, ".index"), 0),
              (std::vector<std::pair<int64_t, uint32_t>>{{6, 3 * b}, {12, 6 * b}, {18, 9 * b}}));
}

// ---- reads --------------------------------------------------------------------------------

TEST_F(storage_log, ReadReturnsOneWholeBatchWhenMaxBytesIsSmaller) {
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 3);
    for (size_t max_bytes : {size_t{0}, size_t{1}, size_t{60}}) {
        auto r = l->read(0, max_bytes);
        ASSERT_TRUE(r);
        const auto batches = split_batches(range_bytes(r->range));
        ASSERT_EQ(batches.size(), 1u) << "max_bytes " << max_bytes;
        EXPECT_EQ(batches[0].base_offset, 0);
        EXPECT_EQ(batches[0].last_offset, 4);
    }
}

TEST_F(storage_log, ReadStopsAtMaxBytes) {
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 5);
    const auto sizes = batch_positions(segment_path(dir_, 0, ".log"));
    ASSERT_EQ(sizes.size(), 5u);
    const size_t two = sizes[0].second + sizes[1].second;
    auto r = l->read(0, two);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->range.size, two);
    r = l->read(0, two - 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->range.size, sizes[0].second);
    r = l->read(5, two + sizes[2].second - 1);  // from the second batch: two fit
    ASSERT_TRUE(r);
    EXPECT_EQ(r->range.size, sizes[1].second + sizes[2].second);
    EXPECT_EQ(r->range.position, sizes[1].first);
    r = l->read(0, kAll);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->range.size, size_on_disk(segment_path(dir_, 0, ".log")));
}

TEST_F(storage_log, ReadStopsBeforeTheUpperBound) {
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 3, 3);  // batches [0,2] [3,5] [6,8]
    auto batches_of = [&](int64_t offset, int64_t upper) {
        auto r = l->read(offset, kAll, upper);
        EXPECT_TRUE(r);
        std::vector<int64_t> out;
        if (!r) return out;
        for (const auto& b : split_batches(range_bytes(r->range))) out.push_back(b.base_offset);
        return out;
    };
    EXPECT_EQ(batches_of(0, 9), (std::vector<int64_t>{0, 3, 6}));
    EXPECT_EQ(batches_of(0, 8), (std::vector<int64_t>{0, 3})) << "a batch reaching the bound is left out";
    EXPECT_EQ(batches_of(0, 6), (std::vector<int64_t>{0, 3}));
    EXPECT_EQ(batches_of(0, 5), (std::vector<int64_t>{0}));
    EXPECT_EQ(batches_of(0, 2), (std::vector<int64_t>{}));
    EXPECT_EQ(batches_of(4, 5), (std::vector<int64_t>{}));
    EXPECT_EQ(batches_of(4, 6), (std::vector<int64_t>{3}));
}

TEST_F(storage_log, ReadAtTheLogEndIsEmpty) {
    auto l = open_log();
    ASSERT_TRUE(l);
    auto r = l->read(0, kAll);
    ASSERT_TRUE(r) << "reading an empty log at its end is not an error";
    EXPECT_EQ(r->range.size, 0u);
    fill(*l, 2);
    r = l->read(10, kAll);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->range.size, 0u);
    EXPECT_EQ(r->log_start_offset, 0);
    EXPECT_EQ(r->log_end_offset, 10);
}

TEST_F(storage_log, ReadInTheMiddleOfABatchReturnsThatWholeBatch) {
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 3);
    for (int64_t offset = 5; offset < 10; ++offset) {
        auto r = l->read(offset, 1);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->range.first_offset, 5);
        const auto batches = split_batches(range_bytes(r->range));
        ASSERT_EQ(batches.size(), 1u);
        EXPECT_EQ(batches[0].base_offset, 5);
        EXPECT_EQ(batches[0].last_offset, 9);
    }
}

TEST_F(storage_log, ReadOutsideTheLogIsOffsetOutOfRange) {
    config_.segment_bytes = 400;
    config_.retention_bytes = 0;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 6);
    EXPECT_EQ(l->read(31, kAll).code(), errc::offset_out_of_range);
    EXPECT_EQ(l->read(INT64_MAX, kAll).code(), errc::offset_out_of_range);
    EXPECT_EQ(l->read(-1, kAll).code(), errc::offset_out_of_range);
    auto deleted = l->delete_retained_segments();
    ASSERT_TRUE(deleted);
    ASSERT_GT(*deleted, 0u);
    const int64_t start = l->log_start_offset();
    ASSERT_GT(start, 0);
    EXPECT_EQ(l->read(start - 1, kAll).code(), errc::offset_out_of_range);
    EXPECT_EQ(l->read(0, kAll).code(), errc::offset_out_of_range);
    auto r = l->read(start, kAll);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->range.first_offset, start);
    EXPECT_EQ(r->log_start_offset, start);
}

TEST_F(storage_log, ReadsCrossSegmentBoundaries) {
    config_.segment_bytes = 700;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 20, 3, 40);
    const auto bases = l->segment_base_offsets();
    ASSERT_GE(bases.size(), 5u);
    for (size_t max_bytes : {size_t{1}, size_t{200}, size_t{500}, kAll}) {
        EXPECT_EQ(read_all(*l, 0, max_bytes), expected()) << "max_bytes " << max_bytes;
    }
    // Every offset, and in particular each segment's first and last, reads its own batch.
    for (int64_t o = 0; o < l->log_end_offset(); ++o) {
        auto r = l->read(o, 1);
        ASSERT_TRUE(r);
        const auto batches = split_batches(range_bytes(r->range));
        ASSERT_EQ(batches.size(), 1u);
        EXPECT_LE(batches[0].base_offset, o);
        EXPECT_GE(batches[0].last_offset, o);
    }
    for (int64_t base : bases) {
        auto r = l->read(base, kAll);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->range.first_offset, base);
        EXPECT_EQ(r->range.position, 0u);
    }
}

TEST_F(storage_log, ReadRangeStaysReadableAfterRetentionDeletesItsSegment) {
    config_.segment_bytes = 400;
    config_.retention_bytes = 0;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 4);
    auto r = l->read(0, kAll);
    ASSERT_TRUE(r);
    const bytes before = range_bytes(r->range);
    auto deleted = l->delete_retained_segments();
    ASSERT_TRUE(deleted);
    ASSERT_GT(*deleted, 0u);
    EXPECT_FALSE(fs::exists(segment_path(dir_, 0, ".log")));
    EXPECT_EQ(range_bytes(r->range), before);
}

// ---- offset_for_timestamp --------------------------------------------------------------------

// The first record (by offset) with timestamp >= target, by brute force.
std::optional<timestamp_offset> first_at_or_after(const std::vector<stored_record>& recs, int64_t target) {
    for (const auto& r : recs) {
        if (r.rec.timestamp >= target) return timestamp_offset{r.rec.timestamp, r.offset};
    }
    return std::nullopt;
}

void expect_timestamp_lookups(log& l, const std::vector<stored_record>& recs) {
    std::set<int64_t> targets;
    for (const auto& r : recs) {
        targets.insert(r.rec.timestamp - 1);
        targets.insert(r.rec.timestamp);
        targets.insert(r.rec.timestamp + 1);
    }
    targets.insert(INT64_MIN);
    targets.insert(-1);
    for (int64_t t : targets) {
        auto got = l.offset_for_timestamp(t);
        ASSERT_TRUE(got) << got.error().message;
        const auto want = first_at_or_after(recs, t);
        ASSERT_EQ(got->has_value(), want.has_value()) << "target " << t;
        if (want) {
            EXPECT_EQ((*got)->offset, want->offset) << "target " << t;
            EXPECT_EQ((*got)->timestamp, want->timestamp) << "target " << t;
        }
    }
}

TEST_F(storage_log, OffsetForTimestampFindsTheFirstRecordAtOrAfterIt) {
    config_.segment_bytes = 2048;
    config_.index_interval_bytes = 128;
    auto l = open_log();
    ASSERT_TRUE(l);
    std::mt19937_64 rng(3);
    for (int b = 0; b < 60; ++b) {
        // Timestamps out of order inside a batch, and every fifth batch older than the rest.
        const int64_t base = (b % 5 == 4) ? kT0 - 3000 : kT0 + b * 100;
        std::vector<record_spec> recs;
        const int n = 1 + static_cast<int>(rng() % 6);
        for (int i = 0; i < n; ++i) {
            recs.push_back({base + static_cast<int64_t>(rng() % 400), "k", std::string(30, 'v'), {}});
        }
        append(*l, recs);
    }
    ASSERT_GE(l->segment_count(), 4u);
    {
        SCOPED_TRACE("live");
        expect_timestamp_lookups(*l, expected());
    }
    ASSERT_TRUE(l->close().ok());
    l = open_log(true);
    ASSERT_TRUE(l);
    {
        SCOPED_TRACE("after a clean reopen (indexes loaded)");
        expect_timestamp_lookups(*l, expected());
    }
    l.reset();  // a crash: no close
    l = open_log(false, 0);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->load_report().segments_recovered, l->segment_count());
    {
        SCOPED_TRACE("after an unclean reopen (indexes rebuilt)");
        expect_timestamp_lookups(*l, expected());
    }
}

// A sealed segment too small for an index entry keeps its largest timestamp only in the time
// index entry written at roll; a clean restart must know it for lookups and retention.
TEST_F(storage_log, SealedSegmentsLargestTimestampSurvivesACleanRestart) {
    config_.segment_ms = 1'000;
    config_.retention_ms = 100'000;
    auto l = open_log();
    ASSERT_TRUE(l);
    append(*l, {{kT0 + 5, "a", "1", {}}});
    append(*l, {{kT0 + 50, "b", "2", {}}, {kT0 + 7, "c", "3", {}}});  // the max, last batch
    clock_.advance(1'000);
    append(*l, {{kT0 + 1'000, "d", "4", {}}});
    ASSERT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 3}));
    EXPECT_EQ(time_index_entries(segment_path(dir_, 0, ".timeindex"), 0),
              (std::vector<std::pair<int64_t, int64_t>>{{kT0 + 50, 1}}));
    ASSERT_TRUE(l->close().ok());
    l = open_log(true);
    ASSERT_TRUE(l);
    auto r = l->offset_for_timestamp(kT0 + 40);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->offset, 1);
    EXPECT_EQ((*r)->timestamp, kT0 + 50);
    clock_.set(kT0 + 50 + 100'000);
    EXPECT_EQ(*l->delete_retained_segments(), 0u) << "the segment's newest record is not too old";
    clock_.advance(1);
    EXPECT_EQ(*l->delete_retained_segments(), 1u);
}

TEST_F(storage_log, OffsetForTimestampPastTheLargestIsNothing) {
    auto l = open_log();
    ASSERT_TRUE(l);
    auto none = l->offset_for_timestamp(0);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value()) << "an empty log has no record";
    append(*l, {{kT0 + 5, "a", "1", {}}, {kT0 + 50, "b", "2", {}}, {kT0 + 7, "c", "3", {}}});
    auto r = l->offset_for_timestamp(kT0 + 51);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_value());
    r = l->offset_for_timestamp(kT0 + 50);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->offset, 1);
}

// ---- truncation ---------------------------------------------------------------------------

TEST_F(storage_log, TruncateToTheMiddleOfABatchRemovesThatWholeBatch) {
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 3);  // [0,4] [5,9] [10,14]
    const uint64_t first_batch = batch_positions(segment_path(dir_, 0, ".log"))[0].second;
    ASSERT_TRUE(l->truncate_to(7).ok());
    forget_from(5);
    EXPECT_EQ(l->log_end_offset(), 5);
    EXPECT_EQ(size_on_disk(segment_path(dir_, 0, ".log")), first_batch);
    EXPECT_EQ(read_all(*l), expected());
    EXPECT_EQ(l->read(5, kAll)->range.size, 0u);
    EXPECT_EQ(l->read(6, kAll).code(), errc::offset_out_of_range);
    EXPECT_EQ(append(*l, simple_records(2, kT0, "after")).base_offset, 5);
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, TruncateAtOrPastTheEndChangesNothing) {
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 2);
    const auto before = snapshot(dir_);
    EXPECT_TRUE(l->truncate_to(10).ok());
    EXPECT_TRUE(l->truncate_to(1000).ok());
    EXPECT_EQ(l->log_end_offset(), 10);
    EXPECT_EQ(snapshot(dir_), before);
}

TEST_F(storage_log, TruncateAcrossSegmentsDeletesTheLaterSegments) {
    config_.segment_bytes = 700;
    config_.index_interval_bytes = 100;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 20, 3, 40);
    const auto bases = l->segment_base_offsets();
    ASSERT_GE(bases.size(), 5u);
    // An offset inside the second segment, in the middle of a batch that is not its first.
    const int64_t cut = bases[1] + 4;
    ASSERT_LT(cut, bases[2]);
    ASSERT_TRUE(l->truncate_to(cut).ok());
    forget_from(3 * (cut / 3));
    EXPECT_EQ(l->log_end_offset(), 3 * (cut / 3));
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{bases[0], bases[1]}));
    for (size_t s = 2; s < bases.size(); ++s) {
        for (const char* ext : {".log", ".index", ".timeindex"}) {
            EXPECT_FALSE(fs::exists(segment_path(dir_, bases[s], ext))) << bases[s] << ext;
        }
    }
    EXPECT_EQ(read_all(*l), expected());
    expect_timestamp_lookups(*l, expected());
    // Appends continue at the new end, and the log rolls again as before.
    fill(*l, 10, 3, 40);
    EXPECT_EQ(read_all(*l), expected());
    EXPECT_GE(l->segment_count(), 3u);
    ASSERT_TRUE(l->close().ok());
    l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->load_report().segments_recovered, 0u);
    EXPECT_EQ(read_all(*l), expected());
    l.reset();
    l = open_log(false, 0);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->load_report().bytes_truncated, 0u);
    EXPECT_EQ(read_all(*l), expected());
    expect_timestamp_lookups(*l, expected());
}

TEST_F(storage_log, TruncateToASegmentBaseLeavesThatSegmentEmptyAndActive) {
    config_.segment_bytes = 700;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 12, 3, 40);
    const auto bases = l->segment_base_offsets();
    ASSERT_GE(bases.size(), 3u);
    ASSERT_TRUE(l->truncate_to(bases[1]).ok());
    forget_from(bases[1]);
    EXPECT_EQ(l->log_end_offset(), bases[1]);
    EXPECT_EQ(read_all(*l), expected());
    fill(*l, 3, 3, 40);
    EXPECT_EQ(read_all(*l), expected());
    ASSERT_TRUE(l->close().ok());
    l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, TruncateBelowTheLogStartTruncatesFully) {
    config_.segment_bytes = 400;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 8);
    config_.retention_bytes = 0;
    l->set_config(config_);
    ASSERT_TRUE(l->delete_retained_segments());
    const int64_t start = l->log_start_offset();
    ASSERT_GT(start, 5);
    ASSERT_TRUE(l->truncate_to(3).ok());
    EXPECT_EQ(l->log_start_offset(), 3);
    EXPECT_EQ(l->log_end_offset(), 3);
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{3}));
    EXPECT_EQ(list_dir(dir_),
              (std::vector<std::string>{"00000000000000000003.log", kLeaderEpochCheckpoint}));
    EXPECT_TRUE(l->epoch_entries().empty());
    EXPECT_EQ(l->read(3, kAll)->range.size, 0u);
    restart_at(3);
    append(*l, simple_records(2, kT0, "new"));
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, TruncateToTheLogStartEmptiesTheLog) {
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 3);
    ASSERT_TRUE(l->truncate_to(0).ok());
    EXPECT_EQ(l->log_start_offset(), 0);
    EXPECT_EQ(l->log_end_offset(), 0);
    restart_at(0);
    append(*l, simple_records(1, kT0));
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, TruncateFullyAndStartAtRestartsTheLogEmpty) {
    config_.segment_bytes = 400;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 6);
    ASSERT_GT(l->segment_count(), 1u);
    ASSERT_TRUE(l->truncate_fully_and_start_at(1000).ok());
    EXPECT_EQ(l->log_start_offset(), 1000);
    EXPECT_EQ(l->log_end_offset(), 1000);
    EXPECT_EQ(l->recovery_point(), 1000);
    EXPECT_EQ(list_dir(dir_),
              (std::vector<std::string>{"00000000000000001000.log", kLeaderEpochCheckpoint}));
    EXPECT_TRUE(l->epoch_entries().empty());
    EXPECT_EQ(l->read(999, kAll).code(), errc::offset_out_of_range);
    EXPECT_EQ(l->read(1000, kAll)->range.size, 0u);
    restart_at(1000);
    auto r = append(*l, simple_records(3, kT0, "fresh"));
    EXPECT_EQ(r.base_offset, 1000);
    EXPECT_EQ(r.log_start_offset, 1000);
    EXPECT_EQ(read_all(*l), expected());
    ASSERT_TRUE(l->close().ok());
    l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->log_start_offset(), 1000);
    EXPECT_EQ(read_all(*l), expected());
}

// ---- retention ----------------------------------------------------------------------------

TEST_F(storage_log, RetentionByTimeDeletesSegmentsWhoseNewestRecordIsTooOld) {
    config_.segment_ms = 1'000;
    config_.retention_ms = 10'000;
    auto l = open_log();
    ASSERT_TRUE(l);
    // Four segments whose newest records are kT0, kT0 + 1000, kT0 + 2000, kT0 + 3000.
    for (int s = 0; s < 4; ++s) {
        clock_.set(kT0 + s * 1'000);
        append(*l, simple_records(2, clock_.now() - 500, "old"));
        append(*l, simple_records(2, clock_.now(), "new"));
    }
    ASSERT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 4, 8, 12}));
    clock_.set(kT0 + 10'000);
    EXPECT_EQ(*l->delete_retained_segments(), 0u) << "exactly retention.ms old is kept";
    clock_.set(kT0 + 10'001);
    EXPECT_EQ(*l->delete_retained_segments(), 1u);
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{4, 8, 12}));
    EXPECT_EQ(l->log_start_offset(), 4);
    for (const char* ext : {".log", ".index", ".timeindex"}) {
        EXPECT_FALSE(fs::exists(segment_path(dir_, 0, ext))) << ext;
    }
    clock_.set(kT0 + 12'001);
    EXPECT_EQ(*l->delete_retained_segments(), 2u);
    clock_.set(kT0 + 1'000'000);
    EXPECT_EQ(*l->delete_retained_segments(), 0u) << "the active segment is never deleted";
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{12}));
    EXPECT_EQ(read_all(*l), expected(12));
    EXPECT_EQ(l->read(11, kAll).code(), errc::offset_out_of_range);
}

TEST_F(storage_log, RetentionByTimeIsOffWithMinusOne) {
    config_.segment_ms = 1'000;
    auto l = open_log();
    ASSERT_TRUE(l);
    for (int s = 0; s < 3; ++s) {
        clock_.set(kT0 + s * 1'000);
        append(*l, simple_records(2, clock_.now()));
    }
    clock_.set(kT0 + 1'000'000'000);
    EXPECT_EQ(*l->delete_retained_segments(), 0u);
    EXPECT_EQ(l->segment_count(), 3u);
}

TEST_F(storage_log, RetentionBySizeKeepsTheNewestSegmentsWithinRetentionBytes) {
    config_.segment_bytes = 500;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 12, 3, 40);
    std::vector<uint64_t> sizes;
    for (int64_t b : l->segment_base_offsets()) sizes.push_back(size_on_disk(segment_path(dir_, b, ".log")));
    ASSERT_GE(sizes.size(), 5u);
    uint64_t total = 0;
    for (auto s : sizes) total += s;
    // Room for everything but the oldest two segments plus one byte: two must go.
    config_.retention_bytes = static_cast<int64_t>(total - sizes[0] - sizes[1] + 1);
    l->set_config(config_);
    const auto bases = l->segment_base_offsets();
    auto n = l->delete_retained_segments();
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u) << "deleting the second would go below retention.bytes";
    config_.retention_bytes = static_cast<int64_t>(total - sizes[0] - sizes[1]);
    l->set_config(config_);
    EXPECT_EQ(*l->delete_retained_segments(), 1u);
    EXPECT_EQ(l->log_start_offset(), bases[2]);
    EXPECT_EQ(l->size_bytes(), total - sizes[0] - sizes[1]);
    EXPECT_EQ(read_all(*l), expected(bases[2]));
    config_.retention_bytes = 0;
    l->set_config(config_);
    ASSERT_TRUE(l->delete_retained_segments());
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{bases.back()}))
        << "the active segment stays even over retention.bytes";
    ASSERT_TRUE(l->close().ok());
    l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->log_start_offset(), bases.back());
    EXPECT_EQ(read_all(*l), expected(bases.back()));
}

// ---- flushing, the recovery point, reopening -----------------------------------------------

TEST_F(storage_log, RecoveryPointAdvancesOnlyOnFlush) {
    config_.segment_bytes = 400;
    auto l = open_log();
    ASSERT_TRUE(l);
    EXPECT_EQ(l->recovery_point(), 0);
    fill(*l, 6);
    ASSERT_GT(l->segment_count(), 1u);
    EXPECT_GT(flush_requests_, 0) << "a roll asks for a flush";
    EXPECT_EQ(l->recovery_point(), 0) << "asking is not flushing";
    ASSERT_TRUE(l->flush().ok());
    EXPECT_EQ(l->recovery_point(), 30);
    fill(*l, 2);
    EXPECT_EQ(l->recovery_point(), 30);
    ASSERT_TRUE(l->truncate_to(20).ok());
    EXPECT_EQ(l->recovery_point(), 20) << "truncation pulls the recovery point back";
    ASSERT_TRUE(l->flush().ok());
    EXPECT_EQ(l->recovery_point(), 20);
}

TEST_F(storage_log, FlushIsRequestedAfterFlushMessagesAndDueAfterFlushMs) {
    config_.flush_interval_messages = 10;
    config_.flush_interval_ms = 5'000;
    auto l = open_log();
    ASSERT_TRUE(l);
    append(*l, simple_records(9, kT0));
    EXPECT_EQ(flush_requests_, 0);
    append(*l, simple_records(1, kT0));
    EXPECT_EQ(flush_requests_, 1);
    EXPECT_FALSE(l->flush_due(clock_.now() + 4'999));
    EXPECT_TRUE(l->flush_due(clock_.now() + 5'000));
    ASSERT_TRUE(l->flush().ok());
    EXPECT_FALSE(l->flush_due(clock_.now() + 1'000'000)) << "nothing left to flush";
}

TEST_F(storage_log, CleanReopenRecoversNothingAndKeepsEveryRecord) {
    config_.segment_bytes = 700;
    config_.index_interval_bytes = 128;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 25, 3, 40);
    const auto bases = l->segment_base_offsets();
    ASSERT_GE(bases.size(), 5u);
    ASSERT_TRUE(l->close().ok());
    l = open_log(true, 0);
    ASSERT_TRUE(l);
    const auto& rep = l->load_report();
    EXPECT_EQ(rep.segments, bases.size());
    EXPECT_EQ(rep.segments_recovered, 0u);
    EXPECT_EQ(rep.indexes_rebuilt, 0u);
    EXPECT_EQ(rep.bytes_truncated, 0u);
    EXPECT_TRUE(rep.moved_aside.empty());
    EXPECT_TRUE(rep.ignored_files.empty());
    EXPECT_EQ(l->segment_base_offsets(), bases);
    EXPECT_EQ(l->log_end_offset(), model_end());
    EXPECT_EQ(l->recovery_point(), model_end()) << "after a clean shutdown everything is flushed";
    EXPECT_EQ(read_all(*l), expected());
    expect_timestamp_lookups(*l, expected());
    fill(*l, 5, 3, 40);
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, UncleanReopenRecoversTheSegmentsFromTheRecoveryPoint) {
    config_.segment_bytes = 700;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 12, 3, 40);
    ASSERT_TRUE(l->flush().ok());
    const int64_t rp = l->recovery_point();
    ASSERT_EQ(rp, model_end());
    fill(*l, 12, 3, 40);
    const auto bases = l->segment_base_offsets();
    l.reset();  // a crash
    l = open_log(false, rp);
    ASSERT_TRUE(l);
    // Segment i may hold unflushed data when it is the last or the next one starts after rp.
    size_t want = 0;
    for (size_t i = 0; i < bases.size(); ++i) {
        if (i + 1 == bases.size() || bases[i + 1] > rp) ++want;
    }
    ASSERT_LT(want, bases.size()) << "the test needs segments wholly before the recovery point";
    EXPECT_EQ(l->load_report().segments_recovered, want);
    EXPECT_EQ(l->recovery_point(), rp);
    EXPECT_EQ(read_all(*l), expected());
}

TEST_F(storage_log, FlushedRecordsSurviveACrashThatDamagesTheUnflushedTail) {
    config_.segment_bytes = 700;
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 10, 3, 40);
    ASSERT_TRUE(l->flush().ok());
    const int64_t rp = l->recovery_point();
    const auto flushed = expected();
    fill(*l, 10, 3, 40);
    const auto bases = l->segment_base_offsets();
    l.reset();  // a crash: nothing after rp was fsynced, so damage it
    const auto last = segment_path(dir_, bases.back(), ".log");
    ASSERT_GE(bases.back(), rp);
    truncate_file(last, size_on_disk(last) / 2);
    append_to_file(last, bytes(77, std::byte{0x5A}));
    l = open_log(false, rp);
    ASSERT_TRUE(l);
    EXPECT_GE(l->log_end_offset(), rp);
    const auto after = read_all(*l);
    ASSERT_GE(after.size(), flushed.size());
    EXPECT_TRUE(std::equal(flushed.begin(), flushed.end(), after.begin()));
    EXPECT_GT(l->load_report().bytes_truncated, 0u);
    // Appends continue right after what survived.
    forget_from(l->log_end_offset());
    fill(*l, 2);
    EXPECT_EQ(read_all(*l), expected());
}

// ---- crash simulations --------------------------------------------------------------------

// A crash image: a log of two segments written and dropped without close, kept pristine in
// `image` while each case works on a copy in dir_.
class storage_log_crash : public storage_log {
protected:
    // Three segments (rolled by time) of 3, 3 and `batches_in_last_segment` 3-record batches.
    void make_image(int batches_in_last_segment) {
        config_.segment_ms = 1'000;
        config_.index_interval_bytes = 64;
        auto l = open_log();
        ASSERT_TRUE(l);
        fill(*l, 3, 3, 40);
        clock_.advance(1'000);
        fill(*l, 3, 3, 40);
        clock_.advance(1'000);
        fill(*l, batches_in_last_segment, 3, 40);
        ASSERT_EQ(l->segment_count(), 3u);
        last_base_ = l->segment_base_offsets().back();
        l.reset();
        copy_dir(dir_, image_);
        const auto batches = batch_positions(last_log());
        ASSERT_EQ(batches.size(), static_cast<size_t>(batches_in_last_segment));
        last_pos_ = batches.back().first;
        last_size_ = batches.back().second;
    }
    fs::path last_log() const { return segment_path(dir_, last_base_, ".log"); }
    void restore() { copy_dir(image_, dir_); }
    // The records without the last batch's three.
    std::vector<stored_record> without_last_batch() const {
        auto all = expected();
        all.resize(all.size() - 3);
        return all;
    }

    fs::path image_ = tmp_.path() / "image";
    int64_t last_base_ = 0;
    uint64_t last_pos_ = 0;
    uint64_t last_size_ = 0;
};

TEST_F(storage_log_crash, TornTailIsTruncatedAtEveryCutPosition) {
    make_image(3);
    ASSERT_FALSE(HasFailure());
    const auto survivors = without_last_batch();
    const int64_t last_batch_base = survivors.back().offset + 1;
    for (uint64_t cut = last_pos_; cut < last_pos_ + last_size_; ++cut) {
        SCOPED_TRACE("cut at byte " + std::to_string(cut));
        restore();
        truncate_file(last_log(), cut);
        auto l = open_log(false, 0);
        ASSERT_TRUE(l);
        EXPECT_EQ(l->log_end_offset(), last_batch_base);
        EXPECT_EQ(l->load_report().bytes_truncated, cut - last_pos_);
        EXPECT_EQ(size_on_disk(last_log()), last_pos_);
        ASSERT_EQ(read_all(*l), survivors);
        auto r = must_append(*l, make_batch(simple_records(2, kT0, "after")));
        EXPECT_EQ(r.base_offset, last_batch_base);
        auto rd = l->read(last_batch_base, kAll);
        ASSERT_TRUE(rd);
        EXPECT_EQ(decode_all(range_bytes(rd->range)).size(), 2u);
        if (HasFailure()) return;
    }
}

TEST_F(storage_log_crash, TornOnlyBatchLeavesAnEmptySegment) {
    make_image(1);
    ASSERT_FALSE(HasFailure());
    for (uint64_t cut = 0; cut < last_size_; cut += 7) {
        SCOPED_TRACE("cut at byte " + std::to_string(cut));
        restore();
        truncate_file(last_log(), cut);
        auto l = open_log(false, 0);
        ASSERT_TRUE(l);
        EXPECT_EQ(l->log_end_offset(), last_base_);
        EXPECT_EQ(l->segment_base_offsets().back(), last_base_);
        EXPECT_EQ(read_all(*l), without_last_batch());
        EXPECT_EQ(must_append(*l, make_batch(simple_records(1, kT0))).base_offset, last_base_);
        if (HasFailure()) return;
    }
}

TEST_F(storage_log_crash, FlippedBitInTheLastBatchDropsIt) {
    make_image(3);
    ASSERT_FALSE(HasFailure());
    for (uint64_t at = 0; at < last_size_; ++at) {
        if (at >= rb::kLeaderEpochPos && at < rb::kLeaderEpochPos + 4) continue;  // not covered
        SCOPED_TRACE("bit flipped in byte " + std::to_string(at) + " of the last batch");
        restore();
        flip_bit(last_log(), last_pos_ + at, static_cast<int>(at % 8));
        auto l = open_log(false, 0);
        ASSERT_TRUE(l);
        EXPECT_EQ(read_all(*l), without_last_batch());
        EXPECT_EQ(l->load_report().bytes_truncated, last_size_);
        EXPECT_EQ(must_append(*l, make_batch(simple_records(1, kT0))).base_offset,
                  without_last_batch().back().offset + 1);
        if (HasFailure()) return;
    }
}

TEST_F(storage_log_crash, GarbageAfterTheLastBatchIsCut) {
    make_image(2);
    ASSERT_FALSE(HasFailure());
    std::mt19937_64 rng(5);
    bytes random(300);
    for (auto& b : random) b = std::byte(rng() & 0xFF);
    bytes huge_header = make_batch(simple_records(1, kT0));
    wire::store_be<int64_t>(huge_header.data(), model_end());
    wire::store_be<int32_t>(huge_header.data() + rb::kBatchLengthPos, 1 << 30);
    bytes replayed = make_batch(simple_records(2, kT0));  // a whole batch at a stale offset
    wire::store_be<int64_t>(replayed.data(), 3);
    bytes bad_crc = make_batch(simple_records(2, kT0));  // the right offset, a wrong CRC
    wire::store_be<int64_t>(bad_crc.data(), model_end());
    bad_crc.back() ^= std::byte{1};
    const std::vector<std::pair<const char*, bytes>> cases = {
        {"random bytes", random},
        {"zeros", bytes(4096, std::byte{0})},
        {"a few bytes", bytes(5, std::byte{0x7F})},
        {"a header claiming 1 GiB", huge_header},
        {"a batch at a stale offset", replayed},
        {"a batch failing its CRC", bad_crc},
    };
    const uint64_t clean_size = last_pos_ + last_size_;
    for (const auto& [name, garbage] : cases) {
        SCOPED_TRACE(name);
        restore();
        append_to_file(last_log(), garbage);
        auto l = open_log(false, 0);
        ASSERT_TRUE(l);
        EXPECT_EQ(l->log_end_offset(), model_end());
        EXPECT_EQ(l->load_report().bytes_truncated, garbage.size());
        EXPECT_EQ(size_on_disk(last_log()), clean_size);
        EXPECT_EQ(read_all(*l), expected());
        EXPECT_EQ(must_append(*l, make_batch(simple_records(1, kT0))).base_offset, model_end());
    }
}

// A crash soon after a roll: the sealed segment was never flushed and lost its tail, while
// the next segment's file survived. The sealed segment is cut to its last whole batch, and the
// next one, which no longer continues the log, is moved aside (never deleted).
TEST_F(storage_log_crash, TornSealedSegmentEndsTheLogAndTheNextIsMovedAside) {
    make_image(2);
    ASSERT_FALSE(HasFailure());
    ASSERT_EQ(last_base_, 18);
    const auto middle = segment_path(dir_, 9, ".log");
    const auto middle_batches = batch_positions(middle);
    ASSERT_EQ(middle_batches.size(), 3u);
    const bytes last_segment = read_file(last_log());
    truncate_file(middle, middle_batches[2].first + 10);  // into its third batch (15..17)
    auto l = open_log(false, 0);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 9}));
    EXPECT_EQ(l->log_end_offset(), 15);
    EXPECT_EQ(l->load_report().bytes_truncated, 10u);
    EXPECT_EQ(l->load_report().moved_aside, (std::vector<std::string>{"00000000000000000018.log"}));
    EXPECT_EQ(read_file(dir_ / "00000000000000000018.log.corrupt"), last_segment);
    forget_from(15);
    EXPECT_EQ(read_all(*l), expected());
    fill(*l, 2, 3, 40);
    EXPECT_EQ(read_all(*l), expected());
}

// Index damage on a sealed segment, found at a clean (trusting) open.
class storage_log_index_damage : public storage_log {
protected:
    void SetUp() override {
        config_.segment_bytes = 1500;
        config_.index_interval_bytes = 100;
        auto l = open_log();
        ASSERT_TRUE(l);
        std::mt19937_64 rng(9);
        while (l->segment_count() < 3) {
            std::vector<record_spec> recs;
            // Rising with noise, so that the time index gets entries and records out of order.
            for (int i = 0; i < 3; ++i) {
                recs.push_back({kT0 + static_cast<int64_t>(model_.size() * 50 + rng() % 400), "k",
                                std::string(30, 'x'), {}});
            }
            append(*l, recs);
        }
        ASSERT_TRUE(l->close().ok());
        copy_dir(dir_, image_);
        sealed_ = l->segment_base_offsets()[1];
        ASSERT_GE(index_entries(segment_path(dir_, sealed_, ".index"), sealed_).size(), 3u);
        ASSERT_GE(time_index_entries(segment_path(dir_, sealed_, ".timeindex"), sealed_).size(), 3u);
    }

    // Damages with `damage`, reopens cleanly and checks that exactly one segment had its
    // indexes rebuilt, identical to the originals, and that reads and lookups are right.
    void expect_rebuilt(const char* what, const std::function<void()>& damage) {
        SCOPED_TRACE(what);
        copy_dir(image_, dir_);
        damage();
        auto l = open_log(true);
        ASSERT_TRUE(l);
        EXPECT_EQ(l->load_report().indexes_rebuilt, 1u);
        EXPECT_EQ(l->load_report().bytes_truncated, 0u);
        EXPECT_EQ(read_all(*l, 0, 1), expected());
        EXPECT_EQ(read_all(*l), expected());
        expect_timestamp_lookups(*l, expected());
        for (const char* ext : {".index", ".timeindex"}) {
            EXPECT_EQ(read_file(segment_path(dir_, sealed_, ext)),
                      read_file(segment_path(image_, sealed_, ext)))
                << "rebuilt " << ext << " differs from the one written at roll";
        }
        l.reset();
        l = open_log(true);
        ASSERT_TRUE(l);
        EXPECT_EQ(l->load_report().indexes_rebuilt, 0u) << "the rebuilt files are trusted next time";
    }

    fs::path index() const { return segment_path(dir_, sealed_, ".index"); }
    fs::path time_index() const { return segment_path(dir_, sealed_, ".timeindex"); }

    fs::path image_ = tmp_.path() / "image";
    int64_t sealed_ = 0;
};

TEST_F(storage_log_index_damage, DeletedIndexFilesAreRebuilt) {
    expect_rebuilt("no .index", [&] { fs::remove(index()); });
    expect_rebuilt("no .timeindex", [&] { fs::remove(time_index()); });
    expect_rebuilt("neither", [&] {
        fs::remove(index());
        fs::remove(time_index());
    });
}

TEST_F(storage_log_index_damage, CorruptOffsetIndexIsRebuilt) {
    expect_rebuilt("random bytes", [&] {
        std::mt19937_64 rng(1);
        bytes b(size_on_disk(index()));
        for (auto& x : b) x = std::byte(rng() & 0xFF);
        write_file(index(), b);
    });
    expect_rebuilt("truncated to an odd size", [&] { truncate_file(index(), size_on_disk(index()) - 3); });
    expect_rebuilt("entries out of order", [&] {
        bytes b = read_file(index());
        std::swap_ranges(b.begin(), b.begin() + 8, b.begin() + 8);
        write_file(index(), b);
    });
    expect_rebuilt("a position beyond the log", [&] {
        bytes b = read_file(index());
        wire::store_be<uint32_t>(b.data() + b.size() - 4, 1u << 30);
        write_file(index(), b);
    });
    expect_rebuilt("last entry pointing inside a batch", [&] {
        bytes b = read_file(index());
        wire::store_be<uint32_t>(b.data() + b.size() - 4, wire::load_be<uint32_t>(b.data() + b.size() - 4) + 1);
        write_file(index(), b);
    });
}

TEST_F(storage_log_index_damage, CorruptTimeIndexIsRebuilt) {
    expect_rebuilt("random bytes", [&] {
        std::mt19937_64 rng(2);
        bytes b(size_on_disk(time_index()));
        for (auto& x : b) x = std::byte(rng() & 0xFF);
        write_file(time_index(), b);
    });
    expect_rebuilt("truncated to an odd size", [&] {
        truncate_file(time_index(), size_on_disk(time_index()) - 5);
    });
    expect_rebuilt("entries out of order", [&] {
        bytes b = read_file(time_index());
        std::swap_ranges(b.begin(), b.begin() + 12, b.begin() + 12);
        write_file(time_index(), b);
    });
    expect_rebuilt("an offset beyond the segment", [&] {
        bytes b = read_file(time_index());
        wire::store_be<int32_t>(b.data() + b.size() - 4, 1 << 20);
        write_file(time_index(), b);
    });
}

// ---- the directory: misnamed segments, foreign files -------------------------------------

TEST_F(storage_log, MisnamedSegmentIsRenamedToItsFirstOffset) {
    struct rename_case {
        const char* name;
        int64_t from;
        int64_t to;
        bool log_only;
    };
    const std::vector<rename_case> cases = {
        {"middle segment renamed higher", 10, 13, false},
        {"middle segment renamed lower", 10, 5, false},
        {"last segment renamed far ahead", 20, 999, false},
        {"first segment renamed", 0, 7, false},
        {"only the .log renamed", 10, 13, true},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        SCOPED_TRACE(c.name);
        dir_ = tmp_.path() / ("case-" + std::to_string(i));
        restart_at(0);
        build_three_closed_segments();
        ASSERT_FALSE(HasFailure());
        for (const char* ext : {".log", ".index", ".timeindex"}) {
            if (c.log_only && std::string(ext) != ".log") continue;
            fs::rename(segment_path(dir_, c.from, ext), segment_path(dir_, c.to, ext));
        }
        auto l = open_log(true);
        ASSERT_TRUE(l);
        EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 10, 20}));
        EXPECT_TRUE(l->load_report().moved_aside.empty());
        EXPECT_EQ(l->load_report().indexes_rebuilt, c.log_only ? 1u : 0u);
        EXPECT_TRUE(fs::exists(segment_path(dir_, c.from, ".log")));
        EXPECT_FALSE(fs::exists(segment_path(dir_, c.to, ".log")));
        EXPECT_FALSE(fs::exists(segment_path(dir_, c.to, ".index")));
        EXPECT_EQ(read_all(*l), expected());
        EXPECT_EQ(must_append(*l, make_batch(simple_records(1, kT0))).base_offset, 30);
    }
}

TEST_F(storage_log, SegmentThatDoesNotFitIsMovedAsideAndNeverDeleted) {
    build_three_closed_segments();
    ASSERT_FALSE(HasFailure());
    // A copy of the first segment under a name past the end: its offsets are already taken.
    const bytes first = read_file(segment_path(dir_, 0, ".log"));
    write_file(segment_path(dir_, 500, ".log"), first);
    auto l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->load_report().moved_aside, (std::vector<std::string>{"00000000000000000500.log"}));
    EXPECT_EQ(read_file(dir_ / "00000000000000000500.log.corrupt"), first);
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 10, 20}));
    EXPECT_EQ(read_all(*l), expected());
    EXPECT_EQ(must_append(*l, make_batch(simple_records(1, kT0))).base_offset, 30);
    l.reset();
    l = open_log(false, 0);
    ASSERT_TRUE(l);
    EXPECT_TRUE(fs::exists(dir_ / "00000000000000000500.log.corrupt"));
    EXPECT_EQ(l->load_report().ignored_files,
              (std::vector<std::string>{"00000000000000000500.log.corrupt"}));
}

TEST_F(storage_log, SegmentOverlappingItsPredecessorIsMovedAsideWithWhatFollows) {
    build_three_closed_segments();
    ASSERT_FALSE(HasFailure());
    // Segment 10's bytes replaced by a copy of segment 0's: it claims offsets 0..9 again.
    const auto originals = snapshot(dir_);
    const bytes first = read_file(segment_path(dir_, 0, ".log"));
    write_file(segment_path(dir_, 10, ".log"), first);
    auto l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->load_report().moved_aside,
              (std::vector<std::string>{"00000000000000000010.log", "00000000000000000020.log"}));
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0}));
    EXPECT_EQ(read_all(*l), std::vector<stored_record>(model_.begin(), model_.begin() + 10));
    // Nothing was deleted: every original byte is still on disk under a *.corrupt name.
    EXPECT_EQ(read_file(dir_ / "00000000000000000010.log.corrupt"), first);
    EXPECT_EQ(read_file(dir_ / "00000000000000000020.log.corrupt"),
              originals.at("00000000000000000020.log"));
    EXPECT_EQ(read_file(dir_ / "00000000000000000020.index.corrupt"),
              originals.at("00000000000000000020.index"));
}

TEST_F(storage_log, ForeignFilesInTheLogDirectoryAreLeftAlone) {
    {
        auto l = open_log();
        ASSERT_TRUE(l);
        fill(*l, 2);
        ASSERT_TRUE(l->close().ok());
    }
    const bytes notes = {std::byte{'h'}, std::byte{'i'}};
    write_file(dir_ / "notes.txt", notes);
    write_file(dir_ / "00000000000000000000.log.bak", notes);
    write_file(dir_ / "12.log", notes);
    fs::create_directory(dir_ / "00000000000000000050.log");  // a directory, not a segment
    auto l = open_log(true);
    ASSERT_TRUE(l);
    auto ignored = l->load_report().ignored_files;
    std::sort(ignored.begin(), ignored.end());
    EXPECT_EQ(ignored, (std::vector<std::string>{"00000000000000000000.log.bak",
                                                 "00000000000000000050.log", "12.log",
                                                 "notes.txt"}));
    EXPECT_EQ(read_file(dir_ / "notes.txt"), notes);
    EXPECT_EQ(read_file(dir_ / "12.log"), notes);
    EXPECT_TRUE(fs::is_directory(dir_ / "00000000000000000050.log"));
    EXPECT_EQ(read_all(*l), expected());
    EXPECT_EQ(l->load_report().segments, 1u);
}

TEST_F(storage_log, OrphanIndexFilesAndInterruptedTemporaryFilesAreRemoved) {
    {
        auto l = open_log();
        ASSERT_TRUE(l);
        fill(*l, 2);
        ASSERT_TRUE(l->close().ok());
    }
    write_file(segment_path(dir_, 777, ".index"), bytes(16));
    write_file(segment_path(dir_, 777, ".timeindex"), bytes(24));
    write_file(dir_ / "recovery-point.tmp", bytes(3));
    auto l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_FALSE(fs::exists(segment_path(dir_, 777, ".index")));
    EXPECT_FALSE(fs::exists(segment_path(dir_, 777, ".timeindex")));
    EXPECT_FALSE(fs::exists(dir_ / "recovery-point.tmp"));
    EXPECT_TRUE(l->load_report().ignored_files.empty());
    EXPECT_EQ(read_all(*l), expected());
}

// ---- an I/O failure -------------------------------------------------------------------------

TEST_F(storage_log, FailedWriteTakesTheLogOfflineAndCutsThePartialBatch) {
    auto l = open_log();
    ASSERT_TRUE(l);
    fill(*l, 40, 5, 200);
    const auto log_file = segment_path(dir_, 0, ".log");
    const uint64_t size_before = size_on_disk(log_file);
    const int64_t end_before = l->log_end_offset();
    ASSERT_GT(size_before, 40'000u);
    bytes big = make_batch(simple_records(10, kT0, "big", 1000));
    std::optional<result<log::append_result>> r;
    {
        // Room for part of the batch only: the write fails half way with EFBIG.
        file_size_limit_guard limit(size_before + big.size() / 2);
        ASSERT_TRUE(limit.ok());
        r.emplace(l->append(big, 0));
    }
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->code(), errc::kafka_storage_error) << r->error().message;
    EXPECT_TRUE(l->offline());
    EXPECT_TRUE(health_->offline());
    EXPECT_EQ(size_on_disk(log_file), size_before) << "the partial batch is cut";
    EXPECT_EQ(l->log_end_offset(), end_before);
    // Everything after is refused, the process carries on.
    bytes small = make_batch(simple_records(1, kT0));
    EXPECT_EQ(l->append(small, 0).code(), errc::kafka_storage_error);
    EXPECT_EQ(l->read(0, kAll).code(), errc::kafka_storage_error);
    EXPECT_EQ(l->offset_for_timestamp(0).code(), errc::kafka_storage_error);
    EXPECT_EQ(l->truncate_to(1).code, errc::kafka_storage_error);
    EXPECT_EQ(l->flush().code, errc::kafka_storage_error);
    EXPECT_EQ(l->delete_retained_segments().code(), errc::kafka_storage_error);
    EXPECT_EQ(size_on_disk(log_file), size_before);
    l.reset();
    // A log opened on an offline directory is refused too.
    EXPECT_EQ(log::open(options()).code(), errc::kafka_storage_error);
    // After the "repair": a fresh directory health, an unclean open, nothing lost.
    health_ = std::make_shared<log_dir_health>(tmp_.path());
    l = open_log(false, 0);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->load_report().bytes_truncated, 0u);
    EXPECT_EQ(l->log_end_offset(), end_before);
    EXPECT_EQ(read_all(*l), expected());
    EXPECT_EQ(must_append(*l, big).base_offset, end_before);
}

// ---- the open-segment limit -----------------------------------------------------------------

TEST_F(storage_log, ReadsAcrossTenSealedSegmentsKeepAtMostTwoOpen) {
    open_segment_limiter limiter(2);  // outlives every log below
    limiter_ = &limiter;
    config_.segment_bytes = 700;
    config_.index_interval_bytes = 100;
    auto l = open_log();
    ASSERT_TRUE(l);
    while (l->segment_count() < 11) fill(*l, 1, 3, 40);
    EXPECT_LE(limiter.open_count(), 2u);
    auto check_everything = [&] {
        for (int round = 0; round < 2; ++round) {
            for (int64_t o = l->log_start_offset(); o < l->log_end_offset(); ++o) {
                auto r = l->read(o, 1);
                ASSERT_TRUE(r) << r.error().message;
                const auto recs = to_stored(decode_all(range_bytes(r->range)));
                ASSERT_FALSE(recs.empty());
                EXPECT_EQ(recs.front(), model_[static_cast<size_t>(recs.front().offset)]);
                ASSERT_LE(limiter.open_count(), 2u) << "after reading offset " << o;
            }
        }
        EXPECT_EQ(limiter.open_count(), 2u) << "the limiter is in use";
        // The active segment's .log plus at most two sealed ones are open.
        EXPECT_LE(open_log_descriptors(dir_), 3);
        expect_timestamp_lookups(*l, expected());
        EXPECT_LE(limiter.open_count(), 2u);
        EXPECT_EQ(read_all(*l, 0, 1), expected());
        EXPECT_LE(limiter.open_count(), 2u);
    };
    check_everything();
    ASSERT_TRUE(l->flush().ok());
    ASSERT_TRUE(l->close().ok());
    l.reset();
    EXPECT_EQ(limiter.open_count(), 0u) << "a destroyed log leaves nothing registered";
    l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_LE(limiter.open_count(), 2u);
    check_everything();
    // Truncating into a segment whose files were released reopens them.
    const int64_t cut = l->segment_base_offsets()[1] + 3;
    ASSERT_TRUE(l->truncate_to(cut).ok());
    forget_from(cut);
    EXPECT_EQ(read_all(*l), expected());
    EXPECT_LE(limiter.open_count(), 2u);
    fill(*l, 5, 3, 40);
    EXPECT_EQ(read_all(*l), expected());
}

// ---- found by these tests --------------------------------------------------------------------

// segment.ms counts from a segment's first batch however the segment was opened: a clean
// restart (indexes trusted, only the tail after the last index entry scanned) must not reset
// the segment's age to that of the batch at its last index entry.
TEST_F(storage_log, SegmentAgeSurvivesACleanRestart) {
    config_.segment_ms = 60'000;
    config_.index_interval_bytes = 64;
    {
        auto l = open_log();
        ASSERT_TRUE(l);
        for (int i = 0; i < 20; ++i) {
            clock_.set(kT0 + i * 1'000);
            append(*l, simple_records(2, clock_.now()));
        }
        ASSERT_EQ(l->segment_count(), 1u);
        ASSERT_TRUE(l->close().ok());
    }
    ASSERT_GE(index_entries(segment_path(dir_, 0, ".index"), 0).size(), 5u);
    const fs::path image = tmp_.path() / "image";
    copy_dir(dir_, image);
    for (bool clean : {true, false}) {
        SCOPED_TRACE(clean ? "clean restart" : "unclean restart");
        copy_dir(image, dir_);
        auto l = open_log(clean, 0);
        ASSERT_TRUE(l);
        clock_.set(kT0 + 59'999);
        must_append(*l, make_batch(simple_records(1, clock_.now())));
        EXPECT_EQ(l->segment_count(), 1u) << "rolled before segment.ms had passed";
        clock_.set(kT0 + 60'001);
        must_append(*l, make_batch(simple_records(1, clock_.now())));
        EXPECT_EQ(l->segment_count(), 2u) << "did not roll once segment.ms had passed";
    }
}

// A segment whose name sorts after its successor's, though its first offset fits before it,
// is put back in its place; the successor is not mistaken for a gap and moved aside.
TEST_F(storage_log, MisnamedSegmentSortedAfterItsSuccessorIsRenamedBack) {
    build_three_closed_segments();
    ASSERT_FALSE(HasFailure());
    for (const char* ext : {".log", ".index", ".timeindex"}) {
        fs::rename(segment_path(dir_, 10, ext), segment_path(dir_, 25, ext));
    }
    auto l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_TRUE(l->load_report().moved_aside.empty());
    EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 10, 20}));
    EXPECT_EQ(read_all(*l), expected());
    EXPECT_EQ(must_append(*l, make_batch(simple_records(1, kT0))).base_offset, 30);
}


// What was moved aside is never overwritten, not even by a later segment moved aside under the
// same name.
TEST_F(storage_log, SegmentMovedAsideTwiceUnderOneNameKeepsBothCopies) {
    build_three_closed_segments();
    ASSERT_FALSE(HasFailure());
    const bytes first = read_file(segment_path(dir_, 0, ".log"));
    const bytes second = read_file(segment_path(dir_, 10, ".log"));
    write_file(segment_path(dir_, 500, ".log"), first);  // offsets 0..9: taken
    {
        auto l = open_log(true);
        ASSERT_TRUE(l);
        ASSERT_EQ(l->load_report().moved_aside.size(), 1u);
        ASSERT_TRUE(l->close().ok());
    }
    write_file(segment_path(dir_, 500, ".log"), second);  // offsets 10..19: taken
    auto l = open_log(true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->load_report().moved_aside, (std::vector<std::string>{"00000000000000000500.log"}));
    std::vector<bytes> aside;
    for (const auto& name : list_dir(dir_)) {
        if (name.starts_with("00000000000000000500.log.corrupt")) aside.push_back(read_file(dir_ / name));
    }
    ASSERT_EQ(aside.size(), 2u);
    EXPECT_TRUE((aside[0] == first && aside[1] == second) || (aside[0] == second && aside[1] == first));
    EXPECT_EQ(read_all(*l), expected());
}

// baseOffset is not covered by the CRC. One flipped bit there, in a segment's first batch, is
// damage to that batch, not a sign that the file is misnamed: the segment keeps its name, its
// index (entries relative to the name) stays valid, and nothing is cut or moved aside. Before,
// the segment was renamed after the flipped offset, which invalidated its index; the rebuild
// then cut the segment after its first batch and every later segment was moved aside.
TEST_F(storage_log, FlippedBitInAFirstBaseOffsetIsNotTakenForAMisnamedSegment) {
    config_.index_interval_bytes = 100;  // an entry per batch: the damage is outside the tail
    for (int64_t segment : {0, 10}) {
        SCOPED_TRACE("segment " + std::to_string(segment));
        dir_ = tmp_.path() / ("case-" + std::to_string(segment));
        restart_at(0);
        build_three_closed_segments();
        ASSERT_FALSE(HasFailure());
        ASSERT_FALSE(index_entries(segment_path(dir_, segment, ".index"), segment).empty());
        flip_bit(segment_path(dir_, segment, ".log"), 7, 2);  // baseOffset + 4
        const auto damaged = snapshot(dir_);
        for (bool clean : {true, false}) {
            auto l = open_log(clean, 30);
            ASSERT_TRUE(l);
            EXPECT_EQ(l->segment_base_offsets(), (std::vector<int64_t>{0, 10, 20}));
            EXPECT_TRUE(l->load_report().moved_aside.empty());
            EXPECT_EQ(l->load_report().bytes_truncated, 0u);
            EXPECT_EQ(l->log_end_offset(), 30);
            EXPECT_EQ(snapshot(dir_), damaged) << "opening changed a file";
            EXPECT_EQ(read_all(*l, segment + 5), expected(segment + 5));
        }
    }
}

}  // namespace
}  // namespace gregor::storage
