// 10,000 random operations on a log checked against an in-memory model: appends of random
// batches, reads at random offsets with random max_bytes and upper bounds (the exact range is
// predicted), timestamp lookups, truncations, retention by time and size, flushes, clean
// reopens and crash reopens. Small segments and a small index interval make many segments and
// index entries. The seed is fixed (printed on failure); GREGOR_TEST_SEED=<n> replays another.
// It runs in /dev/shm when there is one (see memory_temp_base()).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/storage/log.h"
#include "common/record_batch.h"
#include "tests/unit/storage/log_test_support.h"

namespace gregor::storage {
namespace {

using namespace gregor::storage::test;

constexpr uint64_t kDefaultSeed = 20240611;
constexpr int kOperations = 10'000;

uint64_t test_seed() {
    if (const char* s = std::getenv("GREGOR_TEST_SEED"); s && *s) return std::strtoull(s, nullptr, 0);
    return kDefaultSeed;
}

// What the log should hold: batches and records from start to end, dense.
struct log_model {
    struct batch {
        int64_t base;
        int64_t last;
        uint32_t size;
        int32_t epoch;
        int64_t max_timestamp;
    };
    int64_t start = 0;
    int64_t end = 0;
    std::deque<batch> batches;
    std::deque<stored_record> records;  // records[i].offset == start + i

    // Index of the batch holding `offset`. REQUIRES: start <= offset < end.
    size_t batch_of(int64_t offset) const {
        auto it = std::upper_bound(batches.begin(), batches.end(), offset,
                                   [](int64_t o, const batch& b) { return o < b.base; });
        return static_cast<size_t>(it - batches.begin()) - 1;
    }
    void truncate_to(int64_t offset) {
        if (offset >= end) return;
        if (offset <= start) {
            restart_at(offset);
            return;
        }
        const int64_t cut = batches[batch_of(offset)].base;
        while (!batches.empty() && batches.back().base >= cut) batches.pop_back();
        while (!records.empty() && records.back().offset >= cut) records.pop_back();
        end = cut;
    }
    void restart_at(int64_t offset) {
        batches.clear();
        records.clear();
        start = end = offset;
    }
    void drop_before(int64_t offset) {
        while (!batches.empty() && batches.front().base < offset) batches.pop_front();
        while (!records.empty() && records.front().offset < offset) records.pop_front();
        start = offset;
    }
    uint64_t size_bytes() const {
        uint64_t n = 0;
        for (const auto& b : batches) n += b.size;
        return n;
    }
};

class storage_log_property : public ::testing::Test {
protected:
    storage_log_property() : seed_(test_seed()), rng_(seed_) {
        config_.segment_bytes = 4096;
        config_.index_interval_bytes = 256;
        config_.segment_ms = 10'000;
        config_.retention_ms = 60'000;
        config_.retention_bytes = 48 * 1024;
    }

    uint64_t pick(uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_); }
    int64_t pick_offset(int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
    }

    log_options options(bool clean, int64_t recovery_point) {
        log_options o;
        o.dir = dir_;
        o.config = config_;
        o.clean_shutdown = clean;
        o.recovery_point = recovery_point;
        o.clock = clock_.fn();
        return o;
    }

    void check_bounds() {
        ASSERT_EQ(log_->log_start_offset(), m_.start);
        ASSERT_EQ(log_->log_end_offset(), m_.end);
        ASSERT_EQ(log_->size_bytes(), m_.size_bytes());
        const auto bases = log_->segment_base_offsets();
        ASSERT_FALSE(bases.empty());
        EXPECT_EQ(bases.front(), m_.start);
        for (int64_t b : bases) {
            // Every segment starts at a batch, or is empty at the log end.
            const bool at_batch = b >= m_.start && b < m_.end && m_.batches[m_.batch_of(b)].base == b;
            EXPECT_TRUE(at_batch || b == m_.end) << "segment base " << b;
        }
    }

    void do_append() {
        const int nbatches = static_cast<int>(pick(1, 5));
        const int32_t epoch = static_cast<int32_t>(pick(0, 3));
        std::vector<bytes> parts;
        std::vector<std::vector<record_spec>> specs;
        for (int i = 0; i < nbatches; ++i) {
            specs.push_back(random_records(rng_, static_cast<int>(pick(1, 20)), clock_.now()));
            parts.push_back(make_batch(specs.back()));
        }
        bytes request = concat(parts);
        auto r = log_->append(request, epoch);
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_EQ(r->base_offset, m_.end);
        int64_t next = m_.end;
        for (size_t i = 0; i < parts.size(); ++i) {
            int64_t max_ts = INT64_MIN;
            for (const auto& rec : specs[i]) max_ts = std::max(max_ts, rec.timestamp);
            const int64_t last = next + static_cast<int64_t>(specs[i].size()) - 1;
            m_.batches.push_back({next, last, static_cast<uint32_t>(parts[i].size()), epoch, max_ts});
            for (const auto& rec : specs[i]) m_.records.push_back({next++, rec});
        }
        ASSERT_EQ(r->last_offset, next - 1);
        m_.end = next;
    }

