#include "coordination/controller_election.h"

#include <vector>

#include "common/clock.h"
#include "common/logger.h"
#include "coordination/zk_paths.h"

namespace gregor::coordination {
namespace {

std::shared_ptr<spdlog::logger> log() {
    static const auto logger = logging::get("coordination");
    return logger;
}

int64_t now_ms() {
    return wall_clock_ms();
}

}  // namespace

controller_election::controller_election(zk_client& zk, coordination_thread& thread, int32_t broker_id,
                                         listener& l, std::chrono::milliseconds retry_backoff)
    : zk_(zk), thread_(thread), broker_id_(broker_id), listener_(l), retry_backoff_(retry_backoff) {
    zk_.add_session_listener(this);
    // Deleted: the seat is free, run for it. Created or changed: learn who holds it.
    watch_ = zk_.watch(zk_paths::controller_path(), [this](const watch_event&) { elect(); });
}

controller_election::~controller_election() { zk_.unwatch(watch_); }

void controller_election::on_session_expired() {
    // The ephemeral /controller went with the session.
    if (active_) step_down();
    set_controller(-1);
}

void controller_election::on_session_established(bool new_session) {
    (void)new_session;  // after a mere reconnect the seat may have changed hands too
    elect();
}

void controller_election::resign() {
    if (!active_) return;
    log()->warn("Broker {} lost the controller seat (epoch {} is fenced)", broker_id_, epoch_);
    step_down();
    set_controller(-1);
    elect();
}

void controller_election::elect() {
    const zk_status s = try_elect();
    if (s.ok() || s.code() == zk_errc::closing) return;
    // Without a connection the next on_session_established runs elect() again.
    if (is_connection_error(s.code()) && !zk_.connected()) return;
    log()->warn("Controller election on broker {} failed: {}; retrying", broker_id_, s.message());
    retry_later();
}

zk_status controller_election::try_elect() {
    const std::string path = zk_paths::controller_path();
    // A pass ends with a known controller or a lost race; a few races in a row are retried
    // by the timer.
    for (int pass = 0; pass < 5; ++pass) {
        auto node = zk_.get(path, /*watch=*/true);
        if (node.ok()) {
            auto id = zk_paths::decode_controller(node->data);
            if (!id) log()->warn("Unreadable {}: {}", path, id.status().message());
            const int32_t holder = id.ok() ? *id : -1;
            if (holder == broker_id_ && node->stat.ephemeral_owner == zk_.session_id()) {
                if (active_) return {};
                // Our multi committed but its reply was lost. Nobody can have raised the
                // epoch since: that needs /controller, which is ours.
                auto epoch = read_or_create_epoch();
                if (!epoch) return epoch.status();
                become_controller(epoch->first, epoch->second);
                return {};
            }
            if (active_) step_down();
            set_controller(holder);
            return {};
        }
        if (node.code() != zk_errc::no_node) return node.status();

        // The seat is free. Arm a creation watch first, so a rival's win is not missed.
        auto stat = zk_.exists(path, /*watch=*/true);
        if (!stat) return stat.status();
        if (stat->has_value()) continue;
        if (active_) step_down();
        auto epoch = read_or_create_epoch();
        if (!epoch) return epoch.status();
        const auto [current, version] = *epoch;
        const std::vector<zk_op> ops = {
            zk_op::create(path, zk_paths::encode_controller(broker_id_, now_ms()), create_mode::ephemeral),
            zk_op::set(zk_paths::controller_epoch_path(), zk_paths::encode_controller_epoch(current + 1), version),
        };
        auto won = zk_.multi(ops);
        if (won.ok()) {
            become_controller(current + 1, won.results[1].stat.version);
            return {};
        }
        // node_exists: a rival won. bad_version: a rival won and already left. Look again.
        if (won.code != zk_errc::node_exists && won.code != zk_errc::bad_version) {
            return {won.code, won.message};
        }
    }
    return {zk_errc::other, "the controller seat changed hands repeatedly during the election"};
}

zk_result<std::pair<int32_t, int32_t>> controller_election::read_or_create_epoch() {
    const std::string path = zk_paths::controller_epoch_path();
    auto node = zk_.get(path);
    if (node.code() == zk_errc::no_node) {
        auto created = zk_.create(path, zk_paths::encode_controller_epoch(0), create_mode::persistent);
        if (!created.ok() && created.code() != zk_errc::node_exists) return created.status();
        node = zk_.get(path);
    }
    if (!node) return node.status();
    auto epoch = zk_paths::decode_controller_epoch(node->data);
    if (!epoch) return epoch.status();
    return std::make_pair(*epoch, node->stat.version);
}

void controller_election::become_controller(int32_t epoch, int32_t epoch_zk_version) {
    active_ = true;
    epoch_ = epoch;
    log()->info("Broker {} is the controller now (epoch {})", broker_id_, epoch);
    set_controller(broker_id_);
    listener_.on_became_controller(epoch, epoch_zk_version);
}

void controller_election::step_down() {
    active_ = false;
    log()->info("Broker {} resigned as controller (epoch {})", broker_id_, epoch_);
    listener_.on_resigned();
}

void controller_election::set_controller(int32_t id) {
    if (id == controller_id_) return;
    controller_id_ = id;
    if (id != broker_id_ && id >= 0) log()->info("The controller is broker {}", id);
    listener_.on_controller_changed(id);
}

void controller_election::retry_later() {
    if (retry_pending_) return;
    retry_pending_ = true;
    thread_.post_after(retry_backoff_, [this] {
        retry_pending_ = false;
        elect();
    });
}

}  // namespace gregor::coordination
