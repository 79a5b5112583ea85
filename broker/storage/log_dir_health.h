// Whether one log directory (an entry of log.dirs) is usable. The first I/O error on any log in
// it takes the whole directory offline: its logs refuse every further call with
// kafka_storage_error, while the process and other directories carry on (as Kafka's
// LogDirFailureChannel). Thread-safe: any thread may read or mark it.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>

#include "common/errc.h"

namespace gregor::storage {

class log_dir_health {
public:
    explicit log_dir_health(std::filesystem::path dir) : dir_(std::move(dir)) {}

    bool offline() const noexcept { return offline_.load(std::memory_order_acquire); }
    // Takes the directory offline (once; later reasons are only logged) and returns the error
    // to give the caller.
    status mark_offline(const status& cause);
    // The error every call on an offline directory returns.
    status offline_error() const;
    const std::filesystem::path& dir() const noexcept { return dir_; }

private:
    const std::filesystem::path dir_;
    std::atomic<bool> offline_{false};
    mutable std::mutex mu_;
    std::string reason_;  // guarded by mu_
};

}  // namespace gregor::storage
