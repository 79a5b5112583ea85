#include "common/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace gregor::crc32c {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // Castagnoli, bit-reflected

using table = std::array<std::array<uint32_t, 256>, 8>;

constexpr table make_tables() {
    table t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
        t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
        for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
    return t;
}

constexpr table kTables = make_tables();

uint64_t load_le64(const unsigned char* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const unsigned char* p,
                                                        size_t n) noexcept {
    uint64_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) c = _mm_crc32_u64(c, load_le64(p));
    auto c32 = static_cast<uint32_t>(c);
    for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
    return ~c32;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#else
const bool kHaveSse42 = false;
#endif

}  // namespace

uint32_t extend_portable(uint32_t crc, std::span<const std::byte> data) noexcept {
    auto p = reinterpret_cast<const unsigned char*>(data.data());
    size_t n = data.size();
    uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v = load_le64(p) ^ c;
        c = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
            kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^
            kTables[2][(v >> 40) & 0xFF] ^ kTables[1][(v >> 48) & 0xFF] ^
            kTables[0][(v >> 56) & 0xFF];
    }
    for (; n > 0; --n, ++p) c = kTables[0][(c ^ *p) & 0xFF] ^ (c >> 8);
    return ~c;
}

uint32_t extend(uint32_t crc, std::span<const std::byte> data) noexcept {
#if defined(__x86_64__)
    if (kHaveSse42) {
        return extend_sse42(crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    }
#endif
    return extend_portable(crc, data);
}

bool hardware_accelerated() noexcept { return kHaveSse42; }

}  // namespace gregor::crc32c
