#include "broker/storage/log_manager.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "broker/storage/file_handle.h"
#include "broker/storage/offset_checkpoint.h"
#include "common/clock.h"
#include "common/logger.h"

namespace gregor::storage {
namespace fs = std::filesystem;

namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("storage");
    return l;
}

constexpr const char* kDeleteSuffix = "-delete";

}  // namespace

log_manager::log_manager(log_manager_config cfg)
    : cfg_(std::move(cfg)), limiter_(cfg_.max_open_segments) {}

log_manager::~log_manager() {
    if (!shut_down_) shutdown().ignore_error();
    for (auto& d : dirs_) {
        if (d.lock_fd >= 0) ::close(d.lock_fd);
    }
}

int64_t log_manager::now_ms() const {
    if (cfg_.clock) return cfg_.clock();
    return wall_clock_ms();
}

result<std::unique_ptr<log_manager>> log_manager::open(log_manager_config cfg) {
    if (cfg.log_dirs.empty()) return status(errc::invalid_config, "log.dirs is empty");
    std::unique_ptr<log_manager> m(new log_manager(std::move(cfg)));
    if (status s = m->load_all(); !s.ok()) {
        m->shut_down_ = true;  // nothing was loaded that a shutdown should close
        return s;
    }
    m->flusher_ = std::thread([p = m.get()] { p->flusher_loop(); });
    return m;
}

log_options log_manager::options_for(const dir_state& d, const log_config& cfg,
                                     int64_t recovery_point, int64_t high_watermark, bool clean) {
    log_options o;
    o.config = cfg;
    o.recovery_point = recovery_point;
    o.high_watermark = high_watermark;
    o.clean_shutdown = clean;
    o.limiter = &limiter_;
    o.health = d.health;
    o.clock = cfg_.clock;
    o.request_flush = [this](log& l) {
        if (auto tp = topic_partition::from_dir_name(l.dir().filename().string())) request_flush(*tp);
    };
    return o;
}

status log_manager::load_all() {
    struct task {
        size_t dir;
        topic_partition tp;
        int64_t recovery_point;
        int64_t high_watermark;
        bool clean;
    };
    std::vector<task> tasks;
    for (const auto& path : cfg_.log_dirs) {
        dir_state d{path, std::make_shared<log_dir_health>(path), -1};
        auto fail = [&](const std::string& why) {
            d.health->mark_offline({errc::kafka_storage_error, why}).ignore_error();
        };
        std::error_code ec;
        fs::create_directories(path, ec);
        if (ec) fail("create " + path.string() + ": " + ec.message());
        if (!d.health->offline()) {
            d.lock_fd = ::open((path / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            if (d.lock_fd < 0) {
                fail("open " + (path / ".lock").string() + ": " + std::strerror(errno));
            } else if (::flock(d.lock_fd, LOCK_EX | LOCK_NB) != 0) {
                return {errc::kafka_storage_error,
                        "log directory " + path.string() + " is in use by another process (" +
                            (path / ".lock").string() + " is locked)"};
            }
        }
        const size_t di = dirs_.size();
        dirs_.push_back(d);
        if (d.health->offline()) continue;

        const bool clean = fs::exists(path / kCleanShutdownMarker, ec);
        auto points = read_offset_checkpoint(path / kRecoveryPointCheckpoint);
        if (!points) {
            logger()->warn("{}; recovering every log in {} from its start", points.error().message,
                           path.string());
        }
        auto watermarks = read_offset_checkpoint(path / kReplicationOffsetCheckpoint);
        if (!watermarks) {
            // The leader's next fetch responses bring the high watermarks back.
            logger()->warn("{}; every log in {} starts with its high watermark at its log start",
                           watermarks.error().message, path.string());
        }
        for (const auto& entry : fs::directory_iterator(path, ec)) {
            const std::string name = entry.path().filename().string();
            if (!entry.is_directory()) continue;
            if (name.ends_with(kDeleteSuffix)) {
                // A deletion that a crash interrupted: finish it.
                fs::remove_all(entry.path(), ec);
                continue;
            }
            auto tp = topic_partition::from_dir_name(name);
            if (!tp) {
                logger()->warn("{}: {} is not a partition directory; leaving it alone",
                               path.string(), name);
                continue;
            }
            int64_t rp = 0;
            if (points) {
                if (auto it = points->find(*tp); it != points->end()) rp = it->second;
            }
            int64_t hw = 0;
            if (watermarks) {
                if (auto it = watermarks->find(*tp); it != watermarks->end()) hw = it->second;
            }
            // Without its checkpoint entry a clean marker cannot vouch for the log.
            const bool trusted = clean && points && points->contains(*tp);
            tasks.push_back({di, *tp, rp, hw, trusted});
        }
        if (ec) fail("list " + path.string() + ": " + ec.message());
    }

    // Load in parallel: recovery of many partitions is I/O bound per directory.
    std::mutex results_mu;
    status first_error;
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i = next++; i < tasks.size(); i = next++) {
            const task& t = tasks[i];
            const dir_state& d = dirs_[t.dir];
            log_options o = options_for(d, cfg_.defaults, t.recovery_point, t.high_watermark, t.clean);
            o.dir = d.path / t.tp.dir_name();
            auto l = log::open(std::move(o));
            std::lock_guard lock(results_mu);
            if (!l) {
                logger()->error("cannot load {}: {}", (d.path / t.tp.dir_name()).string(),
                                l.error().message);
                continue;
            }
            if (auto it = logs_.find(t.tp); it != logs_.end()) {
                first_error = {errc::kafka_storage_error,
                               "partition " + t.tp.dir_name() + " is in both " +
                                   dirs_[it->second.second].path.string() + " and " +
                                   d.path.string()};
                continue;
            }
            logs_[t.tp] = {std::shared_ptr<log>(std::move(*l)), t.dir};
        }
    };
    const size_t threads = std::clamp<size_t>(
        static_cast<size_t>(std::max(1, cfg_.recovery_threads_per_dir)) * dirs_.size(), 1,
        std::max<size_t>(tasks.size(), 1));
    std::vector<std::thread> pool;
    for (size_t i = 1; i < threads; ++i) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (!first_error.ok()) return first_error;

    bool any_online = false;
    for (auto& d : dirs_) {
        if (d.health->offline()) continue;
        any_online = true;
        // From here on a crash must lead to recovery: the marker goes, durably.
        std::error_code ec;
        if (fs::remove(d.path / kCleanShutdownMarker, ec)) {
            if (status s = sync_directory(d.path); !s.ok()) d.health->mark_offline(s).ignore_error();
        }
    }
    if (!any_online) return {errc::kafka_storage_error, "no log directory is usable"};
    logger()->info("loaded {} logs from {} log directories", logs_.size(), dirs_.size());
    return {};
}

