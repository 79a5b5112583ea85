#include "tests/integration/cluster_test_support.h"

#include <signal.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "coordination/zk_paths.h"
#include "tests/support/shared_zookeeper.h"

namespace gregor::integration {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// A request to a broker that may be slow or gone: short connect and call deadlines.
constexpr auto kConnectTimeout = 2s;
constexpr auto kCallTimeout = 5s;

// The Metadata of one partition, if the response has it.
const native::metadata_response::partition* find_partition(const native::metadata_response& m,
                                                           const std::string& topic, int32_t partition) {
    for (const auto& t : m.topics) {
        if (t.name != topic) continue;
        for (const auto& p : t.partitions) {
            if (p.partition == partition) return &p;
        }
    }
    return nullptr;
}

}  // namespace


cluster::cluster(cluster_options options) : options_(std::move(options)) {
    if (options_.zookeeper_connect.empty()) {
        options_.zookeeper_connect = test_support::shared_zookeeper::isolated_connect();
    }
    // Started together; each waits for its registration below.
    for (int32_t i = 0; i < options_.size; ++i) {
        test_support::broker_options o;
        o.broker_id = options_.first_id + i;
        o.zookeeper_connect = options_.zookeeper_connect;
        o.properties = options_.properties;
        o.properties["zookeeper.session.timeout.ms"] = std::to_string(options_.session_timeout.count());
        if (options_.customize_broker) options_.customize_broker(o);
        brokers_[o.broker_id] =
            std::make_unique<broker_process>(std::move(o), broker_process::ready_level::started);
    }
    // A constructor that throws fails the test only after the brokers are gone, too late for
    // their destructors to print what they said: the exception carries it instead.
    try {
        for (auto& [id, b] : brokers_) b->wait_ready(broker_process::ready_level::registered);
        // The chroot exists now (the brokers made it).
        observer_ = std::make_unique<coordination::test::observer>(options_.zookeeper_connect);
        const auto everyone = ids();
        const bool agreed = await_condition(
            [&] {
                for (int32_t id : everyone) {
                    try {
                        auto m = metadata_from(id, std::vector<std::string>{});
                        if (m.controller_id < 0 || m.brokers.size() != everyone.size()) return false;
                    } catch (const std::exception&) {
                        return false;
                    }
                }
                return true;
            },
            30s);
        if (!agreed) throw std::runtime_error("the brokers do not agree on the cluster:\n" + describe());
    } catch (const std::exception& e) {
        std::string what = std::string("the cluster did not start: ") + e.what();
        for (const auto& [id, b] : brokers_) {
            const std::string out = b->output();
            what += "\n---- broker " + std::to_string(id) + " (" + b->dir().string() + "):\n" +
                    (out.size() > 4000 ? "...\n" + out.substr(out.size() - 4000) : out);
        }
        throw std::runtime_error(what);
    }
}

cluster::~cluster() {
    // SIGKILL (in broker_process's destructor) ends stopped processes as well; resume them
    // anyway so nothing lingers half-stopped if a destructor cannot reap.
    for (int32_t id : paused_) {
        auto it = brokers_.find(id);
        if (it != brokers_.end() && it->second->pid() > 0) ::kill(it->second->pid(), SIGCONT);
    }
    observer_.reset();
}

std::vector<int32_t> cluster::ids() const {
    std::vector<int32_t> out;
    for (const auto& [id, b] : brokers_) out.push_back(id);
    return out;
}

broker_process& cluster::broker(int32_t id) {
    auto it = brokers_.find(id);
    if (it == brokers_.end()) throw std::out_of_range("no broker " + std::to_string(id) + " in the cluster");
    return *it->second;
}

bool cluster::up(int32_t id) { return broker(id).running() && !paused_.contains(id); }

std::vector<int32_t> cluster::up_ids() {
    std::vector<int32_t> out;
    for (int32_t id : ids()) {
        if (up(id)) out.push_back(id);
    }
    return out;
}

int32_t cluster::controller_in_zookeeper() {
    auto node = observer_->zk().get(coordination::zk_paths::controller_path());
    if (!node) return -1;
    auto id = coordination::zk_paths::decode_controller(node->data);
    return id ? *id : -1;
}

