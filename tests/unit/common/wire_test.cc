// Big-endian integers and Kafka's zig-zag varints: exact encodings of edge values, round trips
// through byte_writer/byte_reader, and rejection of truncated or overlong input.
#include "common/wire.h"

#include <climits>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace gregor {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(std::byte(b));
    return out;
}

std::vector<std::byte> encode_varint(int32_t v) {
    std::vector<std::byte> out;
    wire::byte_writer(out).write_varint(v);
    return out;
}

std::vector<std::byte> encode_varlong(int64_t v) {
    std::vector<std::byte> out;
    wire::byte_writer(out).write_varlong(v);
    return out;
}

// Expected encodings worked out by hand from the zig-zag rule (n << 1) ^ (n >> 63), then
// 7 bits a byte, least significant group first, high bit set on all but the last byte.
TEST(common_wire, varint_edge_values_encode_as_kafka_does) {
    EXPECT_EQ(encode_varint(0), bytes({0x00}));
    EXPECT_EQ(encode_varint(-1), bytes({0x01}));
    EXPECT_EQ(encode_varint(1), bytes({0x02}));
    EXPECT_EQ(encode_varint(63), bytes({0x7E}));
    EXPECT_EQ(encode_varint(-64), bytes({0x7F}));
    EXPECT_EQ(encode_varint(64), bytes({0x80, 0x01}));
    EXPECT_EQ(encode_varint(INT32_MAX), bytes({0xFE, 0xFF, 0xFF, 0xFF, 0x0F}));
    EXPECT_EQ(encode_varint(INT32_MIN), bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}));
    EXPECT_EQ(encode_varlong(INT64_MAX),
              bytes({0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
    EXPECT_EQ(encode_varlong(INT64_MIN),
              bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

TEST(common_wire, varint_round_trips_edge_values) {
    for (int32_t v : {0, -1, 1, 63, -64, 64, -65, 8191, -8192, 8192, INT32_MIN, INT32_MAX,
                      INT32_MIN + 1, INT32_MAX - 1}) {
        const auto enc = encode_varint(v);
        wire::byte_reader r(enc);
        int32_t out = 0;
        ASSERT_TRUE(r.read_varint(out)) << v;
        EXPECT_EQ(out, v);
        EXPECT_EQ(r.remaining(), 0u) << v;
    }
}

TEST(common_wire, varlong_round_trips_edge_values) {
    for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{INT32_MIN} - 1,
                      int64_t{INT32_MAX} + 1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1,
                      int64_t{1700000000000}}) {
        const auto enc = encode_varlong(v);
        wire::byte_reader r(enc);
        int64_t out = 0;
        ASSERT_TRUE(r.read_varlong(out)) << v;
        EXPECT_EQ(out, v);
        EXPECT_EQ(r.remaining(), 0u) << v;
    }
}

TEST(common_wire, varint_reads_consecutive_values) {
    std::vector<std::byte> buf;
    wire::byte_writer w(buf);
    w.write_varint(300);
    w.write_varlong(-5);
    w.write_varint(INT32_MIN);
    wire::byte_reader r(buf);
    int32_t a = 0, c = 0;
    int64_t b = 0;
    ASSERT_TRUE(r.read_varint(a));
    ASSERT_TRUE(r.read_varlong(b));
    ASSERT_TRUE(r.read_varint(c));
    EXPECT_EQ(a, 300);
    EXPECT_EQ(b, -5);
    EXPECT_EQ(c, INT32_MIN);
}

TEST(common_wire, overlong_varint_is_rejected) {
    // Six bytes: one more than an int32 varint may take, even though the value is zero.
    const auto six = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
    int32_t v32 = 0;
    EXPECT_FALSE(wire::byte_reader(six).read_varint(v32));
    // Eleven bytes: one more than an int64 varlong may take.
    const auto eleven = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
    int64_t v64 = 0;
    EXPECT_FALSE(wire::byte_reader(eleven).read_varlong(v64));
    // The same ten-byte prefix is still a valid varlong.
    const auto ten = bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
    EXPECT_TRUE(wire::byte_reader(ten).read_varlong(v64));
    EXPECT_EQ(v64, 0);
}

TEST(common_wire, five_byte_varint_beyond_int32_is_rejected) {
    // Zig-zag 2^32 (bit 32 set in the fifth byte) decodes to 2^31, outside int32.
    const auto big = bytes({0x80, 0x80, 0x80, 0x80, 0x10});
    int32_t v32 = 0;
    EXPECT_FALSE(wire::byte_reader(big).read_varint(v32));
    int64_t v64 = 0;
    ASSERT_TRUE(wire::byte_reader(big).read_varlong(v64));
    EXPECT_EQ(v64, int64_t{1} << 31);
}

TEST(common_wire, truncated_varint_is_rejected) {
    int32_t v32 = 0;
    int64_t v64 = 0;
    EXPECT_FALSE(wire::byte_reader(bytes({})).read_varint(v32));
    EXPECT_FALSE(wire::byte_reader(bytes({0x80})).read_varint(v32));
    EXPECT_FALSE(wire::byte_reader(bytes({0xFF, 0xFF, 0xFF})).read_varlong(v64));
}

TEST(common_wire, varint_bytes_null_empty_and_bad_lengths) {
    std::vector<std::byte> buf;
    wire::byte_writer w(buf);
    w.write_varint_bytes(std::nullopt);
    w.write_varint_bytes(std::span<const std::byte>{});
    w.write_varint_bytes(wire::as_bytes("abc"));
    EXPECT_EQ(buf, bytes({0x01, 0x00, 0x06, 'a', 'b', 'c'}));

    wire::byte_reader r(buf);
    std::optional<std::span<const std::byte>> out;
    ASSERT_TRUE(r.read_varint_bytes(out));
    EXPECT_FALSE(out.has_value());
    ASSERT_TRUE(r.read_varint_bytes(out));
    ASSERT_TRUE(out.has_value());
    EXPECT_TRUE(out->empty());
    ASSERT_TRUE(r.read_varint_bytes(out));
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(wire::as_chars(*out), "abc");

    // Length -2 is neither null nor a size.
    EXPECT_FALSE(wire::byte_reader(bytes({0x03})).read_varint_bytes(out));
    // Length 3 with two bytes behind it.
    EXPECT_FALSE(wire::byte_reader(bytes({0x06, 'a', 'b'})).read_varint_bytes(out));
}

TEST(common_wire, big_endian_round_trip_and_underrun) {
    std::vector<std::byte> buf;
    wire::byte_writer w(buf);
    w.write_be<int16_t>(-2);
    w.write_be<int32_t>(0x01020304);
    w.write_be<int64_t>(INT64_MIN);
    w.write_be<uint32_t>(0xE3069283u);
    ASSERT_EQ(buf.size(), 18u);
    EXPECT_EQ(std::vector<std::byte>(buf.begin() + 2, buf.begin() + 6),
              bytes({0x01, 0x02, 0x03, 0x04}));
    wire::byte_reader r(buf);
    int16_t a = 0;
    int32_t b = 0;
    int64_t c = 0;
    uint32_t d = 0;
    ASSERT_TRUE(r.read_be(a) && r.read_be(b) && r.read_be(c) && r.read_be(d));
    EXPECT_EQ(a, -2);
    EXPECT_EQ(b, 0x01020304);
    EXPECT_EQ(c, INT64_MIN);
    EXPECT_EQ(d, 0xE3069283u);
    int8_t e = 0;
    EXPECT_FALSE(r.read_be(e));
    EXPECT_EQ(r.position(), 18u);
}

}  // namespace
}  // namespace gregor
