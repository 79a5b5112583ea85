// CRC32C against published check values, and the SSE4.2 and table paths against each other.
#include "common/crc32c.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/wire.h"

namespace gregor {
namespace {

std::vector<std::byte> filled(size_t n, uint8_t v) { return std::vector<std::byte>(n, std::byte{v}); }

TEST(common_crc32c, check_value_of_123456789) {
    EXPECT_EQ(crc32c::value(wire::as_bytes("123456789")), 0xE3069283u);
    EXPECT_EQ(crc32c::extend_portable(0, wire::as_bytes("123456789")), 0xE3069283u);
}

TEST(common_crc32c, empty_input_is_zero) {
    EXPECT_EQ(crc32c::value({}), 0u);
    EXPECT_EQ(crc32c::extend(0x12345678, {}), 0x12345678u);
}

// RFC 3720 appendix B.4; the RFC lists each CRC as it goes on the wire (least significant
// byte first), so "aa 36 91 8a" is 0x8A9136AA.
TEST(common_crc32c, rfc3720_vectors) {
    std::vector<std::byte> ascending(32), descending(32);
    for (size_t i = 0; i < 32; ++i) {
        ascending[i] = std::byte(i);
        descending[i] = std::byte(31 - i);
    }
    const std::array<uint8_t, 48> iscsi_read_pdu = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    const auto pdu = std::as_bytes(std::span(iscsi_read_pdu));

    for (auto* f : {&crc32c::extend, &crc32c::extend_portable}) {
        EXPECT_EQ(f(0, filled(32, 0x00)), 0x8A9136AAu);
        EXPECT_EQ(f(0, filled(32, 0xFF)), 0x62A8AB43u);
        EXPECT_EQ(f(0, ascending), 0x46DD794Eu);
        EXPECT_EQ(f(0, descending), 0x113FDB5Cu);
        EXPECT_EQ(f(0, pdu), 0xD9963A56u);
    }
}

// Every length 0..300 covers the 8-byte main loops, their byte tails, and every tail length;
// each start offset 0..7 makes the 8-byte loads unaligned.
TEST(common_crc32c, hardware_and_portable_agree_on_all_lengths_and_alignments) {
    if (!crc32c::hardware_accelerated()) {
        std::printf("note: no SSE4.2 on this CPU; extend() is the portable path\n");
    }
    std::mt19937 rng(20240611);
    std::vector<std::byte> buf(300 + 8);
    for (auto& b : buf) b = std::byte(rng());
    for (size_t start = 0; start < 8; ++start) {
        for (size_t len = 0; len <= 300; ++len) {
            auto s = std::span<const std::byte>(buf).subspan(start, len);
            const uint32_t seed = static_cast<uint32_t>(rng());
            ASSERT_EQ(crc32c::extend(0, s), crc32c::extend_portable(0, s))
                << "start " << start << " length " << len;
            ASSERT_EQ(crc32c::extend(seed, s), crc32c::extend_portable(seed, s))
                << "start " << start << " length " << len << " seed " << seed;
        }
    }
}

TEST(common_crc32c, extend_over_split_buffer_equals_whole) {
    std::mt19937 rng(7);
    std::vector<std::byte> buf(257);
    for (auto& b : buf) b = std::byte(rng());
    const std::span<const std::byte> all(buf);
    const uint32_t whole = crc32c::value(all);
    for (size_t cut = 0; cut <= buf.size(); ++cut) {
        ASSERT_EQ(crc32c::extend(crc32c::value(all.first(cut)), all.subspan(cut)), whole)
            << "cut at " << cut;
        ASSERT_EQ(crc32c::extend_portable(crc32c::extend_portable(0, all.first(cut)),
                                          all.subspan(cut)),
                  whole)
            << "cut at " << cut;
    }
    // Three pieces, the middle one crossing several 8-byte words.
    EXPECT_EQ(crc32c::extend(crc32c::extend(crc32c::value(all.first(3)), all.subspan(3, 50)),
                             all.subspan(53)),
              whole);
}

TEST(common_crc32c, single_bit_flips_change_the_value) {
    std::vector<std::byte> buf = filled(64, 0x5A);
    const uint32_t base = crc32c::value(buf);
    for (size_t i = 0; i < buf.size() * 8; ++i) {
        buf[i / 8] ^= std::byte(1u << (i % 8));
        ASSERT_NE(crc32c::value(buf), base) << "bit " << i;
        buf[i / 8] ^= std::byte(1u << (i % 8));
    }
}

}  // namespace
}  // namespace gregor