int32_t cluster::controller_epoch() {
    auto node = observer_->zk().get(coordination::zk_paths::controller_epoch_path());
    if (!node) return -1;
    auto epoch = coordination::zk_paths::decode_controller_epoch(node->data);
    return epoch ? *epoch : -1;
}

std::set<int32_t> cluster::registered_ids() {
    std::set<int32_t> out;
    auto children = observer_->zk().get_children(coordination::zk_paths::broker_ids_path());
    if (!children) return out;
    for (const auto& c : *children) {
        try {
            out.insert(std::stoi(c));
        } catch (const std::exception&) {
        }
    }
    return out;
}

std::optional<coordination::partition_state> cluster::partition_state(const std::string& topic, int32_t partition) {
    return observer_->state(topic, partition);
}

native::metadata_response cluster::metadata_from(int32_t id, std::optional<std::vector<std::string>> topics) {
    raw_connection c(broker(id).host(), broker(id).port(), true, kConnectTimeout);
    native::metadata_request req;
    req.topics = std::move(topics);
    req.allow_auto_topic_creation = false;
    return c.call(native::api_key::metadata, req, kCallTimeout).as<native::metadata_response>();
}

int32_t cluster::leader_in(int32_t id, const std::string& topic, int32_t partition) {
    try {
        auto m = metadata_from(id, std::vector<std::string>{topic});
        const auto* p = find_partition(m, topic, partition);
        return p == nullptr ? -2 : p->leader;
    } catch (const std::exception&) {
        return -2;
    }
}

int32_t cluster::await_controller(const std::function<bool(int32_t)>& accept, std::chrono::milliseconds limit) {
    int32_t found = -1;
    const bool ok = await_condition(
        [&] {
            found = controller_in_zookeeper();
            if (found < 0 || !accept(found)) return false;
            for (int32_t id : up_ids()) {
                try {
                    if (metadata_from(id, std::vector<std::string>{}).controller_id != found) return false;
                } catch (const std::exception&) {
                    return false;
                }
            }
            return true;
        },
        limit);
    return ok ? found : -1;
}

bool cluster::await_leader_everywhere(const std::string& topic, int32_t partition, int32_t leader,
                                      std::chrono::milliseconds limit) {
    return await_condition(
        [&] {
            for (int32_t id : up_ids()) {
                if (leader_in(id, topic, partition) != leader) return false;
            }
            return true;
        },
        limit);
}

std::map<int32_t, int32_t> cluster::await_leaders_everywhere(const std::string& topic, int32_t partitions,
                                                             std::chrono::milliseconds limit) {
    std::map<int32_t, int32_t> agreed;
    const bool ok = await_condition(
        [&] {
            agreed.clear();
            bool first = true;
            for (int32_t id : up_ids()) {
                std::map<int32_t, int32_t> seen;
                try {
                    auto m = metadata_from(id, std::vector<std::string>{topic});
                    for (int32_t p = 0; p < partitions; ++p) {
                        const auto* mp = find_partition(m, topic, p);
                        if (mp == nullptr || mp->leader < 0) return false;
                        seen[p] = mp->leader;
                    }
                } catch (const std::exception&) {
                    return false;
                }
                if (first) {
                    agreed = seen;
                    first = false;
                } else if (seen != agreed) {
                    return false;
                }
            }
            return !first;
        },
        limit);
    if (!ok) agreed.clear();
    return agreed;
}

