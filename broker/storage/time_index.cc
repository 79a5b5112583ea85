#include "broker/storage/time_index.h"

#include <algorithm>
#include <string>

#include "common/wire.h"

namespace gregor::storage {

void time_index::maybe_append(int64_t timestamp, int64_t offset) {
    if (!entries_.empty() &&
        (timestamp <= entries_.back().timestamp || offset <= entries_.back().offset)) {
        return;
    }
    entries_.push_back({timestamp, offset});
}

int64_t time_index::lookup(int64_t target) const noexcept {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), target,
                               [](int64_t t, const entry& e) { return t < e.timestamp; });
    if (it == entries_.begin()) return base_offset_;
    return std::prev(it)->offset;
}

void time_index::truncate_to(int64_t offset) noexcept {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [offset](const entry& e) { return e.offset >= offset; });
    entries_.erase(it, entries_.end());
}

std::vector<std::byte> time_index::encode() const {
    std::vector<std::byte> out(entries_.size() * kEntrySize);
    std::byte* p = out.data();
    for (const auto& e : entries_) {
        wire::store_be<int64_t>(p, e.timestamp);
        wire::store_be<int32_t>(p + 8, static_cast<int32_t>(e.offset - base_offset_));
        p += kEntrySize;
    }
    return out;
}

result<time_index> time_index::decode(int64_t base_offset, std::span<const std::byte> bytes,
                                      int64_t next_offset) {
    if (bytes.size() % kEntrySize != 0) {
        return status(errc::corrupt_message, "time index size " + std::to_string(bytes.size()) +
                                                 " is not a multiple of " +
                                                 std::to_string(kEntrySize));
    }
    time_index idx(base_offset);
    for (size_t at = 0; at < bytes.size(); at += kEntrySize) {
        const auto ts = wire::load_be<int64_t>(bytes.data() + at);
        const auto rel = wire::load_be<int32_t>(bytes.data() + at + 8);
        const int64_t off = base_offset + rel;
        if (rel < 0 || off >= next_offset ||
            (!idx.entries_.empty() &&
             (ts <= idx.entries_.back().timestamp || off <= idx.entries_.back().offset))) {
            return status(errc::corrupt_message,
                          "time index entry " + std::to_string(at / kEntrySize) +
                              " is out of order or beyond the log");
        }
        idx.entries_.push_back({ts, off});
    }
    return idx;
}

}  // namespace gregor::storage
