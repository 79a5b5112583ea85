#include "client/murmur2.h"

namespace gregor::client {

int32_t murmur2(std::span<const std::byte> data) noexcept {
    // All arithmetic in uint32_t: Java's int overflow wraps, and so does unsigned C++ math.
    constexpr uint32_t kSeed = 0x9747b28c;
    constexpr uint32_t kM = 0x5bd1e995;
    constexpr int kR = 24;
    const size_t length = data.size();
    auto byte_at = [&](size_t i) { return static_cast<uint32_t>(data[i]); };

    uint32_t h = kSeed ^ static_cast<uint32_t>(length);
    const size_t blocks = length / 4;
    for (size_t i = 0; i < blocks; ++i) {
        const size_t at = i * 4;
        uint32_t k = byte_at(at) | (byte_at(at + 1) << 8) | (byte_at(at + 2) << 16) |
                     (byte_at(at + 3) << 24);
        k *= kM;
        k ^= k >> kR;
        k *= kM;
        h *= kM;
        h ^= k;
    }
    const size_t tail = length & ~size_t{3};
    switch (length % 4) {
    case 3: h ^= byte_at(tail + 2) << 16; [[fallthrough]];
    case 2: h ^= byte_at(tail + 1) << 8; [[fallthrough]];
    case 1:
        h ^= byte_at(tail);
        h *= kM;
        break;
    default: break;
    }
    h ^= h >> 13;
    h *= kM;
    h ^= h >> 15;
    return static_cast<int32_t>(h);
}

int32_t murmur2(std::string_view data) noexcept {
    return murmur2(std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.data()),
                                              data.size()));
}

}  // namespace gregor::client
