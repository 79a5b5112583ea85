#include "coordination/broker_registry.h"

#include <algorithm>
#include <charconv>

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

std::optional<int32_t> parse_id(const std::string& s) {
    int32_t id = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (ec != std::errc() || end != s.data() + s.size() || id < 0) return std::nullopt;
    return id;
}

}  // namespace

broker_registry::broker_registry(zk_client& zk, coordination_thread& thread, broker_registry_config config,
                                 listener& l)
    : zk_(zk), thread_(thread), config_(std::move(config)), listener_(l) {
    broker_info& self = config_.self;
    // Kafka's top-level host/port: the first PLAINTEXT endpoint, for clients that predate
    // the endpoint list.
    if (self.host.empty()) {
        for (const auto& e : self.endpoints) {
            if (e.security_protocol == "PLAINTEXT") {
                self.host = e.host;
                self.port = e.port;
                break;
            }
        }
    }
    zk_.add_session_listener(this);
    watches_.push_back(zk_.watch(zk_paths::broker_ids_path(), [this](const watch_event& e) {
        if (e.type == watch_event::kind::children_changed) handle(refresh_live_brokers());
    }));
    watches_.push_back(zk_.watch(zk_paths::broker_path(self.id), [this](const watch_event& e) {
        // Our znode went away: another session's (we can take the id now) or our own (deleted
        // by hand). Either way, register.
        if (e.type != watch_event::kind::deleted || failed_) return;
        registered_ = false;
        handle(register_self());
    }));
}

broker_registry::~broker_registry() {
    for (auto id : watches_) zk_.unwatch(id);
}

void broker_registry::on_session_expired() {
    registered_ = false;
    if (registered_session_ != 0) old_sessions_.insert(registered_session_);
    registered_session_ = 0;
}

void broker_registry::on_session_established(bool new_session) {
    (void)new_session;  // same session: re-checking is cheap and catches a lost reply
    sync();
}

void broker_registry::sync() {
    if (failed_) return;
    zk_status s = ensure_top_level_paths();
    if (s.ok() && cluster_id_.empty()) s = load_cluster_id();
    if (s.ok()) s = register_self();
    if (s.ok()) s = refresh_live_brokers();
    handle(s);
}

void broker_registry::handle(const zk_status& s) {
    if (s.ok() || s.code() == zk_errc::closing) return;
    // Without a connection the next on_session_established runs sync(); polling adds nothing.
    if (is_connection_error(s.code()) && !zk_.connected()) {
        log()->info("Broker registration waits for ZooKeeper: {}", s.message());
        return;
    }
    log()->warn("Broker registration for broker.id {} is incomplete: {}; retrying", config_.self.id,
                s.message());
    retry_later();
}

zk_status broker_registry::ensure_top_level_paths() {
    for (const auto& path : zk_paths::persistent_paths()) {
        auto r = zk_.create(path, "", create_mode::persistent);
        if (!r.ok() && r.code() != zk_errc::node_exists) return r.status();
    }
    return {};
}

zk_status broker_registry::load_cluster_id() {
    const std::string path = zk_paths::cluster_id_path();
    auto node = zk_.get(path);
    if (node.code() == zk_errc::no_node) {
        const std::string fresh = zk_paths::new_uuid();
        auto created = zk_.create(path, zk_paths::encode_cluster_id(fresh), create_mode::persistent);
        if (!created.ok() && created.code() != zk_errc::node_exists) return created.status();
        node = zk_.get(path);  // whoever won the race, read the id that stands
    }
    if (!node) return node.status();
    auto id = zk_paths::decode_cluster_id(node->data);
    if (!id) return id.status();
    cluster_id_ = *id;
    log()->info("Cluster ID = {}", cluster_id_);
    listener_.on_cluster_id(cluster_id_);
    return {};
}

