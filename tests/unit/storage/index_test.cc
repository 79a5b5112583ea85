// offset_index and time_index: the exact .index/.timeindex bytes, lookup and truncation
// semantics, and decode's refusal of files a crash or a bug could leave behind.
#include <cstdint>
#include <initializer_list>
#include <vector>

#include <gtest/gtest.h>

#include "broker/storage/offset_index.h"
#include "broker/storage/time_index.h"

namespace gregor::storage {
namespace {

using bytes = std::vector<std::byte>;

bytes raw(std::initializer_list<int> v) {
    bytes out;
    for (int b : v) out.push_back(std::byte(b));
    return out;
}

// Big-endian by shifts, so expectations do not share code with the encoder.
void put_be(bytes& out, uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out.push_back(std::byte((v >> (8 * i)) & 0xFF));
}

bytes offset_entries(std::initializer_list<std::pair<int32_t, uint32_t>> rel_pos) {
    bytes out;
    for (auto [rel, pos] : rel_pos) {
        put_be(out, static_cast<uint32_t>(rel), 4);
        put_be(out, pos, 4);
    }
    return out;
}

bytes time_entries(std::initializer_list<std::pair<int64_t, int32_t>> ts_rel) {
    bytes out;
    for (auto [ts, rel] : ts_rel) {
        put_be(out, static_cast<uint64_t>(ts), 8);
        put_be(out, static_cast<uint32_t>(rel), 4);
    }
    return out;
}

constexpr uint64_t kAnyLogSize = UINT64_MAX;
constexpr int64_t kAnyNextOffset = INT64_MAX;

// ---- offset_index ----------------------------------------------------------------------

offset_index sample_offset_index() {
    offset_index idx(1000);
    idx.append(1000, 0);
    idx.append(1010, 4100);
    idx.append(1025, 8300);
    return idx;
}

TEST(offset_index, encodes_relative_offsets_and_positions_big_endian) {
    const bytes enc = sample_offset_index().encode();
    EXPECT_EQ(enc, raw({0, 0, 0, 0, 0, 0, 0, 0,           // +0 at 0
                        0, 0, 0, 10, 0, 0, 0x10, 0x04,    // +10 at 4100
                        0, 0, 0, 25, 0, 0, 0x20, 0x6C})); // +25 at 8300
    EXPECT_EQ(enc.size(), 3 * offset_index::kEntrySize);
}

TEST(offset_index, decode_round_trips_encode) {
    const offset_index idx = sample_offset_index();
    auto back = offset_index::decode(1000, idx.encode(), 9000);
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_EQ(back->entries().size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(back->entries()[i].offset, idx.entries()[i].offset);
        EXPECT_EQ(back->entries()[i].position, idx.entries()[i].position);
    }
    EXPECT_EQ(back->base_offset(), 1000);
}

TEST(offset_index, empty_file_decodes_to_an_empty_index) {
    auto back = offset_index::decode(5, {}, 0);
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(back->entries().empty());
    EXPECT_EQ(back->lookup(100).offset, 5);
    EXPECT_EQ(back->lookup(100).position, 0u);
}

TEST(offset_index, lookup_returns_the_last_entry_at_or_below_the_target) {
    const offset_index idx = sample_offset_index();
    EXPECT_EQ(idx.lookup(999).offset, 1000);  // below every entry: start of segment
    EXPECT_EQ(idx.lookup(999).position, 0u);
    EXPECT_EQ(idx.lookup(1000).position, 0u);
    EXPECT_EQ(idx.lookup(1009).position, 0u);
    EXPECT_EQ(idx.lookup(1010).position, 4100u);
    EXPECT_EQ(idx.lookup(1024).offset, 1010);
    EXPECT_EQ(idx.lookup(1025).position, 8300u);
    EXPECT_EQ(idx.lookup(INT64_MAX).offset, 1025);
}

TEST(offset_index, lookup_below_the_first_entry_gives_the_segment_start) {
    offset_index idx(1000);
    idx.append(1010, 4100);
    const auto e = idx.lookup(1005);
    EXPECT_EQ(e.offset, 1000);
    EXPECT_EQ(e.position, 0u);
}

TEST(offset_index, truncate_to_drops_entries_at_and_above_the_offset) {
    offset_index idx = sample_offset_index();
    idx.truncate_to(1026);
    EXPECT_EQ(idx.entries().size(), 3u);
    idx.truncate_to(1025);
    ASSERT_EQ(idx.entries().size(), 2u);
    EXPECT_EQ(idx.entries().back().offset, 1010);
    idx.truncate_to(1011);
    EXPECT_EQ(idx.entries().size(), 2u);
    idx.truncate_to(1001);
    EXPECT_EQ(idx.entries().size(), 1u);
    idx.truncate_to(0);
    EXPECT_TRUE(idx.entries().empty());
    // Appends continue after a truncation as if the dropped entries were never there.
    idx.append(1003, 50);
    EXPECT_EQ(idx.lookup(1004).position, 50u);
}

TEST(offset_index, decode_rejects_a_partial_entry) {
    bytes b = sample_offset_index().encode();
    for (size_t cut = 1; cut < offset_index::kEntrySize; ++cut) {
        bytes partial(b.begin(), b.end() - static_cast<ptrdiff_t>(cut));
        auto r = offset_index::decode(1000, partial, kAnyLogSize);
        EXPECT_EQ(r.code(), errc::corrupt_message) << "cut " << cut;
    }
}

TEST(offset_index, decode_rejects_entries_that_do_not_increase) {
    // offsets decrease
    EXPECT_EQ(offset_index::decode(0, offset_entries({{5, 10}, {4, 20}}), kAnyLogSize).code(),
              errc::corrupt_message);
    // offsets repeat
    EXPECT_EQ(offset_index::decode(0, offset_entries({{5, 10}, {5, 20}}), kAnyLogSize).code(),
              errc::corrupt_message);
    // positions decrease
    EXPECT_EQ(offset_index::decode(0, offset_entries({{5, 20}, {6, 10}}), kAnyLogSize).code(),
              errc::corrupt_message);
    // positions repeat
    EXPECT_EQ(offset_index::decode(0, offset_entries({{5, 20}, {6, 20}}), kAnyLogSize).code(),
              errc::corrupt_message);
    // a zero-filled tail, as a preallocated file left by a crash would have
    EXPECT_EQ(offset_index::decode(0, offset_entries({{5, 20}, {0, 0}}), kAnyLogSize).code(),
              errc::corrupt_message);
    // negative relative offset
    EXPECT_EQ(offset_index::decode(100, offset_entries({{-1, 0}}), kAnyLogSize).code(),
              errc::corrupt_message);
}

TEST(offset_index, decode_rejects_positions_at_or_beyond_the_log_size) {
    const bytes b = offset_entries({{0, 0}, {3, 500}});
    EXPECT_TRUE(offset_index::decode(0, b, 501).ok());
    EXPECT_EQ(offset_index::decode(0, b, 500).code(), errc::corrupt_message);
    EXPECT_EQ(offset_index::decode(0, b, 10).code(), errc::corrupt_message);
    // An empty log has room for no entry at all.
    EXPECT_EQ(offset_index::decode(0, offset_entries({{0, 0}}), 0).code(), errc::corrupt_message);
}

TEST(offset_index, append_out_of_order_violates_the_invariant) {
    EXPECT_DEATH(
        {
            offset_index idx(0);
            idx.append(10, 100);
            idx.append(10, 200);
        },
        "offset index entries strictly increase");
}

// ---- time_index ------------------------------------------------------------------------

time_index sample_time_index() {
    time_index idx(1000);
    idx.maybe_append(100, 1000);
    idx.maybe_append(250, 1010);
    idx.maybe_append(900, 1025);
    return idx;
}

TEST(time_index, encodes_timestamp_then_relative_offset_big_endian) {
    time_index idx(1000);
    idx.maybe_append(0x0102030405060708, 1010);
    EXPECT_EQ(idx.encode(), raw({1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 10}));
    EXPECT_EQ(sample_time_index().encode().size(), 3 * time_index::kEntrySize);
}

TEST(time_index, decode_round_trips_encode) {
    const time_index idx = sample_time_index();
    auto back = time_index::decode(1000, idx.encode(), 1026);
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_EQ(back->entries().size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(back->entries()[i].timestamp, idx.entries()[i].timestamp);
        EXPECT_EQ(back->entries()[i].offset, idx.entries()[i].offset);
    }
    EXPECT_EQ(back->last()->timestamp, 900);
}

TEST(time_index, maybe_append_keeps_only_new_maximum_timestamps) {
    time_index idx(0);
    EXPECT_FALSE(idx.last().has_value());
    idx.maybe_append(100, 0);
    idx.maybe_append(100, 5);  // not above the last timestamp
    idx.maybe_append(50, 6);   // a late record: the max timestamp has not moved
    idx.maybe_append(200, 0);  // timestamp above, offset not
    EXPECT_EQ(idx.entries().size(), 1u);
    idx.maybe_append(101, 7);
    ASSERT_EQ(idx.entries().size(), 2u);
    EXPECT_EQ(idx.last()->timestamp, 101);
    EXPECT_EQ(idx.last()->offset, 7);
}

TEST(time_index, lookup_starts_at_the_entry_with_the_largest_timestamp_at_or_below) {
    const time_index idx = sample_time_index();
    EXPECT_EQ(idx.lookup(0), 1000);  // before every entry: the segment start
    EXPECT_EQ(idx.lookup(99), 1000);
    EXPECT_EQ(idx.lookup(100), 1000);
    EXPECT_EQ(idx.lookup(249), 1000);
    EXPECT_EQ(idx.lookup(250), 1010);
    EXPECT_EQ(idx.lookup(899), 1010);
    EXPECT_EQ(idx.lookup(900), 1025);
    EXPECT_EQ(idx.lookup(INT64_MAX), 1025);
}

TEST(time_index, truncate_to_drops_entries_at_and_above_the_offset) {
    time_index idx = sample_time_index();
    idx.truncate_to(1026);
    EXPECT_EQ(idx.entries().size(), 3u);
    idx.truncate_to(1025);
    ASSERT_EQ(idx.entries().size(), 2u);
    EXPECT_EQ(idx.last()->offset, 1010);
    idx.truncate_to(1000);
    EXPECT_TRUE(idx.entries().empty());
    EXPECT_EQ(idx.lookup(500), 1000);
}

TEST(time_index, decode_rejects_a_partial_entry) {
    const bytes b = sample_time_index().encode();
    for (size_t cut = 1; cut < time_index::kEntrySize; ++cut) {
        bytes partial(b.begin(), b.end() - static_cast<ptrdiff_t>(cut));
        EXPECT_EQ(time_index::decode(1000, partial, kAnyNextOffset).code(), errc::corrupt_message)
            << "cut " << cut;
    }
}

TEST(time_index, decode_rejects_entries_that_do_not_increase) {
    EXPECT_EQ(time_index::decode(0, time_entries({{200, 1}, {100, 2}}), kAnyNextOffset).code(),
              errc::corrupt_message);
    EXPECT_EQ(time_index::decode(0, time_entries({{200, 1}, {200, 2}}), kAnyNextOffset).code(),
              errc::corrupt_message);
    EXPECT_EQ(time_index::decode(0, time_entries({{100, 2}, {200, 1}}), kAnyNextOffset).code(),
              errc::corrupt_message);
    EXPECT_EQ(time_index::decode(0, time_entries({{100, 2}, {200, 2}}), kAnyNextOffset).code(),
              errc::corrupt_message);
    EXPECT_EQ(time_index::decode(50, time_entries({{100, -1}}), kAnyNextOffset).code(),
              errc::corrupt_message);
}

TEST(time_index, decode_rejects_offsets_at_or_beyond_the_next_offset) {
    const bytes b = time_entries({{100, 0}, {200, 9}});
    EXPECT_TRUE(time_index::decode(1000, b, 1010).ok());
    EXPECT_EQ(time_index::decode(1000, b, 1009).code(), errc::corrupt_message);
    EXPECT_EQ(time_index::decode(1000, b, 1000).code(), errc::corrupt_message);
}

}  // namespace
}  // namespace gregor::storage