    void do_read() {
        const int64_t offset = pick_offset(std::max<int64_t>(0, m_.start - 3), m_.end + 3);
        size_t max_bytes;
        switch (pick(0, 3)) {
            case 0: max_bytes = pick(0, 1); break;
            case 1: max_bytes = pick(0, 2000); break;
            case 2: max_bytes = pick(0, 20000); break;
            default: max_bytes = 1 << 20; break;
        }
        const int64_t upper = pick(0, 3) == 0 ? pick_offset(m_.start, m_.end + 1) : INT64_MAX;
        auto r = log_->read(offset, max_bytes, upper);
        if (offset < m_.start || offset > m_.end) {
            ASSERT_EQ(r.code(), errc::offset_out_of_range) << "offset " << offset;
            return;
        }
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->log_start_offset, m_.start);
        EXPECT_EQ(r->log_end_offset, m_.end);
        if (offset == m_.end) {
            ASSERT_EQ(r->range.size, 0u);
            return;
        }
        // The predicted range: whole batches from the one holding `offset`, within its
        // segment, before the upper bound, within max_bytes but at least one.
        const auto bases = log_->segment_base_offsets();
        auto next_seg = std::upper_bound(bases.begin(), bases.end(), offset);
        const int64_t segment_end = next_seg == bases.end() ? INT64_MAX : *next_seg;
        const size_t first = m_.batch_of(offset);
        uint64_t size = 0;
        size_t count = 0;
        for (size_t k = first; k < m_.batches.size(); ++k) {
            const auto& b = m_.batches[k];
            if (b.base >= segment_end || b.last >= upper) break;
            if (size > 0 && size + b.size > max_bytes) break;
            size += b.size;
            ++count;
        }
        ASSERT_EQ(r->range.size, size) << "read(" << offset << ", " << max_bytes << ", " << upper << ")";
        if (count == 0) return;
        EXPECT_EQ(r->range.first_offset, m_.batches[first].base);
        const bytes data = range_bytes(r->range);
        const auto stored = split_batches(data);
        ASSERT_EQ(stored.size(), count);
        for (size_t k = 0; k < count; ++k) {
            const auto& want = m_.batches[first + k];
            EXPECT_EQ(stored[k].base_offset, want.base);
            EXPECT_EQ(stored[k].last_offset, want.last);
            EXPECT_EQ(stored[k].leader_epoch, want.epoch);
            EXPECT_TRUE(stored[k].crc_valid);
        }
        for (const auto& rec : to_stored(decode_all(data))) {
            ASSERT_EQ(rec, m_.records[static_cast<size_t>(rec.offset - m_.start)]);
        }
    }

    void do_offset_for_timestamp() {
        const int64_t target = clock_.now() + pick_offset(-70'000, 1'500);
        auto r = log_->offset_for_timestamp(target);
        ASSERT_TRUE(r) << r.error().message;
        std::optional<timestamp_offset> want;
        for (const auto& rec : m_.records) {
            if (rec.rec.timestamp >= target) {
                want = timestamp_offset{rec.rec.timestamp, rec.offset};
                break;
            }
        }
        ASSERT_EQ(r->has_value(), want.has_value()) << "target " << target;
        if (want) {
            EXPECT_EQ((*r)->offset, want->offset) << "target " << target;
            EXPECT_EQ((*r)->timestamp, want->timestamp) << "target " << target;
        }
    }

    void do_truncate() {
        const int64_t offset = pick_offset(std::max<int64_t>(0, m_.start - 3), m_.end + 3);
        ASSERT_TRUE(log_->truncate_to(offset).ok());
        m_.truncate_to(offset);
    }

    void do_truncate_fully() {
        const int64_t offset = m_.end + pick_offset(0, 100);
        ASSERT_TRUE(log_->truncate_fully_and_start_at(offset).ok());
        m_.restart_at(offset);
    }

    void do_retention() {
        // Predict with the rules: sealed segments whose newest record is older than
        // retention.ms go first, then the oldest while the rest still holds retention.bytes.
        const auto bases = log_->segment_base_offsets();
        std::vector<uint64_t> sizes(bases.size(), 0);
        std::vector<int64_t> max_ts(bases.size(), -1);
        for (const auto& b : m_.batches) {
            const size_t s = static_cast<size_t>(std::upper_bound(bases.begin(), bases.end(), b.base) - bases.begin()) - 1;
            sizes[s] += b.size;
            max_ts[s] = std::max(max_ts[s], b.max_timestamp);
        }
        const size_t sealed = bases.size() - 1;
        size_t n = 0;
        while (n < sealed && max_ts[n] < clock_.now() - config_.retention_ms) ++n;
        uint64_t total = 0;
        for (size_t i = n; i < sizes.size(); ++i) total += sizes[i];
        while (n < sealed && total - sizes[n] >= static_cast<uint64_t>(config_.retention_bytes)) {
            total -= sizes[n];
            ++n;
        }
        auto r = log_->delete_retained_segments();
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_EQ(*r, n);
        if (n > 0) m_.drop_before(bases[n]);
    }

