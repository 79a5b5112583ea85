// A segment's sparse time index: the largest timestamp seen so far -> the base offset of the
// batch that first reached it. File format (.timeindex): entries of 12 bytes, big-endian int64
// timestamp then int32 offset relative to the segment's base offset; both strictly increase.
// Because an entry (T, o) is only added when T first appears, every record before o has a
// timestamp below T, so a search for "first record with timestamp >= t" may start at the
// entry with the largest T <= t. Written with the offset index, plus a final entry at roll.
// Not thread-safe: owned by the segment, used by the partition's owner thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/errc.h"

namespace gregor::storage {

class time_index {
public:
    static constexpr size_t kEntrySize = 12;
    struct entry {
        int64_t timestamp;
        int64_t offset;  // absolute
    };

    explicit time_index(int64_t base_offset) : base_offset_(base_offset) {}

    // Adds the entry when `timestamp` is above the last entry's (else nothing).
    void maybe_append(int64_t timestamp, int64_t offset);
    // The offset to start a search for the first record with timestamp >= target.
    int64_t lookup(int64_t target) const noexcept;
    // Drops entries for offsets >= offset.
    void truncate_to(int64_t offset) noexcept;
    void clear() noexcept { entries_.clear(); }

    std::optional<entry> last() const noexcept {
        if (entries_.empty()) return std::nullopt;
        return entries_.back();
    }
    const std::vector<entry>& entries() const noexcept { return entries_; }

    std::vector<std::byte> encode() const;
    // Fails (corrupt_message) on a partial entry, or entries that do not increase or whose
    // offset is not below `next_offset`.
    static result<time_index> decode(int64_t base_offset, std::span<const std::byte> bytes,
                                     int64_t next_offset);

private:
    int64_t base_offset_;
    std::vector<entry> entries_;
};

}  // namespace gregor::storage
