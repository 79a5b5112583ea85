#include "coordination/isr_updater.h"

#include <vector>

#include "common/logger.h"
#include "coordination/zk_paths.h"

namespace gregor::coordination {
namespace zp = zk_paths;
namespace {

std::shared_ptr<spdlog::logger> log() {
    static const auto logger = logging::get("coordination");
    return logger;
}

// Far below ZooKeeper's 1 MiB jute.maxbuffer even with 249-character topic names.
constexpr size_t kPartitionsPerNotification = 1000;

std::string join(const std::vector<int32_t>& ids) {
    std::string out;
    for (const int32_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
    return out;
}

status to_status(const zk_status& s) {
    if (is_connection_error(s.code())) return {errc::request_timed_out, "ZooKeeper did not answer: " + s.message()};
    return {errc::unknown_server_error, s.message()};
}

bool same_decision(const partition_state& a, const partition_state& b) {
    return a.leader == b.leader && a.leader_epoch == b.leader_epoch && a.isr == b.isr &&
           a.controller_epoch == b.controller_epoch;
}

}  // namespace

isr_updater::isr_updater(zk_client& zk, coordination_thread& thread, int32_t broker_id,
                         std::chrono::milliseconds notification_delay, std::chrono::milliseconds retry_backoff)
    : zk_(zk),
      thread_(thread),
      broker_id_(broker_id),
      notification_delay_(notification_delay),
      retry_backoff_(retry_backoff) {
    zk_.add_session_listener(this);
}

result<int32_t> isr_updater::update(const topic_partition& tp, const partition_state& state) {
    if (state.leader != broker_id_) {
        return status(errc::invalid_request, "Broker " + std::to_string(broker_id_) + " cannot change the ISR of " +
                                                 tp.dir_name() + ": only its leader does");
    }
    const std::string path = zp::partition_state_path(tp.topic, tp.partition);
    auto written = zk_.set(path, zp::encode_partition_state(state), state.zk_version);
    if (written.ok()) {
        log()->info("ISR of {} is now [{}] (leader epoch {}, state znode version {})", tp.dir_name(), join(state.isr),
                    state.leader_epoch, written->version);
        changed(tp);
        return written->version;
    }
    if (written.code() == zk_errc::no_node) {
        return status(errc::unknown_topic_or_partition, "Partition " + tp.dir_name() + " has no state in ZooKeeper");
    }
    if (written.code() != zk_errc::bad_version) return to_status(written.status());

    auto node = zk_.get(path);
    if (node.code() == zk_errc::no_node) {
        return status(errc::unknown_topic_or_partition, "Partition " + tp.dir_name() + " has no state in ZooKeeper");
    }
    if (!node) return to_status(node.status());
    auto current = zp::decode_partition_state(node->data, node->stat.version);
    if (current.ok() && same_decision(*current, state)) {
        changed(tp);  // the first attempt may have gone through without its notification
        return node->stat.version;
    }
    log()->info("ISR change of {} to [{}] refused: the state znode is at version {}, not {}; the controller's "
                "next LeaderAndIsr carries the current state",
                tp.dir_name(), join(state.isr), node->stat.version, state.zk_version);
    return status(errc::invalid_update_version, "The state of " + tp.dir_name() + " is at znode version " +
                                                    std::to_string(node->stat.version) + ", not " +
                                                    std::to_string(state.zk_version));
}

void isr_updater::on_session_established(bool new_session) {
    (void)new_session;  // pending notifications are written on any session
    if (!pending_.empty()) schedule_notification(std::chrono::milliseconds(0));
}

void isr_updater::changed(const topic_partition& tp) {
    pending_.insert(tp);
    schedule_notification(notification_delay_);
}

void isr_updater::schedule_notification(std::chrono::milliseconds delay) {
    if (scheduled_) return;
    scheduled_ = true;
    thread_.post_after(delay, [this] {
        scheduled_ = false;
        write_notifications();
    });
}

void isr_updater::write_notifications() {
    while (!pending_.empty()) {
        std::vector<topic_partition> batch;
        for (auto it = pending_.begin(); it != pending_.end() && batch.size() < kPartitionsPerNotification; ++it) {
            batch.push_back(*it);
        }
        auto created = zk_.create(zp::isr_change_path_prefix(), zp::encode_isr_change(batch),
                                  create_mode::persistent_sequential, /*create_parents=*/true);
        if (!created.ok()) {
            if (created.code() == zk_errc::closing) return;
            // Without a session, on_session_established tries again; a lost reply may mean the
            // notification exists already, and a second one only costs the controller a read.
            if (is_connection_error(created.code()) && !zk_.connected()) return;
            log()->warn("Could not notify the controller of ISR changes ({}); retrying in {} ms",
                        created.status().message(), retry_backoff_.count());
            schedule_notification(retry_backoff_);
            return;
        }
        for (const auto& tp : batch) pending_.erase(tp);
    }
}

}  // namespace gregor::coordination