result<std::shared_ptr<log>> log_manager::get_or_create(const topic_partition& tp,
                                                        const log_config& cfg) {
    std::lock_guard lock(mu_);
    if (auto it = logs_.find(tp); it != logs_.end()) return it->second.first;
    std::vector<size_t> counts(dirs_.size(), 0);
    for (const auto& [_, v] : logs_) ++counts[v.second];
    std::optional<size_t> best;
    for (size_t i = 0; i < dirs_.size(); ++i) {
        if (dirs_[i].health->offline()) continue;
        if (!best || counts[i] < counts[*best]) best = i;
    }
    if (!best) return status(errc::kafka_storage_error, "every log directory is offline");
    log_options o = options_for(dirs_[*best], cfg, 0, 0, false);
    o.dir = dirs_[*best].path / tp.dir_name();
    auto l = log::open(std::move(o));
    if (!l) return l.error();
    std::shared_ptr<log> shared(std::move(*l));
    logs_[tp] = {shared, *best};
    logger()->info("created log for {} in {}", tp.dir_name(), dirs_[*best].path.string());
    return shared;
}

std::shared_ptr<log> log_manager::get(const topic_partition& tp) const {
    std::lock_guard lock(mu_);
    auto it = logs_.find(tp);
    return it == logs_.end() ? nullptr : it->second.first;
}

status log_manager::delete_log(const topic_partition& tp) {
    std::shared_ptr<log> l;
    {
        std::lock_guard lock(mu_);
        auto it = logs_.find(tp);
        if (it == logs_.end()) return {errc::unknown_topic_or_partition, tp.dir_name() + " has no log here"};
        l = it->second.first;
        logs_.erase(it);
    }
    const fs::path dir = l->dir();
    auto doomed = dir;
    doomed += '.' + std::to_string(now_ms()) + kDeleteSuffix;
    std::error_code ec;
    fs::rename(dir, doomed, ec);
    if (ec) return {errc::kafka_storage_error, "rename " + dir.string() + ": " + ec.message()};
    if (status s = sync_directory(dir.parent_path()); !s.ok()) return s;
    fs::remove_all(doomed, ec);
    if (ec) return {errc::kafka_storage_error, "delete " + doomed.string() + ": " + ec.message()};
    logger()->info("deleted log {}", dir.string());
    return {};
}

