// Big-endian integers and zig-zag varints as Kafka's formats use them, over byte spans.
// byte_reader never reads past its span: every read reports underrun by returning false, so
// untrusted bytes can be parsed without exceptions. Not thread-safe; cheap to copy.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace gregor::wire {

template <typename U>
constexpr U byteswap(U v) noexcept {
    if constexpr (sizeof(U) == 2) return static_cast<U>(__builtin_bswap16(v));
    else if constexpr (sizeof(U) == 4) return static_cast<U>(__builtin_bswap32(v));
    else if constexpr (sizeof(U) == 8) return static_cast<U>(__builtin_bswap64(v));
    else return v;
}

template <typename T>
    requires std::is_integral_v<T>
T load_be(const std::byte* p) noexcept {
    std::make_unsigned_t<T> v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) v = byteswap(v);
    return static_cast<T>(v);
}

template <typename T>
    requires std::is_integral_v<T>
void store_be(std::byte* p, T value) noexcept {
    auto v = static_cast<std::make_unsigned_t<T>>(value);
    if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) v = byteswap(v);
    std::memcpy(p, &v, sizeof v);
}

inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_chars(std::span<const std::byte> b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class byte_reader {
public:
    explicit byte_reader(std::span<const std::byte> data) noexcept : data_(data) {}

    size_t position() const noexcept { return pos_; }
    size_t remaining() const noexcept { return data_.size() - pos_; }

    template <typename T>
    [[nodiscard]] bool read_be(T& out) noexcept {
        if (remaining() < sizeof(T)) return false;
        out = load_be<T>(data_.data() + pos_);
        pos_ += sizeof(T);
        return true;
    }

    // Zig-zag varint of at most 5 bytes (int32) as in Kafka's ByteUtils.readVarint.
    [[nodiscard]] bool read_varint(int32_t& out) noexcept {
        int64_t v;
        if (!read_zigzag(v, 5)) return false;
        if (v < INT32_MIN || v > INT32_MAX) return false;
        out = static_cast<int32_t>(v);
        return true;
    }
    // Zig-zag varint of at most 10 bytes (int64), ByteUtils.readVarlong.
    [[nodiscard]] bool read_varlong(int64_t& out) noexcept { return read_zigzag(out, 10); }

    [[nodiscard]] bool read_bytes(size_t n, std::span<const std::byte>& out) noexcept {
        if (remaining() < n) return false;
        out = data_.subspan(pos_, n);
        pos_ += n;
        return true;
    }

    // A varint length followed by that many bytes; length -1 means null (nullopt).
    [[nodiscard]] bool read_varint_bytes(std::optional<std::span<const std::byte>>& out) noexcept {
        int32_t len;
        if (!read_varint(len) || len < -1) return false;
        if (len == -1) {
            out.reset();
            return true;
        }
        std::span<const std::byte> b;
        if (!read_bytes(static_cast<size_t>(len), b)) return false;
        out = b;
        return true;
    }

private:
    bool read_zigzag(int64_t& out, int max_bytes) noexcept {
        uint64_t raw = 0;
        for (int i = 0; i < max_bytes; ++i) {
            if (pos_ >= data_.size()) return false;
            auto b = static_cast<uint8_t>(data_[pos_++]);
            raw |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                out = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
                return true;
            }
        }
        return false;
    }

    std::span<const std::byte> data_;
    size_t pos_ = 0;
};

// Appends to a byte vector it does not own; the vector must outlive the writer.
class byte_writer {
public:
    explicit byte_writer(std::vector<std::byte>& out) noexcept : out_(out) {}

    template <typename T>
    void write_be(T v) {
        size_t at = out_.size();
        out_.resize(at + sizeof(T));
        store_be<T>(out_.data() + at, v);
    }
    void write_varlong(int64_t v) {
        auto z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
        while (z >= 0x80) {
            out_.push_back(static_cast<std::byte>((z & 0x7F) | 0x80));
            z >>= 7;
        }
        out_.push_back(static_cast<std::byte>(z));
    }
    void write_varint(int32_t v) { write_varlong(v); }
    void write_bytes(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    // A varint length then the bytes; nullopt is written as length -1.
    void write_varint_bytes(std::optional<std::span<const std::byte>> b) {
        if (!b) {
            write_varint(-1);
            return;
        }
        write_varint(static_cast<int32_t>(b->size()));
        write_bytes(*b);
    }
    size_t size() const noexcept { return out_.size(); }

private:
    std::vector<std::byte>& out_;
};

}  // namespace gregor::wire
