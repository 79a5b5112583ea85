// One segment of a partition's log: `<base>.log` holding whole RecordBatch v2 batches back to
// back, with its sparse `<base>.index` and `<base>.timeindex` (see offset_index.h,
// time_index.h; docs/log-format.md). The name's 20-digit base offset is the first batch's.
//
// A segment is active (the log's last: appended to, indexes in memory, files always open) or
// sealed (immutable: index files written at seal; its files open lazily on read and may be
// released by the open_segment_limiter from any thread).
// Threads: every call comes from the partition's owner thread, except release_files() (the
// limiter) and log_file_for_flush() (the flusher), which are safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "broker/storage/file_handle.h"
#include "broker/storage/offset_index.h"
#include "broker/storage/time_index.h"
#include "common/errc.h"
#include "common/record_batch.h"

namespace gregor::storage {

class open_segment_limiter;

// What the log learnt of one batch while validating it; the segment indexes by it.
struct batch_info {
    int64_t base_offset;
    int64_t last_offset;
    int64_t max_timestamp;
    uint32_t size;
};

// A range of whole batches in a segment file, readable while `file` is held.
struct file_range {
    std::shared_ptr<const file_handle> file;
    uint64_t position = 0;
    uint32_t size = 0;
    int64_t first_offset = -1;  // base offset of the first batch in the range
};

struct timestamp_offset {
    int64_t timestamp;
    int64_t offset;
};

std::string segment_file_name(int64_t base_offset, const char* extension);

class log_segment {
public:
    struct options {
        uint32_t index_interval_bytes = 4096;
        open_segment_limiter* limiter = nullptr;  // nullptr: no limit; must outlive the segment
    };

    // A new empty active segment (creates `<base>.log`, truncating any file of that name).
    static result<std::unique_ptr<log_segment>> create(const std::filesystem::path& dir,
                                                       int64_t base_offset, options opts);

    // How an existing segment is opened.
    enum class open_mode {
        trust,    // clean: load index files (rebuild an invalid or missing one), scan only the tail
        recover,  // after a crash: scan and CRC-check every batch, cut a torn tail, rebuild indexes
    };
    struct open_report {
        bool recovered = false;            // every batch was scanned
        bool indexes_rebuilt = false;
        uint64_t truncated_bytes = 0;      // bytes cut from a torn or corrupt tail
        std::string problem;               // why bytes were cut or an index rebuilt
    };
    // Opens `<dir>/<base>.log` as the active segment when `active`, else sealed.
    // Errors: kafka_storage_error for I/O.
    static result<std::unique_ptr<log_segment>> open(const std::filesystem::path& dir,
                                                     int64_t base_offset, bool active,
                                                     open_mode mode, options opts,
                                                     open_report& report);

    ~log_segment();
    log_segment(const log_segment&) = delete;
    log_segment& operator=(const log_segment&) = delete;

    int64_t base_offset() const noexcept { return base_offset_; }
    // The offset after the last batch; base_offset() when empty.
    int64_t next_offset() const noexcept { return next_offset_; }
    uint64_t size_bytes() const noexcept { return size_; }
    // Largest batch max-timestamp; -1 when empty.
    int64_t max_timestamp() const noexcept { return max_timestamp_; }
    bool empty() const noexcept { return size_ == 0; }
    bool sealed() const noexcept { return sealed_.load(); }
    // Milliseconds since the epoch at which this segment should be measured for log.roll.ms.
    int64_t roll_base_ms() const noexcept { return roll_base_ms_; }

    // REQUIRES: active; `batches` holds whole batches with offsets from next_offset(), described
    // by `infos` in order. On error nothing is appended (a partial write is cut back).
    status append(std::span<const std::byte> batches, std::span<const batch_info> infos,
                  int64_t now_ms);

    // Whole batches from the one containing `offset` (REQUIRES: base <= offset < next), up to
    // `max_bytes` but at least one batch, ending before any batch whose last offset is >=
    // `upper_bound`.
    result<file_range> read(int64_t offset, size_t max_bytes, int64_t upper_bound);

    // The first record with timestamp >= target, if any in this segment.
    result<std::optional<timestamp_offset>> find_by_timestamp(int64_t target);

    // Calls `visit` with the header (rb::kHeaderSize bytes) of each batch in order, reading the
    // file in large chunks; the log rebuilds a missing leader-epoch-checkpoint with it. Errors: kafka_storage_error for I/O or a header that breaks the chain of batches.
    status visit_batch_headers(const std::function<void(const record_batch::batch_view&)>& visit);

    // Removes the batch containing `offset` and everything after it; returns the new next
    // offset. A sealed segment becomes active again (the log drops segments after it).
    result<int64_t> truncate_to(int64_t offset);

    // Makes a sealed segment the active one again (the log dropped the segments after it).
    status unseal();
    // Writes the index files and makes the segment sealed. Not synced: the flusher syncs them.
    status seal();
    // Writes the index files of this segment, with fsync when `sync` (clean shutdown).
    status write_indexes(bool sync);

    // Files to fsync so that everything appended so far is durable (any thread).
    struct sync_targets {
        std::shared_ptr<const file_handle> log;
        bool indexes = false;  // sealed: the index files exist and must be synced too
        std::filesystem::path dir;
        int64_t base_offset;
    };
    sync_targets sync_targets_now() const;
    // fsyncs the targets, opening by path what is not open (any thread).
    static status sync(const sync_targets& t);

    // Drops the open files of a sealed segment (the limiter; any thread). The return value owns
    // them: destroy it outside any lock.
    std::shared_ptr<void> release_files();
    // For the limiter's second-chance order.
    std::atomic<bool>& recently_used() noexcept { return recently_used_; }

    // Deletes the three files. The segment must not be used afterwards.
    status delete_files();

    std::filesystem::path log_path() const;
    std::filesystem::path index_path() const;
    std::filesystem::path time_index_path() const;

private:
    struct files {
        std::shared_ptr<file_handle> log;
        offset_index offsets;
        time_index times;
    };

    log_segment(std::filesystem::path dir, int64_t base_offset, options opts);

    // The open files of this segment, opening them (and registering with the limiter) if a
    // sealed segment had released them.
    result<std::shared_ptr<files>> acquire();
    // Position of the batch containing `offset` (or of the first batch after it); also that
    // batch's base offset.
    result<std::pair<uint64_t, int64_t>> locate(files& f, int64_t offset);

    struct scan_result;
    // Reads batches from `position` (expected first offset `offset`) to the end, adding index
    // entries to `f` and stopping at the first invalid one.
    result<scan_result> scan(files& f, uint64_t position, int64_t offset, bool check_crc);
    void index_batch(files& f, const batch_info& b, uint64_t position);

    const std::filesystem::path dir_;
    const int64_t base_offset_;
    const options opts_;

    // Owner thread only.
    int64_t next_offset_;
    uint64_t size_ = 0;
    int64_t max_timestamp_ = -1;
    int64_t offset_of_max_timestamp_ = -1;
    uint64_t bytes_since_index_entry_ = 0;
    int64_t roll_base_ms_ = 0;
    std::atomic<bool> sealed_{false};  // written by the owner thread, read by any

    // Replaced (not mutated) by release_files(); the pointee's indexes are mutated by the
    // owner thread only while the segment is active, when the limiter never touches it.
    std::atomic<std::shared_ptr<files>> files_;
    std::atomic<bool> recently_used_{false};
};

}  // namespace gregor::storage