zk_status broker_registry::register_self() {
    if (failed_) return {};
    const broker_info& self = config_.self;
    const std::string path = zk_paths::broker_path(self.id);
    // Each pass either settles the registration or removes a znode in the way; a third pass
    // means the znode keeps coming back, which the retry timer will look at again.
    for (int pass = 0; pass < 3; ++pass) {
        const int64_t session = zk_.session_id();
        auto created = zk_.create(path, zk_paths::encode_broker(self, now_ms()), create_mode::ephemeral);
        int64_t owner = session;
        if (!created.ok()) {
            if (created.code() != zk_errc::node_exists) return created.status();
            // Watch it, so that its deletion (a conflicting session ending) wakes us.
            auto stat = zk_.exists(path, /*watch=*/true);
            if (!stat) return stat.status();
            if (!stat->has_value()) continue;  // gone meanwhile
            owner = (*stat)->ephemeral_owner;
            if (owner != session && old_sessions_.contains(owner)) {
                log()->info("Deleting {} left by this broker's expired session 0x{:x}", path, owner);
                auto removed = zk_.remove(path, (*stat)->version);
                if (!removed.ok() && removed.code() != zk_errc::no_node && removed.code() != zk_errc::bad_version) {
                    return removed;
                }
                continue;
            }
            if (owner != session) {
                report_conflict(owner);
                return {};
            }
        } else {
            // Arm the deletion watch on our own znode too.
            auto stat = zk_.exists(path, /*watch=*/true);
            if (!stat) return stat.status();
        }
        const bool was_registered = registered_;
        registered_ = true;
        registered_session_ = owner;
        conflict_since_.reset();
        if (!was_registered) {
            std::string addresses;
            for (const auto& e : self.endpoints) {
                addresses += (addresses.empty() ? "" : ",") + zk_paths::endpoint_string(e);
            }
            log()->info("Registered broker {} at path {} with addresses: {} (session 0x{:x})", self.id, path,
                        addresses, owner);
            listener_.on_registered();
        }
        return {};
    }
    return {zk_errc::node_exists, path + " keeps reappearing"};
}

void broker_registry::report_conflict(int64_t owner) {
    const auto now = std::chrono::steady_clock::now();
    const std::string message = "broker.id " + std::to_string(config_.self.id) +
                                " is already registered by another broker (ZooKeeper session 0x" +
                                fmt::format("{:x}", owner) + ")";
    if (!conflict_since_) {
        conflict_since_ = now;
        last_conflict_log_ = now - std::chrono::hours(1);
    }
    if (config_.conflict_timeout.count() > 0 && now - *conflict_since_ >= config_.conflict_timeout) {
        failed_ = true;
        log()->error("{}; giving up after {} ms", message, config_.conflict_timeout.count());
        listener_.on_registration_failed(message);
        return;
    }
    if (now - last_conflict_log_ >= std::chrono::seconds(5)) {
        log()->error("{}; retrying until that registration goes away", message);
        last_conflict_log_ = now;
    }
    retry_later();
}

zk_status broker_registry::refresh_live_brokers() {
    auto ids = zk_.get_children(zk_paths::broker_ids_path(), /*watch=*/true);
    if (!ids) return ids.status();
    std::vector<broker_info> live;
    for (const auto& name : *ids) {
        const auto id = parse_id(name);
        if (!id) continue;
        auto node = zk_.get(zk_paths::broker_path(*id));
        if (node.code() == zk_errc::no_node) continue;  // left since the listing
        if (!node) return node.status();
        auto info = zk_paths::decode_broker(*id, node->data);
        if (!info) {
            log()->warn("Ignoring the registration of broker {}: {}", *id, info.status().message());
            continue;
        }
        live.push_back(std::move(*info));
    }
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    if (live != live_) {
        live_ = std::move(live);
        listener_.on_live_brokers_changed(live_);
    }
    return {};
}

void broker_registry::retry_later() {
    if (retry_pending_ || failed_) return;
    retry_pending_ = true;
    thread_.post_after(config_.retry_backoff, [this] {
        retry_pending_ = false;
        sync();
    });
}

}  // namespace gregor::coordination
