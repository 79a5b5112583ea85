#include "coordination/controller.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/logger.h"
#include "coordination/topic_name.h"
#include "coordination/zk_paths.h"

namespace gregor::coordination {
namespace zp = zk_paths;
namespace {

std::shared_ptr<spdlog::logger> log() {
    static const auto logger = logging::get("controller");
    return logger;
}

// ZooKeeper refuses requests above jute.maxbuffer (1 MiB by default); these keep a multi far
// below it (a state write is ~150 bytes, a delete ~80).
constexpr size_t kPartitionsPerMulti = 200;
constexpr size_t kOpsPerMulti = 1000;

std::string join(const auto& ids) {
    std::string out;
    for (const auto& id : ids) {
        if (!out.empty()) out += ',';
        out += std::to_string(id);
    }
    return out;
}

std::optional<int32_t> parse_id(const std::string& s) {
    int32_t id = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (ec != std::errc() || end != s.data() + s.size() || id < 0) return std::nullopt;
    return id;
}

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

bool contains_name(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

zk_status from_multi(const zk_multi_result& r) { return r.ok() ? zk_status() : zk_status(r.code, r.message); }

constexpr std::string_view kUncleanLeaderElectionKey = "unclean.leader.election.enable";

// A config boolean as Kafka reads one: "true" or "false" in any case.
std::optional<bool> parse_bool(std::string value) {
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
    if (value == "true") return true;
    if (value == "false") return false;
    return std::nullopt;
}

}  // namespace

controller::controller(zk_client& zk, coordination_thread& thread, controller_config config,
                       controller_channel& channel, std::function<void()> on_fenced)
    : zk_(zk),
      thread_(thread),
      config_(std::move(config)),
      channel_(channel),
      on_fenced_(std::move(on_fenced)),
      rng_(config_.assignment_seed ? *config_.assignment_seed : std::random_device{}()) {
    zk_.add_session_listener(this);
    auto handler = [this](const char* what, zk_status (controller::*step)()) {
        return [this, what, step](const watch_event&) {
            if (active_) run(what, [this, step] { return (this->*step)(); });
        };
    };
    watches_.push_back(zk_.watch(zp::broker_ids_path(), handler("broker change", &controller::on_broker_change)));
    watches_.push_back(zk_.watch(zp::topics_path(), handler("topic change", &controller::on_topic_change)));
    watches_.push_back(zk_.watch(zp::delete_topics_path(), handler("topic deletion", &controller::on_delete_topics)));
    watches_.push_back(zk_.watch(zp::isr_changes_path(), handler("ISR change", &controller::on_isr_change)));
    watches_.push_back(zk_.watch(zp::reassign_partitions_path(),
                                 handler("partition reassignment", &controller::on_reassign_change)));
}

controller::~controller() {
    for (auto id : watches_) zk_.unwatch(id);
}

// --- lifecycle -------------------------------------------------------------------------------

void controller::activate(int32_t epoch, int32_t epoch_zk_version) {
    active_ = true;
    epoch_ = epoch;
    epoch_zk_version_ = epoch_zk_version;
    ++activation_;
    resync_needed_ = false;
    shutting_down_.clear();
    log()->info("Controller {} starting with epoch {} (fence: /controller_epoch version {})", config_.broker_id,
                epoch, epoch_zk_version);
    run("controller failover", [this] { return load_and_publish(); });
    if (active_) schedule_rebalance();
}

void controller::deactivate() {
    if (active_) log()->info("Controller {} with epoch {} stops", config_.broker_id, epoch_);
    active_ = false;
    ++activation_;
    live_.clear();
    channel_.live_brokers_changed({});
    topics_.clear();
    states_.clear();
    deleting_.clear();
    shutting_down_.clear();
    reassigning_.clear();
    resync_needed_ = false;
}

void controller::fenced() {
    log()->error("Controller {} epoch {} is fenced: another controller was elected; it writes nothing more",
                 config_.broker_id, epoch_);
    deactivate();
    // Posted, not called: the election may re-run at once and even re-activate this controller,
    // which must not happen under the write that just failed.
    if (on_fenced_) thread_.post(on_fenced_);
}

void controller::on_session_established(bool new_session) {
    (void)new_session;
    if (active_ && resync_needed_) run("resync", [this] { return load_and_publish(); });
}

void controller::run(const char* what, const std::function<zk_status()>& step) {
    if (!active_) return;
    const zk_status s = step();
    if (s.ok() || !active_ || s.code() == zk_errc::closing) return;  // done, fenced (which said so), or shutting down
    resync_needed_ = true;
    if (is_connection_error(s.code()) && !zk_.connected()) {
        log()->warn("{} interrupted: {}; reloading the cluster state once ZooKeeper is back", what, s.message());
        return;
    }
    log()->warn("{} failed: {}; reloading the cluster state in {} ms", what, s.message(),
                config_.retry_backoff.count());
    if (resync_pending_) return;
    resync_pending_ = true;
    thread_.post_after(config_.retry_backoff, [this, activation = activation_] {
        resync_pending_ = false;
        if (activation == activation_ && active_ && resync_needed_) {
            run("resync", [this] { return load_and_publish(); });
        }
    });
}

void controller::schedule_rebalance() {
    if (!config_.auto_leader_rebalance) return;
    thread_.post_after(config_.leader_imbalance_check_interval, [this, activation = activation_] {
        if (activation != activation_ || !active_) return;
        run("preferred leader check", [this] { return check_preferred_leaders(); });
        schedule_rebalance();
    });
}

// --- reading ---------------------------------------------------------------------------------

zk_result<std::map<int32_t, controller::live_broker>> controller::read_live_brokers() {
    auto names = zk_.get_children(zp::broker_ids_path(), /*watch=*/true);
    if (!names) return names.status();
    std::map<int32_t, live_broker> out;
    for (const auto& name : *names) {
        const auto id = parse_id(name);
        if (!id) continue;
        auto node = zk_.get(zp::broker_path(*id));
        if (node.code() == zk_errc::no_node) continue;
        if (!node) return node.status();
        auto info = zp::decode_broker(*id, node->data);
        if (!info) {
            log()->warn("Ignoring broker {}: {}", *id, info.status().message());
            continue;
        }
        out.emplace(*id, live_broker{std::move(*info), node->stat.czxid});
    }
    return out;
}

zk_status controller::load_topic(const std::string& topic) {
    auto node = zk_.get(zp::topic_path(topic));
    if (node.code() == zk_errc::no_node) {
        topics_.erase(topic);
        return {};
    }
    if (!node) return node.status();
    auto assignment = zp::decode_topic_assignment(node->data);
    if (!assignment) {
        log()->error("Ignoring topic {}: {}", topic, assignment.status().message());
        return {};
    }
    topics_[topic] = topic_entry{assignment->topic_id, assignment->partitions, node->stat.version};
    for (const auto& [p, replicas] : assignment->partitions) {
        if (auto s = reload_state({topic, p}); !s.ok()) return s;
    }
    return {};
}

zk_status controller::reload_state(const topic_partition& tp) {
    auto node = zk_.get(zp::partition_state_path(tp.topic, tp.partition));
    if (node.code() == zk_errc::no_node) {
        states_.erase(tp);
        return {};
    }
    if (!node) return node.status();
    auto state = zp::decode_partition_state(node->data, node->stat.version);
    if (!state) {
        // Keep it offline with no ISR: nobody is known to hold its data. A later write replaces
        // the znode, conditional on the version read here.
        log()->error("Partition {} has an unreadable state ({}); it stays offline", tp.dir_name(),
                     state.status().message());
        partition_state offline;
        offline.zk_version = node->stat.version;
        states_[tp] = offline;
        return {};
    }
    states_[tp] = *state;
    return {};
}

// --- writing ---------------------------------------------------------------------------------

zk_multi_result controller::fenced_multi(std::vector<zk_op> ops) {
    ops.insert(ops.begin(), zk_op::check(zp::controller_epoch_path(), epoch_zk_version_));
    zk_multi_result r = zk_.multi(ops);
    if (r.ok()) {
        r.results.erase(r.results.begin());
        return r;
    }
    if (r.failed_op == 0) {
        if (r.code == zk_errc::bad_version || r.code == zk_errc::no_node) fenced();
        r.failed_op = -1;
        r.message = "fenced: " + r.message;
    } else if (r.failed_op > 0) {
        --r.failed_op;  // index into the caller's ops
    }
    return r;
}

zk_status controller::fenced_multi_chunked(const std::vector<zk_op>& ops) {
    for (size_t i = 0; i < ops.size(); i += kOpsPerMulti) {
        const auto end = ops.begin() + static_cast<std::ptrdiff_t>(std::min(ops.size(), i + kOpsPerMulti));
        auto r = fenced_multi(std::vector<zk_op>(ops.begin() + static_cast<std::ptrdiff_t>(i), end));
        if (!r.ok()) return from_multi(r);
    }
    return {};
}

zk_status controller::ensure_partition_parents(const std::string& topic, const std::vector<int32_t>& partitions) {
    const std::string parent = zp::topic_partitions_path(topic);
    auto kids = zk_.get_children(parent);
    if (!kids && kids.code() != zk_errc::no_node) return kids.status();
    std::vector<zk_op> ops;
    if (!kids) ops.push_back(zk_op::create(parent, ""));
    for (const int32_t p : partitions) {
        if (!kids || !contains_name(*kids, std::to_string(p))) {
            ops.push_back(zk_op::create(zp::partition_path(topic, p), ""));
        }
    }
    return fenced_multi_chunked(ops);
}

zk_result<std::vector<topic_partition>> controller::update_states(const std::vector<topic_partition>& tps,
                                                                  const decide_fn& decide) {
    std::vector<topic_partition> written;
    std::vector<topic_partition> pending = tps;
    // A conflict (a leader's ISR write, a racing deletion) re-reads the partition and decides
    // again; three rounds settle anything but a storm.
    for (int round = 0; round < 3 && !pending.empty(); ++round) {
        struct write {
            topic_partition tp;
            partition_state state;
            bool exists;  // set at the version read, else create
        };
        std::vector<write> writes;
        for (const auto& tp : pending) {
            if (replicas_of(tp) == nullptr) continue;
            const auto it = states_.find(tp);
            const bool exists = it != states_.end();
            auto next = decide(tp, exists ? std::optional<partition_state>(it->second) : std::nullopt);
            if (!next) continue;
            next->controller_epoch = epoch_;
            writes.push_back({tp, std::move(*next), exists});
        }
        pending.clear();
        for (size_t i = 0; i < writes.size(); i += kPartitionsPerMulti) {
            const size_t end = std::min(writes.size(), i + kPartitionsPerMulti);
            std::vector<zk_op> ops;
            for (size_t j = i; j < end; ++j) {
                const write& w = writes[j];
                const std::string path = zp::partition_state_path(w.tp.topic, w.tp.partition);
                const std::string data = zp::encode_partition_state(w.state);
                ops.push_back(w.exists ? zk_op::set(path, data, w.state.zk_version) : zk_op::create(path, data));
            }
            auto r = fenced_multi(std::move(ops));
            if (r.ok()) {
                for (size_t j = i; j < end; ++j) {
                    write& w = writes[j];
                    w.state.zk_version = w.exists ? r.results[j - i].stat.version : 0;
                    states_[w.tp] = w.state;
                    written.push_back(w.tp);
                }
                continue;
            }
            if (!active_) return from_multi(r);
            if (r.code != zk_errc::bad_version && r.code != zk_errc::node_exists && r.code != zk_errc::no_node) {
                return from_multi(r);
            }
            for (size_t j = i; j < end; ++j) {
                if (auto s = reload_state(writes[j].tp); !s.ok()) return s;
                pending.push_back(writes[j].tp);
            }
        }
    }
    if (!pending.empty()) return zk_status(zk_errc::bad_version, "partition states kept changing under the controller");
    return written;
}

zk_status controller::initialise_partitions(const std::vector<topic_partition>& tps,
                                            std::vector<topic_partition>& initialised) {
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& tp : tps) by_topic[tp.topic].push_back(tp.partition);
    for (const auto& [topic, partitions] : by_topic) {
        if (auto s = ensure_partition_parents(topic, partitions); !s.ok()) return s;
    }
    const broker_set live = live_set();
    auto written = update_states(tps, [&](const topic_partition& tp, const std::optional<partition_state>& current) {
        if (current) return std::optional<partition_state>();
        auto st = initial_state(*replicas_of(tp), live);
        if (!st) log()->warn("Partition {} has no live replica ({}); it waits for one", tp.dir_name(), join(*replicas_of(tp)));
        return st;
    });
    if (!written) return written.status();
    initialised.insert(initialised.end(), written->begin(), written->end());
    return {};
}

// --- telling brokers ---------------------------------------------------------------------------

std::vector<int32_t> controller::live_ids() const {
    std::vector<int32_t> ids;
    for (const auto& [id, b] : live_) ids.push_back(id);
    return ids;
}

broker_set controller::live_set() const {
    broker_set ids;
    for (const auto& [id, b] : live_) ids.insert(id);
    return ids;
}

std::vector<broker_info> controller::live_infos() const {
    std::vector<broker_info> out;
    for (const auto& [id, b] : live_) out.push_back(b.info);
    return out;
}

std::optional<partition_info> controller::info(const topic_partition& tp) const {
    const auto topic = topics_.find(tp.topic);
    if (topic == topics_.end()) return std::nullopt;
    const auto replicas = topic->second.replicas.find(tp.partition);
    if (replicas == topic->second.replicas.end()) return std::nullopt;
    partition_info out;
    out.tp = tp;
    out.topic_id = topic->second.id;
    out.replicas = replicas->second;
    // A partition never initialised reads as offline.
    if (const auto st = states_.find(tp); st != states_.end()) out.state = st->second;
    return out;
}

void controller::send_leader_and_isr(int32_t broker, std::vector<partition_info> partitions, bool full) {
    leader_and_isr_request req;
    req.controller_id = config_.broker_id;
    req.controller_epoch = epoch_;
    req.full = full;
    std::set<int32_t> leaders;
    for (const auto& p : partitions) {
        if (live_.contains(p.state.leader)) leaders.insert(p.state.leader);
    }
    for (const int32_t l : leaders) req.leaders.push_back(live_.at(l).info);
    req.partitions = std::move(partitions);
    channel_.leader_and_isr(broker, req);
}

void controller::publish(const std::vector<topic_partition>& changed, bool brokers_changed,
                         const std::vector<std::string>& deleted_topics) {
    if (changed.empty() && !brokers_changed && deleted_topics.empty()) return;
    std::map<int32_t, std::vector<partition_info>> per_broker;
    std::vector<partition_info> infos;
    for (const auto& tp : changed) {
        auto i = info(tp);
        if (!i) continue;
        for (const int32_t r : i->replicas) {
            if (live_.contains(r)) per_broker[r].push_back(*i);
        }
        infos.push_back(std::move(*i));
    }
    for (auto& [broker, partitions] : per_broker) send_leader_and_isr(broker, std::move(partitions), false);
    metadata_update u;
    u.controller_id = config_.broker_id;
    u.controller_epoch = epoch_;
    u.live_brokers = live_infos();
    u.partitions = std::move(infos);
    u.deleted_topics = deleted_topics;
    channel_.update_metadata(live_ids(), u);
}

void controller::send_full_state(const std::vector<int32_t>& brokers) {
    if (brokers.empty()) return;
    metadata_update u;
    u.controller_id = config_.broker_id;
    u.controller_epoch = epoch_;
    u.live_brokers = live_infos();
    u.full = true;
    std::map<int32_t, std::vector<partition_info>> per_broker;
    for (const auto& tp : all_partitions(/*include_deleting=*/false)) {
        auto i = info(tp);
        for (const int32_t r : i->replicas) per_broker[r].push_back(*i);
        u.partitions.push_back(std::move(*i));
    }
    for (const auto& [topic, d] : deleting_) u.deleted_topics.push_back(topic);
    channel_.update_metadata(brokers, u);
    for (const int32_t b : brokers) send_leader_and_isr(b, std::move(per_broker[b]), /*full=*/true);
}

// --- cache helpers ---------------------------------------------------------------------------

const std::vector<int32_t>* controller::replicas_of(const topic_partition& tp) const {
    const auto topic = topics_.find(tp.topic);
    if (topic == topics_.end()) return nullptr;
    const auto replicas = topic->second.replicas.find(tp.partition);
    return replicas == topic->second.replicas.end() ? nullptr : &replicas->second;
}

std::vector<topic_partition> controller::all_partitions(bool include_deleting) const {
    std::vector<topic_partition> out;
    for (const auto& [topic, entry] : topics_) {
        if (!include_deleting && deleting_.contains(topic)) continue;
        for (const auto& [p, replicas] : entry.replicas) out.push_back({topic, p});
    }
    return out;
}

std::vector<partition_info> controller::partitions() const {
    std::vector<partition_info> out;
    for (const auto& tp : all_partitions(/*include_deleting=*/true)) out.push_back(*info(tp));
    return out;
}

status controller::error_from(const zk_status& s, uint64_t activation) const {
    if (!active_ || activation != activation_) {
        return {errc::not_controller, "This is not the correct controller for this cluster."};
    }
    if (is_connection_error(s.code())) return {errc::request_timed_out, "ZooKeeper did not answer: " + s.message()};
    return {errc::unknown_server_error, s.message()};
}

// --- events ----------------------------------------------------------------------------------

zk_status controller::load_and_publish() {
    resync_needed_ = false;
    live_.clear();
    topics_.clear();
    states_.clear();
    deleting_.clear();
    reassigning_.clear();

    auto topics = zk_.get_children(zp::topics_path(), /*watch=*/true);
    if (!topics) return topics.status();
    for (const auto& t : *topics) {
        if (auto s = load_topic(t); !s.ok()) return s;
    }
    auto deletions = zk_.get_children(zp::delete_topics_path(), /*watch=*/true);
    if (!deletions) return deletions.status();
    for (const auto& t : *deletions) {
        if (topics_.contains(t)) deleting_.try_emplace(t);
    }
    // The brokers are read after the topics: loading many partitions takes seconds, in which
    // brokers may register (a whole cluster starting at once), and a list read before would
    // take their partitions offline only for the broker watch to bring them back.
    auto live = read_live_brokers();
    if (!live) return live.status();
    live_ = std::move(*live);
    channel_.live_brokers_changed(live_infos());
    log()->info("Controller {} loaded {} live broker(s) [{}], {} topic(s), {} partition(s), {} topic(s) to delete",
                config_.broker_id, live_.size(), join(live_ids()), topics_.size(), states_.size(), deleting_.size());

    // Repair what the failover left: partitions never initialised, leaders that died meanwhile.
    std::vector<topic_partition> fresh, existing;
    for (const auto& tp : all_partitions(/*include_deleting=*/false)) {
        (states_.contains(tp) ? existing : fresh).push_back(tp);
    }
    std::vector<topic_partition> ignored;
    if (auto s = initialise_partitions(fresh, ignored); !s.ok()) return s;
    auto repaired = elect_leaders(existing, live_set());
    if (!repaired) return repaired.status();
    if (!repaired->empty()) {
        log()->info("Controller {} moved or took offline {} partition(s) whose leader is no longer live", config_.broker_id,
                    repaired->size());
    }

    send_full_state(live_ids());
    if (auto s = on_delete_topics(); !s.ok()) return s;
    if (auto s = on_isr_change(); !s.ok()) return s;
    return on_reassign_change();
}

zk_status controller::on_broker_change() {
    auto now = read_live_brokers();
    if (!now) return now.status();
    std::vector<int32_t> gone, joined;
    for (const auto& [id, b] : live_) {
        const auto it = now->find(id);
        if (it == now->end() || it->second.czxid != b.czxid) gone.push_back(id);
    }
    for (const auto& [id, b] : *now) {
        const auto it = live_.find(id);
        if (it == live_.end() || it->second.czxid != b.czxid) joined.push_back(id);
    }
    if (gone.empty() && joined.empty()) return {};
    live_ = std::move(*now);
    channel_.live_brokers_changed(live_infos());
    if (!gone.empty()) log()->info("Broker(s) {} left the cluster", join(gone));
    if (!joined.empty()) log()->info("Broker(s) {} joined the cluster", join(joined));
    for (const int32_t id : gone) shutting_down_.erase(id);

    std::vector<topic_partition> fresh, affected;
    const std::set<int32_t> touched = [&] {
        std::set<int32_t> t(gone.begin(), gone.end());
        t.insert(joined.begin(), joined.end());
        return t;
    }();
    for (const auto& tp : all_partitions(/*include_deleting=*/false)) {
        const auto st = states_.find(tp);
        if (st == states_.end()) {
            fresh.push_back(tp);
            continue;
        }
        const auto& replicas = *replicas_of(tp);
        const bool involved = st->second.leader == kNoLeader ||
                              std::any_of(replicas.begin(), replicas.end(), [&](int32_t r) { return touched.contains(r); });
        if (involved) affected.push_back(tp);
    }
    std::vector<topic_partition> changed;
    if (auto s = initialise_partitions(fresh, changed); !s.ok()) return s;
    // A broker that restarted between two looks (joined and gone) lost what it led: first
    // move its leaderships as for a death, then let it take part again, as Kafka does.
    broker_set without_joined = live_set();
    for (const int32_t id : joined) without_joined.erase(id);
    for (const broker_set& live : {without_joined, live_set()}) {
        auto written = elect_leaders(affected, live);
        if (!written) return written.status();
        changed.insert(changed.end(), written->begin(), written->end());
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());

    send_full_state(joined);
    publish(changed, /*brokers_changed=*/true);
    if (auto s = process_deletions(); !s.ok()) return s;
    return advance_reassignments();  // a returning target replica may have been all it waited for
}

zk_status controller::on_topic_change() {
    auto names = zk_.get_children(zp::topics_path(), /*watch=*/true);
    if (!names) return names.status();
    const std::set<std::string> present(names->begin(), names->end());
    std::vector<std::string> gone;
    for (const auto& [topic, entry] : topics_) {
        if (!present.contains(topic)) gone.push_back(topic);
    }
    for (const auto& topic : gone) {
        log()->info("Topic {} was removed from ZooKeeper", topic);
        for (const auto& [p, r] : topics_[topic].replicas) states_.erase({topic, p});
        topics_.erase(topic);
        deleting_.erase(topic);
    }
    std::vector<topic_partition> added, fresh;
    for (const auto& topic : present) {
        if (topics_.contains(topic)) continue;
        if (auto s = load_topic(topic); !s.ok()) return s;
        if (!topics_.contains(topic)) continue;
        log()->info("New topic {} with {} partition(s)", topic, topics_[topic].replicas.size());
        for (const auto& [p, r] : topics_[topic].replicas) {
            added.push_back({topic, p});
            if (!states_.contains({topic, p})) fresh.push_back({topic, p});
        }
    }
    std::vector<topic_partition> ignored;
    if (auto s = initialise_partitions(fresh, ignored); !s.ok()) return s;
    publish(added, /*brokers_changed=*/false, gone);
    return gone.empty() ? zk_status() : advance_reassignments();  // drops moves of removed topics
}

zk_status controller::on_delete_topics() {
    auto names = zk_.get_children(zp::delete_topics_path(), /*watch=*/true);
    if (!names) return names.status();
    for (const auto& topic : *names) {
        if (topics_.contains(topic)) {
            deleting_.try_emplace(topic);
            continue;
        }
        // Kafka drops a request to delete a topic that does not exist.
        log()->info("Removing the deletion request for unknown topic {}", topic);
        auto r = fenced_multi({zk_op::remove(zp::delete_topic_path(topic))});
        if (!r.ok() && r.code != zk_errc::no_node) return from_multi(r);
    }
    return process_deletions();
}

zk_status controller::process_deletions() {
    std::vector<std::string> topics;
    for (const auto& [topic, d] : deleting_) topics.push_back(topic);
    for (const auto& topic : topics) {
        if (!active_ || !deleting_.contains(topic)) return {};
        deletion& d = deleting_[topic];
        if (!d.announced) {
            log()->info("Deleting topic {}", topic);
            publish({}, /*brokers_changed=*/false, {topic});
            d.announced = true;
        }
        std::map<int32_t, std::vector<topic_partition>> hosted;
        for (const auto& [p, replicas] : topics_[topic].replicas) {
            for (const int32_t r : replicas) hosted[r].push_back({topic, p});
        }
        std::vector<int32_t> waiting;
        for (auto& [broker, tps] : hosted) {
            if (d.stopped.contains(broker)) continue;
            if (!live_.contains(broker)) {
                waiting.push_back(broker);
                continue;
            }
            stop_replica_request req;
            req.controller_id = config_.broker_id;
            req.controller_epoch = epoch_;
            req.delete_partitions = true;
            req.partitions = std::move(tps);
            channel_.stop_replica(broker, req);
            d.stopped.insert(broker);
        }
        if (!waiting.empty()) {
            if (!d.waiting_logged) {
                log()->info("Deletion of topic {} waits for broker(s) {} to return", topic, join(waiting));
                d.waiting_logged = true;
            }
            continue;
        }
        if (auto s = finish_deletion(topic); !s.ok()) return s;
    }
    return {};
}

zk_status controller::finish_deletion(const std::string& topic) {
    auto tree = zk_.subtree(zp::topic_path(topic));
    if (!tree) return tree.status();
    std::vector<zk_op> ops;
    for (const auto& path : *tree) ops.push_back(zk_op::remove(path));
    for (const auto& path : {zp::topic_config_path(topic), zp::delete_topic_path(topic)}) {
        auto st = zk_.exists(path);
        if (!st) return st.status();
        if (st->has_value()) ops.push_back(zk_op::remove(path));
    }
    // The deletion request goes last: if a chunk fails, it is still there for the retry.
    if (auto s = fenced_multi_chunked(ops); !s.ok()) return s;
    for (const auto& [p, r] : topics_[topic].replicas) states_.erase({topic, p});
    topics_.erase(topic);
    deleting_.erase(topic);
    log()->info("Deleted topic {}", topic);
    std::set<topic_partition> moving;
    for (const auto& [tp, target] : reassigning_) {
        if (tp.topic == topic) moving.insert(tp);
    }
    for (const auto& tp : moving) reassigning_.erase(tp);
    return moving.empty() ? zk_status() : remove_reassignment_entries(moving);
}

zk_status controller::on_isr_change() {
    const std::string parent = zp::isr_changes_path();
    auto names = zk_.get_children(parent, /*watch=*/true);
    if (!names) return names.status();
    if (names->empty()) return {};
    std::set<topic_partition> tps;
    std::vector<zk_op> removals;
    for (const auto& name : *names) {
        const std::string path = parent + "/" + name;
        auto node = zk_.get(path);
        if (node.code() == zk_errc::no_node) continue;
        if (!node) return node.status();
        auto listed = zp::decode_isr_change(node->data);
        if (listed) {
            tps.insert(listed->begin(), listed->end());
        } else {
            log()->warn("Dropping an unreadable ISR change notification: {}", listed.status().message());
        }
        removals.push_back(zk_op::remove(path));
    }
    std::vector<partition_info> infos;
    for (const auto& tp : tps) {
        if (replicas_of(tp) == nullptr || deleting_.contains(tp.topic)) continue;
        if (auto s = reload_state(tp); !s.ok()) return s;
        infos.push_back(*info(tp));
    }
    // Leaders changed these ISRs themselves; the other brokers only need fresh metadata.
    if (!infos.empty()) {
        metadata_update u;
        u.controller_id = config_.broker_id;
        u.controller_epoch = epoch_;
        u.live_brokers = live_infos();
        u.partitions = std::move(infos);
        channel_.update_metadata(live_ids(), u);
    }
    if (auto s = fenced_multi_chunked(removals); !s.ok()) return s;
    return advance_reassignments();  // the ISR a reassignment waits for may be complete now
}

zk_status controller::check_preferred_leaders() {
    struct tally {
        int preferred = 0;
        std::vector<topic_partition> elsewhere;
    };
    std::map<int32_t, tally> per_broker;
    for (const auto& tp : all_partitions(/*include_deleting=*/false)) {
        const auto st = states_.find(tp);
        const auto& replicas = *replicas_of(tp);
        // A reassignment moves the leader itself when it completes.
        if (st == states_.end() || replicas.empty() || reassigning_.contains(tp)) continue;
        tally& t = per_broker[replicas.front()];
        ++t.preferred;
        if (st->second.leader != replicas.front()) t.elsewhere.push_back(tp);
    }
    std::vector<topic_partition> candidates;
    for (const auto& [broker, t] : per_broker) {
        if (!live_.contains(broker) || shutting_down_.contains(broker) || t.elsewhere.empty()) continue;
        const int imbalance = static_cast<int>(t.elsewhere.size() * 100 / static_cast<size_t>(t.preferred));
        if (imbalance > config_.leader_imbalance_per_broker_percentage) {
            log()->info("Broker {} leads {} of its {} preferred partitions; moving them back", broker,
                        t.preferred - static_cast<int>(t.elsewhere.size()), t.preferred);
            candidates.insert(candidates.end(), t.elsewhere.begin(), t.elsewhere.end());
        }
    }
    const broker_set live = live_set();
    auto changed = update_states(candidates, [&](const topic_partition& tp, const std::optional<partition_state>& cur) {
        return cur ? restore_preferred_leader(*replicas_of(tp), *cur, live) : std::nullopt;
    });
    if (!changed) return changed.status();
    publish(*changed, /*brokers_changed=*/false);
    return {};
}

// --- leader election ---------------------------------------------------------------------------

zk_result<std::map<std::string, bool>> controller::unclean_policies(const std::vector<topic_partition>& tps,
                                                                    const broker_set& live) {
    std::map<std::string, bool> out;
    for (const auto& tp : tps) {
        if (out.contains(tp.topic)) continue;
        const auto st = states_.find(tp);
        if (st == states_.end()) continue;
        const partition_state& s = st->second;
        if (s.leader != kNoLeader && live.contains(s.leader)) continue;
        if (std::any_of(s.isr.begin(), s.isr.end(), [&](int32_t r) { return live.contains(r); })) continue;
        bool unclean = config_.unclean_leader_election;
        auto node = zk_.get(zp::topic_config_path(tp.topic));
        if (!node && node.code() != zk_errc::no_node) return node.status();
        if (node) {
            auto config = zp::decode_topic_config(node->data);
            if (!config) {
                log()->warn("Topic {} has an unreadable config ({}); unclean.leader.election.enable is the broker's",
                            tp.topic, config.status().message());
            } else if (const auto value = config->find(std::string(kUncleanLeaderElectionKey)); value != config->end()) {
                if (const auto parsed = parse_bool(value->second)) {
                    unclean = *parsed;
                } else {
                    log()->warn("Topic {} has unclean.leader.election.enable={}, which is not a boolean; using the "
                                "broker's {}", tp.topic, value->second, unclean);
                }
            }
        }
        out[tp.topic] = unclean;
    }
    return out;
}

zk_result<std::vector<topic_partition>> controller::elect_leaders(const std::vector<topic_partition>& tps,
                                                                 const broker_set& live) {
    auto policies = unclean_policies(tps, live);
    if (!policies) return policies.status();
    struct unclean_choice {
        int32_t leader;
        std::vector<int32_t> old_isr;
    };
    std::map<topic_partition, unclean_choice> unclean;  // as decided in the round that was written
    auto written = update_states(tps, [&](const topic_partition& tp, const std::optional<partition_state>& cur) {
        unclean.erase(tp);
        if (!cur) return std::optional<partition_state>();
        const auto policy = policies->find(tp.topic);
        const bool allowed = policy != policies->end() ? policy->second : config_.unclean_leader_election;
        auto next = reconcile_with_live_brokers(*replicas_of(tp), *cur, live, allowed);
        if (next && is_unclean_election(*cur, *next)) unclean[tp] = unclean_choice{next->leader, cur->isr};
        return next;
    });
    if (!written) return written;
    for (const auto& tp : *written) {
        const auto it = unclean.find(tp);
        if (it == unclean.end()) continue;
        const uint64_t count = ++unclean_elections_;
        log()->warn("Unclean leader election for partition {}: broker {} leads though it was not in the ISR [{}]; "
                    "records only the old ISR held may be lost ({} unclean election(s) by this controller so far)",
                    tp.dir_name(), it->second.leader, join(it->second.old_isr), count);
    }
    return written;
}

// --- partition reassignment ----------------------------------------------------------------------

status controller::check_reassignment(const topic_partition& tp, const std::vector<int32_t>& target) const {
    if (!topics_.contains(tp.topic)) {
        return {errc::unknown_topic_or_partition, "topic '" + tp.topic + "' does not exist"};
    }
    if (deleting_.contains(tp.topic)) {
        return {errc::unknown_topic_or_partition, "topic '" + tp.topic + "' is marked for deletion"};
    }
    const auto* current = replicas_of(tp);
    if (current == nullptr) return {errc::unknown_topic_or_partition, "the partition does not exist"};
    // A current replica counts as known while its broker is down: it may stay.
    std::vector<int32_t> known = *current;
    for (const auto& [id, b] : live_) known.push_back(id);
    return validate_reassignment_target(target, known);
}

zk_status controller::on_reassign_change() {
    const std::string path = zp::reassign_partitions_path();
    auto node = zk_.get(path, /*watch=*/true);
    if (node.code() == zk_errc::no_node) {
        // Arm the watch for its creation; if it appeared meanwhile, the next event reads it.
        auto created = zk_.exists(path, /*watch=*/true);
        if (!created) return created.status();
        if (created->has_value()) {
            thread_.post([this, activation = activation_] {
                if (activation == activation_) run("partition reassignment", [this] { return on_reassign_change(); });
            });
        }
        return advance_reassignments();
    }
    if (!node) return node.status();

    auto entries = zp::decode_reassignment(node->data);
    std::set<topic_partition> dropped;
    std::vector<topic_partition> started;
    if (!entries) {
        log()->error("Dropping the unreadable partition reassignment request: {}", entries.status().message());
        if (auto s = remove_reassignment_entries({}); !s.ok()) return s;
        return advance_reassignments();
    }
    std::map<topic_partition, int> listed;
    for (const auto& [tp, target] : *entries) ++listed[tp];
    for (const auto& [tp, target] : *entries) {
        if (dropped.contains(tp)) continue;
        if (listed[tp] > 1) {
            log()->error("Dropping the reassignment of {}: the request lists the partition {} times", tp.dir_name(),
                         listed[tp]);
            dropped.insert(tp);
            continue;
        }
        if (const status s = check_reassignment(tp, target); !s.ok()) {
            log()->error("Dropping the reassignment of {} to [{}]: {}", tp.dir_name(), join(target), s.message);
            dropped.insert(tp);
            continue;
        }
        const auto running = reassigning_.find(tp);
        if (running != reassigning_.end() && running->second == target) continue;
        if (running == reassigning_.end() && *replicas_of(tp) == target) {
            log()->info("Partition {} is already assigned to [{}]; nothing to move", tp.dir_name(), join(target));
            dropped.insert(tp);
            continue;
        }
        if (running != reassigning_.end()) {
            log()->info("Reassignment of {} now targets [{}] instead of [{}]", tp.dir_name(), join(target),
                        join(running->second));
        }
        reassigning_[tp] = target;
        started.push_back(tp);
    }
    if (auto s = start_reassignments(started); !s.ok()) return s;
    if (!dropped.empty()) {
        if (auto s = remove_reassignment_entries(dropped); !s.ok()) return s;
    }
    return advance_reassignments();
}

zk_multi_result controller::write_assignment(const std::string& topic, topic_entry& entry, replica_map next,
                                             std::vector<std::pair<topic_partition, partition_state>>& states) {
    std::vector<zk_op> ops{zk_op::set(zp::topic_path(topic),
                                      zp::encode_topic_assignment({entry.id, next}), entry.zk_version)};
    for (const auto& [tp, st] : states) {
        ops.push_back(zk_op::set(zp::partition_state_path(tp.topic, tp.partition), zp::encode_partition_state(st),
                                 st.zk_version));
    }
    auto r = fenced_multi(std::move(ops));
    if (!r.ok()) return r;
    entry.replicas = std::move(next);
    entry.zk_version = r.results[0].stat.version;
    for (size_t i = 0; i < states.size(); ++i) {
        states[i].second.zk_version = r.results[i + 1].stat.version;
        states_[states[i].first] = states[i].second;
    }
    return r;
}

zk_status controller::start_reassignments(const std::vector<topic_partition>& tps) {
    std::map<std::string, std::vector<topic_partition>> by_topic;
    for (const auto& tp : tps) by_topic[tp.topic].push_back(tp);
    std::vector<topic_partition> started;
    for (const auto& [topic, partitions] : by_topic) {
        // A leader's ISR write may move a state znode under us: re-read the topic and try again.
        for (int round = 0; topics_.contains(topic); ++round) {
            topic_entry& entry = topics_.at(topic);
            replica_map next = entry.replicas;
            std::vector<topic_partition> moved;
            std::vector<std::pair<topic_partition, partition_state>> states;
            for (const auto& tp : partitions) {
                const auto replicas = next.find(tp.partition);
                const auto target = reassigning_.find(tp);
                if (replicas == next.end() || target == reassigning_.end()) continue;
                auto during = replicas_while_reassigning(replicas->second, target->second);
                if (during == replicas->second) continue;
                log()->info("Reassigning {} from [{}] to [{}]: its replicas are [{}] until the new ones are in sync",
                            tp.dir_name(), join(replicas->second), join(target->second), join(during));
                replicas->second = std::move(during);
                moved.push_back(tp);
                if (const auto st = states_.find(tp); st != states_.end()) {
                    partition_state bumped = st->second;
                    ++bumped.leader_epoch;  // so that every replica takes the new replica list
                    bumped.controller_epoch = epoch_;
                    states.emplace_back(tp, std::move(bumped));
                }
            }
            if (moved.empty()) break;
            auto r = write_assignment(topic, entry, std::move(next), states);
            if (r.ok()) {
                started.insert(started.end(), moved.begin(), moved.end());
                break;
            }
            if (!active_ || r.code != zk_errc::bad_version || round == 2) return from_multi(r);
            if (auto s = load_topic(topic); !s.ok()) return s;
        }
    }
    publish(started, /*brokers_changed=*/false);
    return {};
}

zk_status controller::advance_reassignments() {
    std::set<topic_partition> ended;
    for (auto it = reassigning_.begin(); it != reassigning_.end();) {
        if (replicas_of(it->first) != nullptr && !deleting_.contains(it->first.topic)) {
            ++it;
            continue;
        }
        log()->info("Reassignment of {} ends: the topic is gone or being deleted", it->first.dir_name());
        ended.insert(it->first);
        it = reassigning_.erase(it);
    }
    std::map<std::string, std::vector<topic_partition>> by_topic;
    for (const auto& [tp, target] : reassigning_) by_topic[tp.topic].push_back(tp);
    const broker_set live = live_set();
    std::vector<topic_partition> finished;
    std::map<int32_t, std::vector<topic_partition>> leaving;  // broker -> partitions it no longer hosts
    for (const auto& [topic, partitions] : by_topic) {
        for (int round = 0; topics_.contains(topic); ++round) {
            topic_entry& entry = topics_.at(topic);
            replica_map next = entry.replicas;
            std::vector<std::pair<topic_partition, partition_state>> states;
            std::map<topic_partition, std::vector<int32_t>> removed;
            for (const auto& tp : partitions) {
                const auto st = states_.find(tp);
                const auto replicas = next.find(tp.partition);
                if (st == states_.end() || replicas == next.end()) continue;
                const std::vector<int32_t>& target = reassigning_.at(tp);
                auto done = complete_reassignment(target, st->second, live);
                if (!done) continue;
                done->controller_epoch = epoch_;
                for (const int32_t r : replicas->second) {
                    if (!contains(target, r)) removed[tp].push_back(r);
                }
                replicas->second = target;
                states.emplace_back(tp, std::move(*done));
            }
            if (states.empty()) break;
            auto r = write_assignment(topic, entry, std::move(next), states);
            if (r.ok()) {
                for (const auto& [tp, st] : states) {
                    log()->info("Reassignment of {} to [{}] is complete: leader {}, ISR [{}], leader epoch {}",
                                tp.dir_name(), join(reassigning_.at(tp)), st.leader, join(st.isr), st.leader_epoch);
                    for (const int32_t b : removed[tp]) leaving[b].push_back(tp);
                    reassigning_.erase(tp);
                    ended.insert(tp);
                    finished.push_back(tp);
                }
                break;
            }
            if (!active_ || r.code != zk_errc::bad_version || round == 2) return from_multi(r);
            if (auto s = load_topic(topic); !s.ok()) return s;
        }
    }
    publish(finished, /*brokers_changed=*/false);
    // A leaving broker that is down finds the partition missing from its full LeaderAndIsr when
    // it returns, and stops serving it then.
    for (auto& [broker, tps] : leaving) {
        if (!live_.contains(broker)) continue;
        stop_replica_request req;
        req.controller_id = config_.broker_id;
        req.controller_epoch = epoch_;
        req.delete_partitions = true;
        req.partitions = std::move(tps);
        channel_.stop_replica(broker, req);
    }
    return ended.empty() ? zk_status() : remove_reassignment_entries(ended);
}

zk_status controller::remove_reassignment_entries(const std::set<topic_partition>& tps) {
    const std::string path = zp::reassign_partitions_path();
    // An admin may add entries meanwhile (the write is conditional): re-read and try again.
    for (int round = 0; round < 3; ++round) {
        auto node = zk_.get(path);
        if (node.code() == zk_errc::no_node) return {};
        if (!node) return node.status();
        auto entries = zp::decode_reassignment(node->data);
        zk_op op = zk_op::remove(path, node->stat.version);
        if (entries) {
            partition_reassignments left;
            size_t removed = 0;
            for (const auto& [tp, target] : *entries) {
                if (tps.contains(tp)) {
                    ++removed;
                } else {
                    left[tp] = target;
                }
            }
            if (removed == 0) return {};
            if (!left.empty()) op = zk_op::set(path, zp::encode_reassignment(left), node->stat.version);
        }
        auto r = fenced_multi({op});
        if (r.ok()) return {};
        if (!active_ || (r.code != zk_errc::bad_version && r.code != zk_errc::no_node)) return from_multi(r);
    }
    return zk_status(zk_errc::bad_version, "/admin/reassign_partitions kept changing under the controller");
}

// --- requests ----------------------------------------------------------------------------------

std::vector<topic_result> controller::create_topics(const std::vector<new_topic>& topics, bool validate_only) {
    std::vector<topic_result> out;
    out.reserve(topics.size());
    for (const auto& t : topics) out.push_back(create_topic(t, validate_only));
    return out;
}

topic_result controller::create_topic(const new_topic& t, bool validate_only) {
    topic_result r;
    r.name = t.name;
    if (!active_) {
        r.error = {errc::not_controller, "This is not the correct controller for this cluster."};
        return r;
    }
    if (r.error = validate_topic_name(t.name); !r.error.ok()) return r;
    if (deleting_.contains(t.name)) {
        r.error = {errc::topic_already_exists, "Topic '" + t.name + "' is marked for deletion."};
        return r;
    }
    if (topics_.contains(t.name)) {
        r.error = {errc::topic_already_exists, "Topic '" + t.name + "' already exists."};
        return r;
    }
    for (const auto& [existing, entry] : topics_) {
        if (topic_names_collide(t.name, existing)) {
            r.error = {errc::invalid_topic_exception,
                       "Topic '" + t.name + "' collides with existing topic: " + existing};
            return r;
        }
    }

    std::vector<broker_placement> placements;
    for (const auto& [id, b] : live_) placements.push_back({id, b.info.rack});
    auto planned = plan_replicas(t, placements, config_.default_partitions, config_.default_replication_factor, rng_);
    if (!planned) {
        r.error = planned.error();
        return r;
    }
    const replica_map& assignment = *planned;
    r.partitions = static_cast<int32_t>(assignment.size());
    r.replication_factor = static_cast<int32_t>(assignment.begin()->second.size());
    if (validate_only) return r;

    // The assignment and the config in one fenced multi: a topic never exists without its config.
    const uint64_t activation = activation_;
    topic_entry entry{zp::new_uuid(), assignment, 0};
    const std::string config_path = zp::topic_config_path(t.name);
    auto config_stat = zk_.exists(config_path);
    if (!config_stat) {
        r.error = error_from(config_stat.status(), activation);
        return r;
    }
    const auto config_version = config_stat->has_value() ? std::optional<int32_t>((*config_stat)->version) : std::nullopt;
    auto written = fenced_multi(topic_creation_ops(t.name, entry.id, assignment, t.config, config_version));
    if (!written.ok()) {
        if (written.code == zk_errc::node_exists && written.failed_op == 0) {
            r.error = {errc::topic_already_exists, "Topic '" + t.name + "' already exists."};
        } else {
            r.error = error_from(from_multi(written), activation);
        }
        return r;
    }
    topics_[t.name] = entry;
    r.topic_id = entry.id;
    log()->info("Created topic {} (id {}) with {} partition(s), replication factor {}", t.name, entry.id,
                r.partitions, r.replication_factor);

    std::vector<topic_partition> tps;
    for (const auto& [p, replicas] : assignment) tps.push_back({t.name, p});
    // The topic exists from here on; if its partitions cannot be initialised now, a resync does it.
    run("partition initialisation", [this, tps] {
        std::vector<topic_partition> initialised;
        const zk_status s = initialise_partitions(tps, initialised);
        publish(tps, /*brokers_changed=*/false);
        return s;
    });
    return r;
}

std::vector<topic_result> controller::delete_topics(const std::vector<std::string>& names) {
    std::vector<topic_result> out;
    for (const auto& name : names) {
        topic_result r;
        r.name = name;
        if (!active_) {
            r.error = {errc::not_controller, "This is not the correct controller for this cluster."};
        } else if (!topics_.contains(name)) {
            r.error = {errc::unknown_topic_or_partition, "This server does not host this topic-partition."};
        } else {
            const uint64_t activation = activation_;
            auto marked = fenced_multi({zk_op::create(zp::delete_topic_path(name), "")});
            if (!marked.ok() && marked.code != zk_errc::node_exists) {
                r.error = error_from(from_multi(marked), activation);
            } else {
                deleting_.try_emplace(name);
            }
        }
        out.push_back(std::move(r));
    }
    run("topic deletion", [this] { return process_deletions(); });
    return out;
}

status controller::create_partitions(const std::string& topic, int32_t total) {
    if (!active_) return {errc::not_controller, "This is not the correct controller for this cluster."};
    const auto it = topics_.find(topic);
    if (it == topics_.end()) return {errc::unknown_topic_or_partition, "The topic '" + topic + "' does not exist."};
    if (deleting_.contains(topic)) return {errc::invalid_topic_exception, "The topic '" + topic + "' is queued for deletion."};
    topic_entry& entry = it->second;
    const auto current = static_cast<int32_t>(entry.replicas.size());
    if (total == current) return {errc::invalid_partitions, "Topic already has " + std::to_string(current) + " partitions."};
    if (total < current) {
        return {errc::invalid_partitions, "Topic currently has " + std::to_string(current) +
                                              " partitions, which is higher than the requested " +
                                              std::to_string(total) + "."};
    }
    // As Kafka's createPartitions: continue the round-robin from partition 0's leader.
    std::vector<broker_placement> placements;
    for (const auto& [id, b] : live_) placements.push_back({id, b.info.rack});
    const int32_t first_leader = entry.replicas.begin()->second.front();
    int32_t start_index = 0;
    for (size_t i = 0; i < placements.size(); ++i) {
        if (placements[i].id >= first_leader) {
            start_index = static_cast<int32_t>(i);
            break;
        }
    }
    auto added = assign_replicas(std::move(placements), total - current,
                                 static_cast<int32_t>(entry.replicas.begin()->second.size()), rng_, start_index, current);
    if (!added) return added.error();
    replica_map grown = entry.replicas;
    grown.insert(added->begin(), added->end());
    const uint64_t activation = activation_;
    auto written = fenced_multi(
        {zk_op::set(zp::topic_path(topic), zp::encode_topic_assignment({entry.id, grown}), entry.zk_version)});
    if (!written.ok()) {
        if (written.code == zk_errc::bad_version && written.failed_op == 0) {
            run("topic reload", [this, topic] { return load_topic(topic); });
            return {errc::unknown_server_error, "Topic '" + topic + "' changed meanwhile; retry the request."};
        }
        return error_from(from_multi(written), activation);
    }
    entry.replicas = std::move(grown);
    entry.zk_version = written.results[0].stat.version;
    log()->info("Topic {} grows from {} to {} partitions", topic, current, total);
    std::vector<topic_partition> tps;
    for (const auto& [p, replicas] : *added) tps.push_back({topic, p});
    run("partition initialisation", [this, tps] {
        std::vector<topic_partition> initialised;
        const zk_status s = initialise_partitions(tps, initialised);
        publish(tps, /*brokers_changed=*/false);
        return s;
    });
    return {};
}

result<std::vector<topic_partition>> controller::controlled_shutdown(int32_t broker_id) {
    if (!active_) return status(errc::not_controller, "This is not the correct controller for this cluster.");
    if (!live_.contains(broker_id)) {
        return status(errc::broker_not_available, "Broker " + std::to_string(broker_id) + " is not alive.");
    }
    log()->info("Broker {} asks for a controlled shutdown", broker_id);
    shutting_down_.insert(broker_id);
    std::vector<topic_partition> hosted;
    for (const auto& tp : all_partitions(/*include_deleting=*/false)) {
        if (states_.contains(tp) && contains(*replicas_of(tp), broker_id)) hosted.push_back(tp);
    }
    const broker_set live = live_set();
    const uint64_t activation = activation_;
    auto changed = update_states(hosted, [&](const topic_partition& tp, const std::optional<partition_state>& cur) {
        return cur ? move_for_shutdown(*replicas_of(tp), *cur, live, shutting_down_) : std::nullopt;
    });
    if (!changed) return error_from(changed.status(), activation);
    publish(*changed, /*brokers_changed=*/false);

    std::vector<topic_partition> remaining, followed;
    for (const auto& tp : hosted) {
        (states_.at(tp).leader == broker_id ? remaining : followed).push_back(tp);
    }
    if (!followed.empty()) {
        stop_replica_request req;
        req.controller_id = config_.broker_id;
        req.controller_epoch = epoch_;
        req.delete_partitions = false;
        req.partitions = std::move(followed);
        channel_.stop_replica(broker_id, req);
    }
    log()->info("Broker {} still leads {} partition(s) that have no other in-sync replica", broker_id, remaining.size());
    return remaining;
}

}  // namespace gregor::coordination
