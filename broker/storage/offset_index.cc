#include "broker/storage/offset_index.h"

#include <algorithm>

#include "common/invariant.h"
#include "common/wire.h"

namespace gregor::storage {

void offset_index::append(int64_t offset, uint32_t position) {
    GREGOR_INVARIANT(entries_.empty() || (offset > entries_.back().offset &&
                                          position > entries_.back().position),
                     "offset index entries strictly increase");
    entries_.push_back({offset, position});
}

offset_index::entry offset_index::lookup(int64_t target) const noexcept {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), target,
                               [](int64_t t, const entry& e) { return t < e.offset; });
    if (it == entries_.begin()) return {base_offset_, 0};
    return *std::prev(it);
}

void offset_index::truncate_to(int64_t offset) noexcept {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), offset,
                               [](const entry& e, int64_t o) { return e.offset < o; });
    entries_.erase(it, entries_.end());
}

std::vector<std::byte> offset_index::encode() const {
    std::vector<std::byte> out(entries_.size() * kEntrySize);
    std::byte* p = out.data();
    for (const auto& e : entries_) {
        wire::store_be<int32_t>(p, static_cast<int32_t>(e.offset - base_offset_));
        wire::store_be<uint32_t>(p + 4, e.position);
        p += kEntrySize;
    }
    return out;
}

result<offset_index> offset_index::decode(int64_t base_offset, std::span<const std::byte> bytes,
                                          uint64_t log_size) {
    if (bytes.size() % kEntrySize != 0) {
        return status(errc::corrupt_message, "index size " + std::to_string(bytes.size()) +
                                                 " is not a multiple of " +
                                                 std::to_string(kEntrySize));
    }
    offset_index idx(base_offset);
    idx.entries_.reserve(bytes.size() / kEntrySize);
    for (size_t at = 0; at < bytes.size(); at += kEntrySize) {
        const auto rel = wire::load_be<int32_t>(bytes.data() + at);
        const auto pos = wire::load_be<uint32_t>(bytes.data() + at + 4);
        const int64_t off = base_offset + rel;
        if (rel < 0 || pos >= log_size ||
            (!idx.entries_.empty() &&
             (off <= idx.entries_.back().offset || pos <= idx.entries_.back().position))) {
            return status(errc::corrupt_message,
                          "index entry " + std::to_string(at / kEntrySize) + " (offset " +
                              std::to_string(off) + ", position " + std::to_string(pos) +
                              ") is out of order or beyond the log");
        }
        idx.entries_.push_back({off, pos});
    }
    return idx;
}

}  // namespace gregor::storage