    void do_flush() {
        ASSERT_TRUE(log_->flush().ok());
        EXPECT_EQ(log_->recovery_point(), m_.end);
    }

    void do_clean_reopen() {
        ASSERT_TRUE(log_->close().ok());
        log_.reset();
        log_ = must_open(options(true, 0));
        ASSERT_TRUE(log_);
        EXPECT_EQ(log_->load_report().segments_recovered, 0u);
        EXPECT_EQ(log_->load_report().indexes_rebuilt, 0u);
    }

    void do_crash_reopen() {
        if (pick(0, 1) == 0) {
            ASSERT_TRUE(log_->flush().ok());
        }
        const int64_t rp = log_->recovery_point();
        log_.reset();  // no close
        log_ = must_open(options(false, rp));
        ASSERT_TRUE(log_);
        EXPECT_EQ(log_->load_report().bytes_truncated, 0u);
        EXPECT_TRUE(log_->load_report().moved_aside.empty());
    }

    void check_everything() {
        std::vector<stored_record> want(m_.records.begin(), m_.records.end());
        ASSERT_EQ(read_all(*log_, m_.start, pick(1, 10'000)), want);
    }

    const uint64_t seed_;
    std::mt19937_64 rng_;
    // Thousands of flushes and reopens: on tmpfs the run takes seconds even when the disk is
    // busy. Durability itself is tested on disk in log_test.cc (GREGOR_TEST_ON_DISK=1 runs
    // this one on disk too).
    temp_dir tmp_{memory_temp_base()};
    fs::path dir_ = tmp_.path() / "prop-0";
    fake_clock clock_;
    log_config config_;
    std::unique_ptr<log> log_;
    log_model m_;
};


TEST_F(storage_log_property, RandomOperationsMatchAnInMemoryModel) {
    SCOPED_TRACE("seed " + std::to_string(seed_) + " (replay with GREGOR_TEST_SEED=" +
                 std::to_string(seed_) + ")");
    RecordProperty("seed", std::to_string(seed_));
    log_ = must_open(options(false, 0));
    ASSERT_TRUE(log_);
    std::map<std::string, int> counts;
    for (int i = 0; i < kOperations && !HasFailure(); ++i) {
        clock_.advance(static_cast<int64_t>(pick(0, 50)));
        const uint64_t roll = pick(0, 999);
        const char* op = roll < 400   ? "append"
                         : roll < 740 ? "read"
                         : roll < 800 ? "offset_for_timestamp"
                         : roll < 845 ? "truncate_to"
                         : roll < 850 ? "truncate_fully_and_start_at"
                         : roll < 885 ? "flush"
                         : roll < 925 ? "retention"
                         : roll < 945 ? "close and clean reopen"
                         : roll < 965 ? "crash and unclean reopen"
                                      : "read everything";
        SCOPED_TRACE("operation " + std::to_string(i) + ": " + op);
        ++counts[op];
        const std::string name = op;
        if (name == "append") do_append();
        else if (name == "read") do_read();
        else if (name == "offset_for_timestamp") do_offset_for_timestamp();
        else if (name == "truncate_to") do_truncate();
        else if (name == "truncate_fully_and_start_at") do_truncate_fully();
        else if (name == "flush") do_flush();
        else if (name == "retention") do_retention();
        else if (name == "close and clean reopen") do_clean_reopen();
        else if (name == "crash and unclean reopen") do_crash_reopen();
        else check_everything();
        if (!HasFailure()) check_bounds();
    }
    if (HasFailure()) return;
    // The whole log once more after a clean reopen, and after a crash with no recovery point.
    check_everything();
    do_clean_reopen();
    check_everything();
    const int64_t end = log_->log_end_offset();
    log_.reset();
    log_ = must_open(options(false, 0));
    ASSERT_TRUE(log_);
    EXPECT_EQ(log_->log_end_offset(), end);
    EXPECT_EQ(log_->load_report().segments_recovered, log_->segment_count());
    check_everything();
    std::ostringstream summary;
    for (const auto& [op, n] : counts) summary << op << "=" << n << " ";
    RecordProperty("operations", summary.str());
    std::cout << "seed " << seed_ << ": " << summary.str() << "; " << log_->segment_count()
              << " segments at the end\n";
}

}  // namespace
}  // namespace gregor::storage
