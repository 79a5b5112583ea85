// A partition's log: an ordered list of segments in `<log.dir>/<topic>-<partition>/`, the last
// one active. Offsets are dense and strictly increasing; the log start offset is the first
// segment's base (retention moves it forward), the log end offset is the next offset to assign.
// Appends validate each batch and assign offsets by rewriting baseOffset and the leader epoch
// in place; the records are never re-encoded (a follower's appends keep the leader's offsets and
// epochs). Reads return file ranges of whole batches. The log owns its leader_epoch_cache and
// keeps it in step with every append, truncation and retention, and holds the partition's high
// watermark so that the log manager checkpoints it with the recovery point.
//
// Threads: one owner thread (the partition's shard) makes every call, except flush() and the
// accessors marked "any thread". segments_ is written by the owner under mu_, read by the owner
// without it and by the flusher under it. No lock is held across I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/storage/leader_epoch_cache.h"
#include "broker/storage/log_config.h"
#include "broker/storage/log_dir_health.h"
#include "broker/storage/log_segment.h"
#include "common/errc.h"

namespace gregor::storage {

class log;

struct log_options {
    std::filesystem::path dir;              // the partition directory
    log_config config;
    int64_t recovery_point = 0;             // from recovery-point-offset-checkpoint
    int64_t high_watermark = 0;             // from replication-offset-checkpoint; clamped at load
    bool clean_shutdown = false;            // the log.dir had the clean-shutdown marker
    open_segment_limiter* limiter = nullptr;           // must outlive the log
    std::shared_ptr<log_dir_health> health;            // the log.dir's; made if null
    std::function<int64_t()> clock;                    // ms since epoch; system clock if empty
    // Called (on the owner thread) when the log wants a flush soon: flush.messages reached or
    // a segment rolled. The flusher then calls flush() on its own thread.
    std::function<void(log&)> request_flush;
};

// What loading found, for the operator's log and for tests.
struct log_load_report {
    size_t segments = 0;
    size_t segments_recovered = 0;       // scanned batch by batch
    size_t indexes_rebuilt = 0;
    uint64_t bytes_truncated = 0;
    std::vector<std::string> moved_aside;    // segment files renamed *.corrupt
    std::vector<std::string> ignored_files;  // files that are not segments, left alone
};

class log {
public:
    // Loads (creating the directory and a first segment when new) and recovers the log.
    // Errors: kafka_storage_error.
    static result<std::unique_ptr<log>> open(log_options opts);

    struct append_result {
        int64_t base_offset;
        int64_t last_offset;
        int32_t record_count;
        int64_t log_start_offset;
    };
    // Appends the batches in `records` (one or more RecordBatch v2, as a producer sends them),
    // rewriting their base offsets and leader epochs in place. All or nothing: if one batch is
    // invalid the log is unchanged. A `leader_epoch` newer than the epoch cache's latest is
    // recorded there as starting at the first batch's offset. Errors: corrupt_message,
    // invalid_record, message_too_large, unsupported_for_message_format, kafka_storage_error
    // (the directory goes offline).
    result<append_result> append(std::span<std::byte> records, int32_t leader_epoch);

    // Appends batches replicated from the leader exactly as they are: base offsets and leader
    // epochs are kept (no rewrite). Each batch is validated like append(), except against
    // message.max.bytes (the leader accepted it, perhaps under a larger limit); the first batch
    // must start at log_end_offset() and the batches must be contiguous, else invalid_record
    // naming the offsets (the log is unchanged). Records each new leader epoch found in the
    // batches in the epoch cache. Empty `records` is a no-op returning a result with
    // record_count 0 (base_offset log_end_offset(), last_offset one less).
    result<append_result> append_as_follower(std::span<std::byte> records);

    // Leader side: records that `epoch` starts at `start_offset` (normally log_end_offset() when
    // this replica becomes leader), before anything is appended under it. Kafka's rules apply
    // (leader_epoch_cache::assign): the latest epoch again is a no-op; entries it conflicts
    // with are dropped. Errors: invalid_request for a negative argument, kafka_storage_error.
    status assign_epoch_start(int32_t epoch, int64_t start_offset);
    // The latest epoch in the cache; nullopt when it is empty.
    std::optional<int32_t> latest_epoch() const;
    using epoch_end = storage::epoch_end;   // -1/-1: undefined
    // Kafka's endOffsetFor(epoch, log end offset), for OffsetForLeaderEpoch.
    epoch_end end_offset_for_epoch(int32_t epoch) const;
    // The epoch cache's entries in order (tests and tools).
    const std::vector<epoch_entry>& epoch_entries() const noexcept { return epochs_->entries(); }

