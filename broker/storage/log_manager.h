// Owns every partition log under the log.dirs: loads them in parallel at start (recovering what
// an unclean shutdown left unflushed), creates and deletes logs, runs the background flusher,
// checkpoints recovery points and high watermarks, and on a clean shutdown leaves the marker
// that lets the next start skip recovery. Each log.dir is locked (flock on `.lock`) against a
// second process.
//
// On-disk, per log.dir: `<topic>-<partition>/` per log, `recovery-point-offset-checkpoint`,
// `replication-offset-checkpoint` (high watermarks), `.gregor_cleanshutdown` (present only
// between a clean shutdown and the next start), `.lock`.
//
// Threads: get_or_create/get/delete_log/partitions are safe from any thread (mu_ guards the
// map). Each log is used by its owner thread as log.h says; run_retention() calls into logs and
// so must come from their owner (the broker dispatches it per shard). The flusher is a thread
// of its own that only calls log::flush() and reads the logs' any-thread offsets.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "broker/storage/log.h"
#include "broker/storage/log_config.h"
#include "broker/storage/log_dir_health.h"
#include "broker/storage/open_segment_limiter.h"
#include "common/errc.h"
#include "common/topic_partition.h"

namespace gregor::storage {

inline constexpr const char* kRecoveryPointCheckpoint = "recovery-point-offset-checkpoint";
inline constexpr const char* kReplicationOffsetCheckpoint = "replication-offset-checkpoint";
inline constexpr const char* kCleanShutdownMarker = ".gregor_cleanshutdown";

struct log_manager_config {
    std::vector<std::filesystem::path> log_dirs;   // log.dirs
    log_config defaults;                           // the broker's log.* settings
    int recovery_threads_per_dir = 1;              // num.recovery.threads.per.data.dir
    size_t max_open_segments = 4096;               // sealed segments with open files, all logs
    int64_t flush_check_interval_ms = 1000;        // how often flush.ms deadlines are checked
    int64_t checkpoint_interval_ms = 60000;        // log.flush.offset.checkpoint.interval.ms
    std::function<int64_t()> clock;                // ms since epoch; system clock if empty
};

class log_manager {
public:
    // Locks and loads every log.dir. A directory that cannot be used is taken offline (logged);
    // fails only when no directory is usable or a partition is found in two directories.
    static result<std::unique_ptr<log_manager>> open(log_manager_config cfg);
    ~log_manager();
    log_manager(const log_manager&) = delete;
    log_manager& operator=(const log_manager&) = delete;

    // The partition's log, created in the online log.dir holding the fewest partitions if new.
    result<std::shared_ptr<log>> get_or_create(const topic_partition& tp, const log_config& cfg);
    // nullptr when this broker has no log for `tp`.
    std::shared_ptr<log> get(const topic_partition& tp) const;
    // Removes the log and its directory (renamed `<dir>.<n>-delete` first, so a crash midway
    // leaves nothing that could load as a partial log).
    status delete_log(const topic_partition& tp);
    std::vector<topic_partition> partitions() const;

    // Applies retention to every log; returns segments deleted. Owner thread(s) of the logs.
    size_t run_retention();
    // Writes recovery-point-offset-checkpoint and replication-offset-checkpoint in every
    // online log.dir (the flusher does so every checkpoint_interval_ms, and shutdown()).
    status checkpoint_offsets();
    // Clean shutdown: stops the flusher, closes every log, checkpoints, writes the markers.
    status shutdown();

    const open_segment_limiter& limiter() const noexcept { return limiter_; }
    std::vector<std::shared_ptr<log_dir_health>> dirs() const;

private:
    struct dir_state {
        std::filesystem::path path;
        std::shared_ptr<log_dir_health> health;
        int lock_fd = -1;
    };

    explicit log_manager(log_manager_config cfg);
    status load_all();
    log_options options_for(const dir_state& d, const log_config& cfg, int64_t recovery_point,
                            int64_t high_watermark, bool clean);
    void request_flush(const topic_partition& tp);
    void flusher_loop();
    int64_t now_ms() const;

    log_manager_config cfg_;
    open_segment_limiter limiter_;
    std::vector<dir_state> dirs_;  // fixed after open

    mutable std::mutex mu_;
    std::map<topic_partition, std::pair<std::shared_ptr<log>, size_t>> logs_;  // log, dir index

    std::mutex checkpoint_mu_;  // serialises checkpoint writes

    std::mutex flush_mu_;
    std::condition_variable flush_cv_;
    std::set<topic_partition> flush_requested_;  // guarded by flush_mu_
    bool stopping_ = false;                      // guarded by flush_mu_
    std::thread flusher_;
    bool shut_down_ = false;
};

}  // namespace gregor::storage