std::string cluster::describe(const std::string& topic) {
    std::ostringstream out;
    out << "/controller: " << controller_in_zookeeper() << ", /controller_epoch: " << controller_epoch()
        << ", /brokers/ids: [";
    for (int32_t id : registered_ids()) out << ' ' << id;
    out << " ]\n";
    for (int32_t id : ids()) {
        out << "broker " << id << " (port " << broker(id).port() << "): ";
        if (!broker(id).running()) {
            out << "not running\n";
            continue;
        }
        if (paused_.contains(id)) {
            out << "stopped (SIGSTOP)\n";
            continue;
        }
        try {
            auto m = metadata_from(id, topic.empty() ? std::vector<std::string>{} : std::vector<std::string>{topic});
            out << "controller " << m.controller_id << ", brokers [";
            for (const auto& b : m.brokers) out << ' ' << b.node_id << '@' << b.port;
            out << " ]";
            for (const auto& t : m.topics) {
                out << ", " << t.name << " (error " << t.error_code << ", id " << t.topic_id << "):";
                for (const auto& p : t.partitions) out << ' ' << p.partition << "->" << p.leader;
            }
            out << '\n';
        } catch (const std::exception& e) {
            out << "no Metadata: " << e.what() << '\n';
        }
    }
    return out.str();
}

void cluster::kill(int32_t id) {
    auto& b = broker(id);
    if (paused_.erase(id) > 0 && b.pid() > 0) ::kill(b.pid(), SIGCONT);
    b.kill();
}

void cluster::pause(int32_t id) {
    auto& b = broker(id);
    if (!b.running()) throw std::logic_error("cannot pause broker " + std::to_string(id) + ": not running");
    if (::kill(b.pid(), SIGSTOP) != 0) throw std::runtime_error("SIGSTOP failed");
    paused_.insert(id);
}

void cluster::resume(int32_t id) {
    auto& b = broker(id);
    if (b.pid() > 0 && ::kill(b.pid(), SIGCONT) != 0) throw std::runtime_error("SIGCONT failed");
    paused_.erase(id);
}

int cluster::terminate(int32_t id) {
    resume(id);
    return broker(id).terminate();
}

void cluster::start(int32_t id, std::chrono::milliseconds timeout) {
    broker(id).start(broker_process::ready_level::registered, timeout);
}

namespace {

// Sends `request` to the broker /controller names until the answer is not NOT_CONTROLLER
// (per topic) and the call succeeds, or `limit` passes; returns the last answer's topic.
template <typename Response, typename Request>
auto call_controller(cluster& c, native::api_key key, const Request& request, std::chrono::milliseconds call_timeout,
                     std::chrono::milliseconds limit) {
    const auto deadline = clock_type::now() + limit;
    std::string last = "no controller";
    for (;;) {
        const int32_t controller = c.controller_in_zookeeper();
        if (controller >= 0 && c.up(controller)) {
            try {
                raw_connection conn(c.broker(controller).host(), c.broker(controller).port(), true, kConnectTimeout);
                auto r = conn.call(key, request, call_timeout).template as<Response>();
                if (r.topics.size() != 1) throw std::runtime_error("answered " + std::to_string(r.topics.size()) + " topics");
                if (r.topics[0].error_code != static_cast<int16_t>(errc::not_controller)) return r.topics[0];
                last = "broker " + std::to_string(controller) + ": " + r.topics[0].error_message;
            } catch (const std::exception& e) {
                last = "broker " + std::to_string(controller) + ": " + e.what();
            }
        }
        if (clock_type::now() > deadline) {
            throw std::runtime_error(std::string(native::api_name(static_cast<int16_t>(key))) +
                                     " found no controller to take it: " + last);
        }
        std::this_thread::sleep_for(50ms);
    }
}

}  // namespace

native::create_topics_response::topic cluster::create_topic(const std::string& name, int32_t partitions,
                                                            int16_t replication_factor, std::chrono::milliseconds limit) {
    native::create_topics_request::topic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = replication_factor;
    return create_topic(t, limit);
}

native::create_topics_response::topic cluster::create_topic(const native::create_topics_request::topic& spec,
                                                            std::chrono::milliseconds limit) {
    native::create_topics_request req;
    req.topics.push_back(spec);
    req.timeout_ms = 15000;
    return call_controller<native::create_topics_response>(*this, native::api_key::create_topics, req, 25s, limit);
}

native::delete_topics_response::topic cluster::delete_topic(const std::string& name, std::chrono::milliseconds limit) {
    native::delete_topics_request req;
    req.names = {name};
    req.timeout_ms = 15000;
    return call_controller<native::delete_topics_response>(*this, native::api_key::delete_topics, req, 25s, limit);
}

}  // namespace gregor::integration