    // The high watermark: kept in the log so it is checkpointed with it. Clamped to
    // [log_start_offset, log_end_offset]; truncation below it lowers it, retention past it
    // raises it. Getter: any thread.
    int64_t high_watermark() const noexcept { return high_watermark_.load(); }
    void set_high_watermark(int64_t hw);

    struct read_result {
        file_range range;  // empty when offset == log end offset
        int64_t log_start_offset;
        int64_t log_end_offset;
    };
    // Whole batches from the one containing `offset`, up to `max_bytes` (but at least one
    // batch), none of them reaching `upper_bound` (a high watermark; exclusive). Errors:
    // offset_out_of_range below the log start or above the log end, kafka_storage_error.
    result<read_result> read(int64_t offset, size_t max_bytes, int64_t upper_bound = INT64_MAX);

    // The first record whose timestamp is >= `timestamp` (ListOffsets by time); nullopt when
    // every record is older.
    result<std::optional<timestamp_offset>> offset_for_timestamp(int64_t timestamp);

    // Removes every batch at or after the one containing `offset` (replication's truncation).
    // Below the log start it truncates fully and starts at `offset`.
    status truncate_to(int64_t offset);
    // Removes every segment; the log restarts empty at `offset`.
    status truncate_fully_and_start_at(int64_t offset);

    // Deletes whole sealed segments past retention.ms (by their largest timestamp) or beyond
    // retention.bytes; the active segment is never deleted. Returns how many went.
    result<size_t> delete_retained_segments();

    // fsyncs everything appended so far and advances the recovery point. Any thread.
    status flush();
    // True when flush.ms has passed since the last flush with data unflushed. Any thread.
    bool flush_due(int64_t now_ms) const;
    // Clean shutdown: flush, write the active segment's indexes. The log is unusable after.
    status close();

    void set_config(const log_config& c);
    const log_config& config() const noexcept { return opts_.config; }

    // Any thread.
    int64_t log_start_offset() const noexcept { return start_offset_.load(); }
    int64_t log_end_offset() const noexcept { return end_offset_.load(); }
    int64_t recovery_point() const noexcept { return recovery_point_.load(); }
    bool offline() const noexcept { return health_->offline(); }

    uint64_t size_bytes() const;
    size_t segment_count() const noexcept { return segments_.size(); }
    const std::filesystem::path& dir() const noexcept { return opts_.dir; }
    const log_load_report& load_report() const noexcept { return report_; }
    // The segment base offsets in order (tests and tools).
    std::vector<int64_t> segment_base_offsets() const;

private:
    explicit log(log_options opts);
    status load();
    // Reads the epoch cache, rebuilding it from the batches when the file is missing but the
    // log is not empty (logs written before the cache existed), and trims it to the log.
    status load_epoch_cache();
    // Validates every batch of `records` into infos_ (last_offset holds the delta);
    // `max_batch_bytes` is the size limit. Returns the record count.
    result<int32_t> validate_batches(std::span<std::byte> records, size_t max_batch_bytes);
    // Writes the batches described by infos_ (offsets assigned), rolling first if due.
    result<append_result> write_batches(std::span<std::byte> records, int32_t record_count);
    status roll();
    // Removes segments [from, to) from the list and deletes their files.
    status drop_segments(size_t from, size_t to);
    status io_failure(const status& s);
    int64_t now_ms() const;
    log_segment::options segment_options() const;

    log_options opts_;
    std::shared_ptr<log_dir_health> health_;
    log_load_report report_;

    mutable std::mutex mu_;
    std::vector<std::shared_ptr<log_segment>> segments_;  // writes: owner under mu_
    uint64_t truncations_ = 0;                            // guarded by mu_

    std::atomic<int64_t> start_offset_{0};
    std::atomic<int64_t> end_offset_{0};
    std::atomic<int64_t> recovery_point_{0};
    std::atomic<int64_t> unflushed_messages_{0};
    std::atomic<int64_t> last_flush_ms_{0};
    std::atomic<int64_t> flush_interval_ms_;  // copy of config().flush_interval_ms for the flusher

    std::atomic<int64_t> high_watermark_{0};  // written by the owner thread only

    std::vector<batch_info> infos_;  // owner thread: reused by append()
    std::optional<leader_epoch_cache> epochs_;  // owner thread; set by load()
};

}  // namespace gregor::storage
