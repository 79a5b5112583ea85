// The RecordBatch v2 codec against Kafka's format: a batch written out byte by byte from the
// protocol guide's layout (not through the codec) must equal batch_builder's output, and every
// check in validate() and next_frame() is hit on purpose with the one defect it exists for.
#include "common/record_batch.h"

#include <climits>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "common/wire.h"

namespace gregor {
namespace {

namespace rb = record_batch;
using bytes = std::vector<std::byte>;

// Appends big-endian integers with shifts so the expected bytes do not depend on wire.h.
struct hand_bytes {
    bytes b;

    hand_bytes& raw(std::initializer_list<int> v) {
        for (int x : v) b.push_back(std::byte(x));
        return *this;
    }
    hand_bytes& str(std::string_view s) {
        for (char c : s) b.push_back(std::byte(static_cast<unsigned char>(c)));
        return *this;
    }
    hand_bytes& be(uint64_t v, int width) {
        for (int i = width - 1; i >= 0; --i) b.push_back(std::byte((v >> (8 * i)) & 0xFF));
        return *this;
    }
    hand_bytes& append(const bytes& more) {
        b.insert(b.end(), more.begin(), more.end());
        return *this;
    }
};

constexpr int64_t kT0 = 1700000000000;

// Four records, each varint written out by hand (zig-zag, then 7 bits a byte):
//   0: ts kT0,          key "key", value "hello", no headers
//   1: ts kT0 + 5,      null key, value "v", headers a=1, b=null
//   2: ts kT0 - 2,      empty key, null value (negative timestamp delta)
//   3: ts kT0 + 10^6,   null key, 200-byte value (multi-byte varints for delta, length, size)
bytes hand_built_records() {
    hand_bytes r;
    // record 0: body of 14 bytes -> length varint zigzag(14) = 28 = 0x1C
    r.raw({0x1C, 0x00 /*attributes*/, 0x00 /*timestampDelta 0*/, 0x00 /*offsetDelta 0*/,
           0x06 /*keyLength 3*/})
        .str("key")
        .raw({0x0A /*valueLength 5*/})
        .str("hello")
        .raw({0x00 /*headers 0*/});
    // record 1: 14 bytes
    r.raw({0x1C, 0x00, 0x0A /*timestampDelta 5*/, 0x02 /*offsetDelta 1*/, 0x01 /*key null*/,
           0x02 /*valueLength 1*/})
        .str("v")
        .raw({0x04 /*headers 2*/, 0x02})
        .str("a")
        .raw({0x02})
        .str("1")
        .raw({0x02})
        .str("b")
        .raw({0x01 /*header value null*/});
    // record 2: 6 bytes -> 0x0C
    r.raw({0x0C, 0x00, 0x03 /*timestampDelta -2*/, 0x04 /*offsetDelta 2*/, 0x00 /*key ""*/,
           0x01 /*value null*/, 0x00});
    // record 3: 1 + 3 + 1 + 1 + 2 + 200 + 1 = 209 bytes -> zigzag 418 = 0xA2 0x03
    r.raw({0xA2, 0x03, 0x00, 0x80, 0x89, 0x7A /*timestampDelta 1000000*/, 0x06 /*offsetDelta 3*/,
           0x01 /*key null*/, 0x90, 0x03 /*valueLength 200*/})
        .str(std::string(200, 'x'))
        .raw({0x00});
    return r.b;
}

// A v2 batch header, field by field as the protocol guide lists them, around `records`,
// with its CRC32C computed over attributes..end.
bytes hand_built_batch(const bytes& records, int32_t count, int32_t last_offset_delta,
                       int16_t attributes = 0, int64_t base_ts = kT0,
                       int64_t max_ts = kT0 + 1000000) {
    hand_bytes h;
    h.be(0, 8)                                  // baseOffset
        .be(49 + records.size(), 4)             // batchLength: bytes after this field
        .be(5, 4)                               // partitionLeaderEpoch
        .raw({2})                               // magic
        .be(0, 4)                               // crc, filled below
        .be(static_cast<uint16_t>(attributes), 2)
        .be(static_cast<uint32_t>(last_offset_delta), 4)
        .be(static_cast<uint64_t>(base_ts), 8)  // baseTimestamp (firstTimestamp)
        .be(static_cast<uint64_t>(max_ts), 8)   // maxTimestamp
        .be(7, 8)                               // producerId
        .be(1, 2)                               // producerEpoch
        .be(10, 4)                              // baseSequence
        .be(static_cast<uint32_t>(count), 4)    // records count
        .append(records);
    const uint32_t crc = crc32c::value(std::span<const std::byte>(h.b).subspan(21));
    for (int i = 0; i < 4; ++i) h.b[17 + i] = std::byte((crc >> (8 * (3 - i))) & 0xFF);
    return h.b;
}

bytes builder_batch() {
    rb::batch_builder bld({.producer_id = 7, .producer_epoch = 1, .base_sequence = 10,
                           .leader_epoch = 5});
    bld.add(kT0, "key", "hello");
    bld.add(kT0 + 5, std::nullopt, "v", {{"a", "1"}, {"b", std::nullopt}});
    bld.add(kT0 - 2, "", std::nullopt);
    const std::string big(200, 'x');
    bld.add(kT0 + 1000000, std::nullopt, big);
    return bld.build();
}

// Recomputes the CRC after a test changed a covered field, so that validate() gets past the
// CRC check to the check the test is aimed at.
void reseal(bytes& b) {
    wire::store_be<uint32_t>(b.data() + rb::kCrcPos,
                             crc32c::value(std::span<const std::byte>(b).subspan(rb::kAttributesPos)));
}

template <typename T>
void poke(bytes& b, size_t pos, T v) {
    wire::store_be<T>(b.data() + pos, v);
}

constexpr size_t kNoLimit = SIZE_MAX;

// ---- layout ----------------------------------------------------------------------------

TEST(common_record_batch, header_positions_match_the_protocol_guide) {
    EXPECT_EQ(rb::kBatchLengthPos, 8u);
    EXPECT_EQ(rb::kLeaderEpochPos, 12u);
    EXPECT_EQ(rb::kMagicPos, 16u);
    EXPECT_EQ(rb::kCrcPos, 17u);
    EXPECT_EQ(rb::kAttributesPos, 21u);
    EXPECT_EQ(rb::kLastOffsetDeltaPos, 23u);
    EXPECT_EQ(rb::kBaseTimestampPos, 27u);
    EXPECT_EQ(rb::kMaxTimestampPos, 35u);
    EXPECT_EQ(rb::kProducerIdPos, 43u);
    EXPECT_EQ(rb::kProducerEpochPos, 51u);
    EXPECT_EQ(rb::kBaseSequencePos, 53u);
    EXPECT_EQ(rb::kRecordCountPos, 57u);
    EXPECT_EQ(rb::kHeaderSize, 61u);
}

TEST(common_record_batch, hand_built_batch_has_the_expected_size_and_crc) {
    const bytes hand = hand_built_batch(hand_built_records(), 4, 3);
    ASSERT_EQ(hand.size(), 309u);  // 61 + (1+14) + (1+14) + (1+6) + (2+209)
    // Worked out independently with a bit-at-a-time CRC32C over bytes 21..308.
    EXPECT_EQ(rb::batch_view(hand).crc(), 0x0761DAEDu);
    EXPECT_EQ(hand[17], std::byte{0x07});
    EXPECT_EQ(hand[20], std::byte{0xED});
}

TEST(common_record_batch, builder_output_equals_hand_built_bytes) {
    const bytes hand = hand_built_batch(hand_built_records(), 4, 3);
    const bytes built = builder_batch();
    ASSERT_EQ(built.size(), hand.size());
    for (size_t i = 0; i < hand.size(); ++i) {
        ASSERT_EQ(built[i], hand[i]) << "first difference at byte " << i;
    }
}

TEST(common_record_batch, view_reads_every_header_field) {
    const bytes b = builder_batch();
    rb::batch_view v(b);
    EXPECT_EQ(v.base_offset(), 0);
    EXPECT_EQ(v.batch_length(), 297);
    EXPECT_EQ(v.leader_epoch(), 5);
    EXPECT_EQ(v.magic(), 2);
    EXPECT_EQ(v.attributes(), 0);
    EXPECT_EQ(v.last_offset_delta(), 3);
    EXPECT_EQ(v.base_timestamp(), kT0);
    EXPECT_EQ(v.max_timestamp(), kT0 + 1000000);
    EXPECT_EQ(v.producer_id(), 7);
    EXPECT_EQ(v.producer_epoch(), 1);
    EXPECT_EQ(v.base_sequence(), 10);
    EXPECT_EQ(v.record_count(), 4);
    EXPECT_EQ(v.last_offset(), 3);
    EXPECT_EQ(v.size_bytes(), 309u);
    EXPECT_EQ(v.compression_type(), rb::compression::none);
    EXPECT_FALSE(v.log_append_time());
    EXPECT_FALSE(v.is_transactional());
    EXPECT_FALSE(v.is_control());
    EXPECT_TRUE(v.crc_valid());
}

TEST(common_record_batch, attribute_bits_are_read) {
    bytes b = builder_batch();
    poke<int16_t>(b, rb::kAttributesPos, 0x08 | 0x10 | 0x20 | 0x04);
    rb::batch_view v(b);
    EXPECT_TRUE(v.log_append_time());
    EXPECT_TRUE(v.is_transactional());
    EXPECT_TRUE(v.is_control());
    EXPECT_EQ(v.compression_type(), rb::compression::zstd);
}

TEST(common_record_batch, builder_defaults_are_kafkas_no_producer_values) {
    rb::batch_builder bld;
    bld.add(kT0, "k", "v");
    const bytes b = bld.build();
    rb::batch_view v(b);
    EXPECT_EQ(v.producer_id(), -1);
    EXPECT_EQ(v.producer_epoch(), -1);
    EXPECT_EQ(v.base_sequence(), -1);
    EXPECT_EQ(v.leader_epoch(), -1);
    EXPECT_EQ(v.record_count(), 1);
    EXPECT_EQ(v.last_offset_delta(), 0);
}

TEST(common_record_batch, builder_is_reusable_after_build) {
    rb::batch_builder bld;
    bld.add(kT0, "a", "1");
    bld.add(kT0 + 1, "b", "2");
    const bytes first = bld.build();
    EXPECT_EQ(bld.record_count(), 0u);
    bld.add(kT0 + 9, "c", "3");
    const bytes second = bld.build();
    rb::batch_view v(second);
    EXPECT_EQ(v.record_count(), 1);
    EXPECT_EQ(v.base_timestamp(), kT0 + 9);
    EXPECT_TRUE(rb::validate(second, kNoLimit).ok());
    EXPECT_TRUE(rb::validate(first, kNoLimit).ok());
}

// ---- decode_records --------------------------------------------------------------------

TEST(common_record_batch, decode_returns_the_records_at_their_absolute_offsets) {
    bytes b = hand_built_batch(hand_built_records(), 4, 3);
    rb::set_base_offset(b, 1000);
    auto recs = rb::decode_records(b);
    ASSERT_TRUE(recs.ok()) << recs.error().message;
    ASSERT_EQ(recs->size(), 4u);
    const auto& r = *recs;
    EXPECT_EQ(r[0].offset, 1000);
    EXPECT_EQ(r[0].timestamp, kT0);
    EXPECT_EQ(r[0].key, "key");
    EXPECT_EQ(r[0].value, "hello");
    EXPECT_TRUE(r[0].headers.empty());

    EXPECT_EQ(r[1].offset, 1001);
    EXPECT_EQ(r[1].timestamp, kT0 + 5);
    EXPECT_FALSE(r[1].key.has_value());
    EXPECT_EQ(r[1].value, "v");
    const std::vector<rb::record_header> expected_headers = {{"a", "1"}, {"b", std::nullopt}};
    EXPECT_EQ(r[1].headers, expected_headers);

    EXPECT_EQ(r[2].offset, 1002);
    EXPECT_EQ(r[2].timestamp, kT0 - 2);
    ASSERT_TRUE(r[2].key.has_value());
    EXPECT_EQ(*r[2].key, "");
    EXPECT_FALSE(r[2].value.has_value());

    EXPECT_EQ(r[3].offset, 1003);
    EXPECT_EQ(r[3].timestamp, kT0 + 1000000);
    EXPECT_EQ(r[3].value, std::string(200, 'x'));
}

// Regression: decode_records used baseTimestamp + delta even for LogAppendTime batches, where
// Kafka reports the broker's time (maxTimestamp) for every record.
TEST(common_record_batch, decode_uses_max_timestamp_for_log_append_time) {
    bytes b = hand_built_batch(hand_built_records(), 4, 3, /*attributes=*/0x08, kT0,
                               /*max_ts=*/kT0 + 777);
    auto recs = rb::decode_records(b);
    ASSERT_TRUE(recs.ok()) << recs.error().message;
    for (const auto& r : *recs) EXPECT_EQ(r.timestamp, kT0 + 777) << "offset " << r.offset;
}

// Regression: a corrupt record count or header count was passed straight to
// vector::reserve, so decode_records threw (bad_alloc / length_error) instead of failing.
TEST(common_record_batch, decode_survives_hostile_record_counts) {
    for (int32_t count : {INT32_MAX, INT32_MAX / 2, -1, INT32_MIN}) {
        bytes b = hand_built_batch(hand_built_records(), count, 3);
        result<std::vector<rb::record>> recs = status{};
        ASSERT_NO_THROW(recs = rb::decode_records(b)) << count;
        EXPECT_EQ(recs.code(), errc::invalid_record) << count;
    }
}

TEST(common_record_batch, decode_survives_hostile_header_count) {
    hand_bytes r;
    // A 10-byte body (length 0x14): attributes, ts 0, offset 0, key null, value null, then a
    // header count of INT32_MAX with no headers behind it.
    r.raw({0x14, 0x00, 0x00, 0x00, 0x01, 0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F});
    const bytes b = hand_built_batch(r.b, 1, 0);
    result<std::vector<rb::record>> recs = status{};
    ASSERT_NO_THROW(recs = rb::decode_records(b));
    EXPECT_EQ(recs.code(), errc::invalid_record);
    EXPECT_EQ(rb::validate(b, kNoLimit).code, errc::invalid_record);
}

TEST(common_record_batch, decode_of_a_truncated_batch_is_corrupt) {
    const bytes b = builder_batch();
    auto recs = rb::decode_records(std::span<const std::byte>(b).first(b.size() - 1));
    EXPECT_EQ(recs.code(), errc::corrupt_message);
}

TEST(common_record_batch, decode_of_a_compressed_batch_is_unsupported) {
    bytes b = hand_built_batch(hand_built_records(), 4, 3, /*attributes=gzip*/ 1);
    EXPECT_EQ(rb::decode_records(b).code(), errc::unsupported_for_message_format);
}

// ---- broker-side rewrites --------------------------------------------------------------

TEST(common_record_batch, base_offset_and_leader_epoch_rewrites_keep_the_crc_valid) {
    const bytes original = builder_batch();
    bytes b = original;
    rb::set_base_offset(b, 0x0102030405060708);
    rb::set_leader_epoch(b, 42);
    rb::batch_view v(b);
    EXPECT_EQ(v.base_offset(), 0x0102030405060708);
    EXPECT_EQ(v.leader_epoch(), 42);
    EXPECT_EQ(v.last_offset(), 0x0102030405060708 + 3);
    EXPECT_TRUE(v.crc_valid());
    EXPECT_TRUE(rb::validate(b, kNoLimit).ok());
    for (size_t i = 0; i < b.size(); ++i) {
        const bool rewritten = i < 8 || (i >= 12 && i < 16);
        if (!rewritten) {
            ASSERT_EQ(b[i], original[i]) << "byte " << i << " changed";
        }
    }
}

// ---- validate --------------------------------------------------------------------------

TEST(common_record_batch, validate_accepts_a_well_formed_batch) {
    EXPECT_TRUE(rb::validate(builder_batch(), kNoLimit).ok());
    EXPECT_TRUE(rb::validate(hand_built_batch(hand_built_records(), 4, 3), kNoLimit).ok());
}

// Every single-bit change is either outside what validate protects (baseOffset and
// partitionLeaderEpoch, which the broker itself rewrites) or caught by the check for
// its region.
TEST(common_record_batch, every_bit_flip_is_caught_by_the_check_for_its_region) {
    const bytes original = builder_batch();
    for (size_t bit = 0; bit < original.size() * 8; ++bit) {
        bytes b = original;
        const size_t pos = bit / 8;
        b[pos] ^= std::byte(1u << (bit % 8));
        const status s = rb::validate(b, kNoLimit);
        if (pos < rb::kBatchLengthPos || (pos >= rb::kLeaderEpochPos && pos < rb::kMagicPos)) {
            ASSERT_TRUE(s.ok()) << "byte " << pos << ": " << s.message;
        } else if (pos < rb::kLeaderEpochPos) {
            ASSERT_EQ(s.code, errc::corrupt_message) << "byte " << pos;
            ASSERT_NE(s.message.find("length"), std::string::npos) << s.message;
        } else if (pos == rb::kMagicPos) {
            ASSERT_EQ(s.code, errc::unsupported_for_message_format) << "byte " << pos;
        } else {
            ASSERT_EQ(s.code, errc::corrupt_message) << "byte " << pos;
            ASSERT_NE(s.message.find("CRC"), std::string::npos) << "byte " << pos << ": " << s.message;
        }
    }
}

TEST(common_record_batch, magic_other_than_2_is_unsupported) {
    for (int8_t magic : {0, 1, 3, -1}) {
        bytes b = builder_batch();
        poke<int8_t>(b, rb::kMagicPos, magic);
        const status s = rb::validate(b, kNoLimit);
        EXPECT_EQ(s.code, errc::unsupported_for_message_format) << int(magic);
    }
    // A legacy message shorter than a v2 header still reports its magic, not a length error.
    bytes legacy(30, std::byte{0});
    poke<int32_t>(legacy, 8, 18);
    poke<int8_t>(legacy, 16, 1);
    EXPECT_EQ(rb::validate(legacy, kNoLimit).code, errc::unsupported_for_message_format);
}

TEST(common_record_batch, batch_length_not_matching_the_buffer_is_corrupt) {
    const bytes original = builder_batch();
    {
        bytes b = original;
        b.push_back(std::byte{0});
        EXPECT_EQ(rb::validate(b, kNoLimit).code, errc::corrupt_message) << "one byte extra";
    }
    {
        bytes b = original;
        b.pop_back();
        EXPECT_EQ(rb::validate(b, kNoLimit).code, errc::corrupt_message) << "one byte short";
    }
    for (int32_t delta : {-1, 1, 1000}) {
        bytes b = original;
        poke<int32_t>(b, rb::kBatchLengthPos, rb::batch_view(original).batch_length() + delta);
        EXPECT_EQ(rb::validate(b, kNoLimit).code, errc::corrupt_message) << delta;
    }
    for (int32_t length : {48, 0, -1, INT32_MIN}) {
        bytes b = original;
        poke<int32_t>(b, rb::kBatchLengthPos, length);
        EXPECT_EQ(rb::validate(b, kNoLimit).code, errc::corrupt_message) << length;
    }
    EXPECT_EQ(rb::validate({}, kNoLimit).code, errc::corrupt_message);
    EXPECT_EQ(rb::validate(std::span<const std::byte>(original).first(12), kNoLimit).code,
              errc::corrupt_message);
}

TEST(common_record_batch, last_offset_delta_must_be_count_minus_one) {
    for (int32_t lod : {2, 4, -1, INT32_MAX}) {
        bytes b = builder_batch();
        poke<int32_t>(b, rb::kLastOffsetDeltaPos, lod);
        // Without a new CRC the change is caught as corruption first.
        EXPECT_EQ(rb::validate(b, kNoLimit).code, errc::corrupt_message) << lod;
        reseal(b);
        const status s = rb::validate(b, kNoLimit);
        EXPECT_EQ(s.code, errc::invalid_record) << lod;
        EXPECT_NE(s.message.find("lastOffsetDelta"), std::string::npos) << s.message;
    }
    // The count changed instead of the delta.
    bytes b = builder_batch();
    poke<int32_t>(b, rb::kRecordCountPos, 3);
    reseal(b);
    EXPECT_EQ(rb::validate(b, kNoLimit).code, errc::invalid_record);
}

TEST(common_record_batch, empty_batch_is_an_invalid_produce) {
    const bytes b = hand_built_batch({}, 0, -1);
    EXPECT_EQ(rb::validate(b, kNoLimit).code, errc::invalid_record);
}

// Records with offsetDelta values 0, `second`, `third` and otherwise minimal contents.
bytes records_with_deltas(int second, int third) {
    hand_bytes r;
    // body of 6 bytes: length varint zigzag(6) = 0x0C
    r.raw({0x0C, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00});
    r.raw({0x0C, 0x00, 0x00, second * 2, 0x01, 0x01, 0x00});
    r.raw({0x0C, 0x00, 0x00, third * 2, 0x01, 0x01, 0x00});
    return r.b;
}

TEST(common_record_batch, offset_deltas_must_run_0_to_n_minus_1) {
    EXPECT_TRUE(rb::validate(hand_built_batch(records_with_deltas(1, 2), 3, 2), kNoLimit).ok());
    {
        const status s = rb::validate(hand_built_batch(records_with_deltas(2, 1), 3, 2), kNoLimit);
        EXPECT_EQ(s.code, errc::invalid_record);
        EXPECT_NE(s.message.find("record 1 "), std::string::npos) << s.message;
    }
    {
        const status s = rb::validate(hand_built_batch(records_with_deltas(1, 3), 3, 2), kNoLimit);
        EXPECT_EQ(s.code, errc::invalid_record);
        EXPECT_NE(s.message.find("record 2 "), std::string::npos) << s.message;
    }
    EXPECT_EQ(rb::validate(hand_built_batch(records_with_deltas(1, 1), 3, 2), kNoLimit).code,
              errc::invalid_record);
}

TEST(common_record_batch, bytes_after_the_last_record_are_invalid) {
    bytes recs = records_with_deltas(1, 2);
    recs.push_back(std::byte{0});
    recs.push_back(std::byte{0});
    const status s = rb::validate(hand_built_batch(recs, 3, 2), kNoLimit);
    EXPECT_EQ(s.code, errc::invalid_record);
    EXPECT_NE(s.message.find("2 bytes follow"), std::string::npos) << s.message;
}

TEST(common_record_batch, record_length_overrunning_the_batch_is_invalid) {
    bytes recs = records_with_deltas(1, 2);
    recs[14] = std::byte{0x28};  // third record claims 20 body bytes; 6 remain
    EXPECT_EQ(rb::validate(hand_built_batch(recs, 3, 2), kNoLimit).code, errc::invalid_record);
    recs[14] = std::byte{0x03};  // negative length (-2)
    EXPECT_EQ(rb::validate(hand_built_batch(recs, 3, 2), kNoLimit).code, errc::invalid_record);
}

TEST(common_record_batch, record_length_disagreeing_with_its_fields_is_invalid) {
    // Body length 4 but the fields need 6: the fields run past the record.
    hand_bytes shorter;
    shorter.raw({0x08, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00});
    EXPECT_EQ(rb::validate(hand_built_batch(shorter.b, 1, 0), kNoLimit).code, errc::invalid_record);
    // Body length 7 with 6 bytes of fields and one spare byte inside the record.
    hand_bytes longer;
    longer.raw({0x0E, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00});
    EXPECT_EQ(rb::validate(hand_built_batch(longer.b, 1, 0), kNoLimit).code, errc::invalid_record);
}

TEST(common_record_batch, null_header_key_is_invalid) {
    hand_bytes r;
    // An 8-byte body (length 0x10) with one header whose key length is -1.
    r.raw({0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01});
    EXPECT_EQ(rb::validate(hand_built_batch(r.b, 1, 0), kNoLimit).code, errc::invalid_record);
}

TEST(common_record_batch, batch_larger_than_max_is_too_large) {
    const bytes b = builder_batch();
    EXPECT_TRUE(rb::validate(b, b.size()).ok());
    const status s = rb::validate(b, b.size() - 1);
    EXPECT_EQ(s.code, errc::message_too_large);
}

TEST(common_record_batch, compressed_batch_is_accepted_without_a_record_walk) {
    // Bytes that are no valid uncompressed records: the broker must not try to parse them.
    hand_bytes opaque;
    opaque.raw({0x1F, 0x8B, 0x08, 0x00, 0xDE, 0xAD, 0xBE, 0xEF, 0xFF, 0xFF});
    for (int16_t codec : {1, 2, 3, 4}) {
        EXPECT_TRUE(rb::validate(hand_built_batch(opaque.b, 4, 3, codec), kNoLimit).ok()) << codec;
    }
    EXPECT_EQ(rb::validate(hand_built_batch(opaque.b, 4, 3, 0), kNoLimit).code,
              errc::invalid_record);
    // The header checks still apply to a compressed batch.
    EXPECT_EQ(rb::validate(hand_built_batch(opaque.b, 4, 2, 1), kNoLimit).code,
              errc::invalid_record);
    for (int16_t codec : {5, 6, 7}) {
        EXPECT_EQ(rb::validate(hand_built_batch(opaque.b, 4, 3, codec), kNoLimit).code,
                  errc::corrupt_message)
            << codec;
    }
}

// ---- next_frame ------------------------------------------------------------------------

TEST(common_record_batch, every_proper_prefix_is_incomplete) {
    const bytes b = builder_batch();
    for (size_t n = 0; n < b.size(); ++n) {
        const rb::frame f = rb::next_frame(std::span<const std::byte>(b).first(n));
        ASSERT_EQ(f.what, rb::frame::kind::incomplete) << "prefix " << n;
        // Once the magic byte is in, the frame knows how much it is waiting for.
        if (n > rb::kMagicPos) {
            ASSERT_EQ(f.size, b.size()) << "prefix " << n;
        }
    }
    const rb::frame whole = rb::next_frame(b);
    EXPECT_EQ(whole.what, rb::frame::kind::batch);
    EXPECT_EQ(whole.size, b.size());
}

TEST(common_record_batch, frames_split_concatenated_batches) {
    rb::batch_builder bld;
    bld.add(kT0, "a", "1");
    const bytes first = bld.build();
    const bytes second = builder_batch();
    bytes buf = first;
    buf.insert(buf.end(), second.begin(), second.end());
    buf.insert(buf.end(), second.begin(), second.begin() + 20);  // torn third batch
    std::span<const std::byte> rest(buf);
    rb::frame f = rb::next_frame(rest);
    ASSERT_EQ(f.what, rb::frame::kind::batch);
    EXPECT_EQ(f.size, first.size());
    rest = rest.subspan(f.size);
    f = rb::next_frame(rest);
    ASSERT_EQ(f.what, rb::frame::kind::batch);
    EXPECT_EQ(f.size, second.size());
    rest = rest.subspan(f.size);
    EXPECT_EQ(rb::next_frame(rest).what, rb::frame::kind::incomplete);
}

TEST(common_record_batch, garbage_is_corrupt) {
    EXPECT_EQ(rb::next_frame(bytes(100, std::byte{0xFF})).what, rb::frame::kind::corrupt);
    EXPECT_EQ(rb::next_frame(bytes(100, std::byte{0x00})).what, rb::frame::kind::corrupt);
    bytes b = builder_batch();
    poke<int32_t>(b, rb::kBatchLengthPos, 48);
    EXPECT_EQ(rb::next_frame(b).what, rb::frame::kind::corrupt);
    b = builder_batch();
    poke<int8_t>(b, rb::kMagicPos, 1);
    EXPECT_EQ(rb::next_frame(b).what, rb::frame::kind::corrupt);
    // A bad length is seen as soon as the length field is in, before the magic byte.
    EXPECT_EQ(rb::next_frame(bytes(12, std::byte{0xFF})).what, rb::frame::kind::corrupt);
    // next_frame does not read the CRC: that is validate's and crc_valid's job.
    b = builder_batch();
    b.back() ^= std::byte{1};
    EXPECT_EQ(rb::next_frame(b).what, rb::frame::kind::batch);
    EXPECT_FALSE(rb::batch_view(b).crc_valid());
}

TEST(common_record_batch, compression_names) {
    EXPECT_STREQ(rb::compression_name(rb::compression::none), "none");
    EXPECT_STREQ(rb::compression_name(rb::compression::gzip), "gzip");
    EXPECT_STREQ(rb::compression_name(rb::compression::snappy), "snappy");
    EXPECT_STREQ(rb::compression_name(rb::compression::lz4), "lz4");
    EXPECT_STREQ(rb::compression_name(rb::compression::zstd), "zstd");
}

}  // namespace
}  // namespace gregor
