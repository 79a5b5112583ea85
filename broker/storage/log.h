// A partition's log: an ordered list of segments in `<log.dir>/<topic>-<partition>/`, the last
// one active. Offsets are dense and strictly increasing; the log start offset is the first
// segment's base (retention moves it forward), the log end offset is the next offset to assign.
// Appends validate each batch and assign offsets by rewriting baseOffset and the leader epoch
// in place; the records are never re-encoded. Reads return file ranges of whole batches.
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
    // invalid the log is unchanged. Errors: corrupt_message, invalid_record, message_too_large,
    // unsupported_for_message_format, kafka_storage_error (the directory goes offline).
    result<append_result> append(std::span<std::byte> records, int32_t leader_epoch);

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

    std::vector<batch_info> infos_;  // owner thread: reused by append()
};

}  // namespace gregor::storage
