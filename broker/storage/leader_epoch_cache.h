// The leader epochs of one partition's log with the offset at which each began, as Kafka's
// LeaderEpochFileCache keeps them (KIP-101): a follower truncates by asking its leader where
// its last epoch ends. Kept in `<partition dir>/leader-epoch-checkpoint`, in the text format of
// Kafka's LeaderEpochCheckpointFile:
//     0          <- version
//     2          <- number of entries
//     3 0        <- epoch, start offset
//     5 1042
// Entries are strictly increasing in epoch and in start offset. Every change is written
// atomically (temp file, fsync, rename, fsync of the directory) before the call returns, and
// only a change: assigning the latest epoch again costs nothing.
// Threads: none of its own and no lock; the owning log's owner thread makes every call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "common/errc.h"

namespace gregor::storage {

inline constexpr const char* kLeaderEpochCheckpoint = "leader-epoch-checkpoint";

struct epoch_entry {
    int32_t epoch = 0;
    int64_t start_offset = 0;
    bool operator==(const epoch_entry&) const = default;
};

// An answer to OffsetForLeaderEpoch; -1/-1 (Kafka's UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
// when the epoch is unknown here.
struct epoch_end {
    int32_t epoch = -1;
    int64_t end_offset = -1;
    bool operator==(const epoch_end&) const = default;
};

class leader_epoch_cache {
public:
    static constexpr int32_t kUndefinedEpoch = -1;
    static constexpr int64_t kUndefinedOffset = -1;

    // Reads `path` (the file need not exist: an empty cache, and nothing is created until the
    // first change). Errors: corrupt_message naming the file and line for a malformed file or
    // a negative epoch or offset; kafka_storage_error when it cannot be read.
    static result<leader_epoch_cache> load(std::filesystem::path path);

    // Whether the file was there at load or has been written since.
    bool file_exists() const noexcept { return file_exists_; }

    // Records that `epoch` begins at `start_offset`, with Kafka's rule: nothing happens when
    // `epoch` is already the latest and does not start earlier than recorded; otherwise every
    // entry at the end with an epoch >= `epoch` or a start offset >= `start_offset` is dropped
    // (it conflicts) and the new entry appended. Errors: invalid_request for a negative
    // argument; kafka_storage_error when the file cannot be written (the change stays in memory).
    status assign(int32_t epoch, int64_t start_offset);
    // assign() of each entry in order, with one write at the end if anything changed.
    status assign(std::span<const epoch_entry> entries);

    std::optional<int32_t> latest_epoch() const;
    const std::vector<epoch_entry>& entries() const noexcept { return entries_; }

    // Kafka's endOffsetFor: for the latest epoch, `log_end_offset`; otherwise the largest
    // epoch <= `requested_epoch` with the start offset of the first epoch above it (the
    // requested epoch itself when every known epoch is above it); -1/-1 for epoch -1 or one
    // above every known epoch.
    epoch_end end_offset_for(int32_t requested_epoch, int64_t log_end_offset) const;

    // Drops the entries that start at or after `end_offset` (the log was truncated to it).
    status truncate_from_end(int64_t end_offset);
    // Drops the entries that begin at or before `start_offset` except the last of them, which
    // now starts at `start_offset` (the log's start moved there).
    status truncate_from_start(int64_t start_offset);
    // Drops every entry.
    status clear();

    // Writes the file as the cache is now, changed or not (a cache rebuilt from the log).
    status write();

private:
    explicit leader_epoch_cache(std::filesystem::path path) : path_(std::move(path)) {}
    // Applies the assign rule in memory; true when something changed.
    bool assign_in_memory(const epoch_entry& e);

    std::filesystem::path path_;
    std::vector<epoch_entry> entries_;
    bool file_exists_ = false;
};

}  // namespace gregor::storage
