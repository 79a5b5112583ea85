// A segment's sparse offset index: batch base offset -> byte position in the segment's .log.
// File format (.index): entries of 8 bytes, big-endian int32 offset relative to the segment's
// base offset, then int32 position; strictly increasing in both. One entry is added for the
// first batch after every log.index.interval.bytes of data, so a lookup lands at most that
// many bytes before the batch it wants. Entries live in memory; the file is written whole
// (at roll and at close) and rebuilt by recovery when missing or invalid.
// Not thread-safe: owned by the segment, used by the partition's owner thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/errc.h"

namespace gregor::storage {

class offset_index {
public:
    static constexpr size_t kEntrySize = 8;
    struct entry {
        int64_t offset;     // absolute
        uint32_t position;  // byte position of the batch starting at `offset`
    };

    explicit offset_index(int64_t base_offset) : base_offset_(base_offset) {}

    // REQUIRES: offset and position greater than the last entry's.
    void append(int64_t offset, uint32_t position);
    // The entry with the largest offset <= target; {base_offset, 0} when there is none.
    entry lookup(int64_t target) const noexcept;
    // Drops entries for offsets >= offset.
    void truncate_to(int64_t offset) noexcept;
    void clear() noexcept { entries_.clear(); }

    const std::vector<entry>& entries() const noexcept { return entries_; }
    int64_t base_offset() const noexcept { return base_offset_; }

    std::vector<std::byte> encode() const;
    // Parses an index file's bytes. Fails (corrupt_message, with the reason) when the size is
    // not a multiple of the entry size, entries do not increase, or a position is not below
    // `log_size`.
    static result<offset_index> decode(int64_t base_offset, std::span<const std::byte> bytes,
                                       uint64_t log_size);

private:
    int64_t base_offset_;
    std::vector<entry> entries_;
};

}  // namespace gregor::storage