std::vector<topic_partition> log_manager::partitions() const {
    std::lock_guard lock(mu_);
    std::vector<topic_partition> out;
    for (const auto& [tp, _] : logs_) out.push_back(tp);
    return out;
}

std::vector<std::shared_ptr<log_dir_health>> log_manager::dirs() const {
    std::vector<std::shared_ptr<log_dir_health>> out;
    for (const auto& d : dirs_) out.push_back(d.health);
    return out;
}

size_t log_manager::run_retention() {
    std::vector<std::shared_ptr<log>> all;
    {
        std::lock_guard lock(mu_);
        for (const auto& [_, v] : logs_) all.push_back(v.first);
    }
    size_t deleted = 0;
    for (const auto& l : all) {
        if (l->offline()) continue;
        auto n = l->delete_retained_segments();
        if (n) deleted += *n;
    }
    return deleted;
}

status log_manager::checkpoint_offsets() {
    struct checkpoint_file {
        const char* name;
        int64_t (log::*offset)() const noexcept;
    };
    static constexpr checkpoint_file kFiles[] = {
        {kRecoveryPointCheckpoint, &log::recovery_point},
        {kReplicationOffsetCheckpoint, &log::high_watermark},
    };
    std::vector<std::array<offset_map, std::size(kFiles)>> per_dir(dirs_.size());
    {
        std::lock_guard lock(mu_);
        for (const auto& [tp, v] : logs_) {
            for (size_t f = 0; f < std::size(kFiles); ++f) {
                per_dir[v.second][f][tp] = (*v.first.*kFiles[f].offset)();
            }
        }
    }
    std::lock_guard lock(checkpoint_mu_);
    status first;
    for (size_t i = 0; i < dirs_.size(); ++i) {
        for (size_t f = 0; f < std::size(kFiles) && !dirs_[i].health->offline(); ++f) {
            if (status s = write_offset_checkpoint(dirs_[i].path / kFiles[f].name, per_dir[i][f]);
                !s.ok()) {
                first = dirs_[i].health->mark_offline(s);
            }
        }
    }
    return first;
}

void log_manager::request_flush(const topic_partition& tp) {
    {
        std::lock_guard lock(flush_mu_);
        flush_requested_.insert(tp);
    }
    flush_cv_.notify_one();
}

void log_manager::flusher_loop() {
    int64_t last_checkpoint = now_ms();
    std::unique_lock lock(flush_mu_);
    while (!stopping_) {
        flush_cv_.wait_for(lock, std::chrono::milliseconds(cfg_.flush_check_interval_ms),
                           [&] { return stopping_ || !flush_requested_.empty(); });
        if (stopping_) break;
        std::set<topic_partition> requested;
        requested.swap(flush_requested_);
        lock.unlock();

        std::vector<std::pair<topic_partition, std::shared_ptr<log>>> all;
        {
            std::lock_guard map_lock(mu_);
            for (const auto& [tp, v] : logs_) all.emplace_back(tp, v.first);
        }
        const int64_t now = now_ms();
        for (const auto& [tp, l] : all) {
            if (l->offline() || !(requested.contains(tp) || l->flush_due(now))) continue;
            if (status s = l->flush(); !s.ok()) {
                logger()->error("flush of {} failed: {}", tp.dir_name(), s.message);
            }
        }
        if (now - last_checkpoint >= cfg_.checkpoint_interval_ms) {
            checkpoint_offsets().ignore_error();  // a failure took its directory offline
            last_checkpoint = now;
        }
        lock.lock();
    }
}

status log_manager::shutdown() {
    if (shut_down_) return {};
    shut_down_ = true;
    {
        std::lock_guard lock(flush_mu_);
        stopping_ = true;
    }
    flush_cv_.notify_one();
    if (flusher_.joinable()) flusher_.join();

    std::vector<bool> dir_clean(dirs_.size(), true);
    {
        std::lock_guard lock(mu_);
        for (const auto& [tp, v] : logs_) {
            if (status s = v.first->close(); !s.ok()) {
                logger()->error("closing {} failed: {}", tp.dir_name(), s.message);
                dir_clean[v.second] = false;
            }
        }
    }
    status result = checkpoint_offsets();
    for (size_t i = 0; i < dirs_.size(); ++i) {
        const auto& d = dirs_[i];
        if (d.health->offline() || !dir_clean[i]) continue;
        auto marker = file_handle::open(d.path / kCleanShutdownMarker, true);
        if (!marker) {
            result = marker.error();
            continue;
        }
        if (status s = sync_directory(d.path); !s.ok()) result = s;
    }
    logger()->info("log manager shut down cleanly");
    return result;
}

}  // namespace gregor::storage
