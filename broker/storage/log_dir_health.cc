#include "broker/storage/log_dir_health.h"

#include "common/logger.h"

namespace gregor::storage {

status log_dir_health::mark_offline(const status& cause) {
    {
        std::lock_guard lock(mu_);
        if (!offline_.exchange(true, std::memory_order_acq_rel)) {
            reason_ = cause.message;
            logging::get("storage")->error(
                "log directory {} is now offline after an I/O error: {}; its partitions refuse "
                "reads and writes until the broker is restarted with the disk repaired",
                dir_.string(), cause.message);
        }
    }
    return offline_error();
}

status log_dir_health::offline_error() const {
    std::lock_guard lock(mu_);
    return {errc::kafka_storage_error,
            "log directory " + dir_.string() + " is offline (" + reason_ + ")"};
}

}  // namespace gregor::storage
