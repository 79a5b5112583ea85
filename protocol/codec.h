// The classic (non-flexible) Kafka field encodings, which the native protocol uses too:
// big-endian integers, int16-length strings, int32-length bytes and arrays, -1 for null.
// Messages describe their fields once in an `io(archive&, message&)` function template that
// both `encoder` and `decoder` run, so reading and writing cannot drift apart.
// `decoder` never reads outside its buffer and never allocates from a claimed length before
// checking that the bytes are there (an array of n elements needs at least n bytes), so hostile
// input cannot make it allocate more than the frame's size. Both are single-threaded helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/wire.h"

namespace gregor::protocol {

class encoder {
public:
    static constexpr bool decoding = false;
    explicit encoder(std::vector<std::byte>& out) : w_(out) {}

    void i8(int8_t v) { w_.write_be(v); }
    void i16(int16_t v) { w_.write_be(v); }
    void i32(int32_t v) { w_.write_be(v); }
    void i64(int64_t v) { w_.write_be(v); }
    void boolean(bool v) { w_.write_be<int8_t>(v ? 1 : 0); }
    void string(const std::string& s) {
        w_.write_be(static_cast<int16_t>(s.size()));
        w_.write_bytes(wire::as_bytes(s));
    }
    void nullable_string(const std::optional<std::string>& s) {
        if (!s) return w_.write_be<int16_t>(-1);
        string(*s);
    }
    void bytes(std::span<const std::byte> b) {
        w_.write_be(static_cast<int32_t>(b.size()));
        w_.write_bytes(b);
    }
    template <typename T, typename F>
    void array(const std::vector<T>& v, F&& each) {
        w_.write_be(static_cast<int32_t>(v.size()));
        for (const auto& e : v) each(const_cast<T&>(e));
    }
    template <typename T, typename F>
    void nullable_array(const std::optional<std::vector<T>>& v, F&& each) {
        if (!v) return w_.write_be<int32_t>(-1);
        array(*v, each);
    }

private:
    wire::byte_writer w_;
};

class decoder {
public:
    static constexpr bool decoding = true;
    explicit decoder(std::span<std::byte> in) : in_(in) {}

    bool ok() const noexcept { return ok_; }
    // True when every byte was consumed and nothing failed.
    bool done() const noexcept { return ok_ && pos_ == in_.size(); }
    size_t remaining() const noexcept { return in_.size() - pos_; }

    void i8(int8_t& v) { read(v); }
    void i16(int16_t& v) { read(v); }
    void i32(int32_t& v) { read(v); }
    void i64(int64_t& v) { read(v); }
    // Only 0 and 1 are booleans: one value, one encoding.
    void boolean(bool& v) {
        int8_t b = 0;
        read(b);
        if (b != 0 && b != 1) ok_ = false;
        v = b == 1;
    }
    void string(std::string& s) {
        std::optional<std::string> o;
        nullable_string(o);
        if (ok_ && !o) ok_ = false;  // null where a string is required
        if (o) s = std::move(*o);
    }
    void nullable_string(std::optional<std::string>& s) {
        int16_t len = 0;
        read(len);
        if (!ok_) return;
        if (len == -1) {
            s.reset();
            return;
        }
        auto b = take(len);
        if (ok_) s.emplace(wire::as_chars(b));
    }
    // Points into the decoder's buffer: valid while that buffer is. No bytes field of ours is
    // nullable, and a span cannot tell null from empty, so -1 is refused like any bad length
    // (one value, one encoding).
    void bytes(std::span<std::byte>& b) {
        int32_t len = 0;
        read(len);
        if (ok_) b = take(len);
    }
    template <typename T, typename F>
    void array(std::vector<T>& v, F&& each) {
        int32_t n = 0;
        read(n);
        if (!ok_) return;
        if (n < 0 || static_cast<size_t>(n) > remaining()) {
            ok_ = false;
            return;
        }
        v.clear();
        v.reserve(static_cast<size_t>(n));
        for (int32_t i = 0; i < n && ok_; ++i) each(v.emplace_back());
    }
    template <typename T, typename F>
    void nullable_array(std::optional<std::vector<T>>& v, F&& each) {
        int32_t n = 0;
        if (remaining() >= 4 && wire::load_be<int32_t>(in_.data() + pos_) == -1) {
            read(n);
            v.reset();
            return;
        }
        array(v.emplace(), each);
    }

private:
    template <typename T>
    void read(T& v) {
        if (!ok_ || remaining() < sizeof(T)) {
            ok_ = false;
            return;
        }
        v = wire::load_be<T>(in_.data() + pos_);
        pos_ += sizeof(T);
    }
    std::span<std::byte> take(int64_t len) {
        if (len < 0 || static_cast<uint64_t>(len) > remaining()) {
            ok_ = false;
            return {};
        }
        auto out = in_.subspan(pos_, static_cast<size_t>(len));
        pos_ += static_cast<size_t>(len);
        return out;
    }

    std::span<std::byte> in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace gregor::protocol
