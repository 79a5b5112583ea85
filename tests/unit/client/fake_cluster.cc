#include "tests/unit/client/fake_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

#include "common/wire.h"

namespace gregor::test {
namespace {

namespace rb = record_batch;
using clock = std::chrono::steady_clock;

bool read_full(int fd, std::byte* p, size_t n) {
    while (n > 0) {
        const ssize_t r = ::recv(fd, p, n, 0);
        if (r == 0) return false;
        if (r < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

bool write_full(int fd, const std::byte* p, size_t n) {
    while (n > 0) {
        const ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

}  // namespace

struct fake_cluster::broker {
    int32_t node = 0;
    int listen_fd = -1;
    uint16_t port = 0;
    std::thread acceptor;
    std::mutex mu;
    std::set<int> connections;  // fds being served
    std::vector<std::thread> threads;
    bool killed = false;
};

fake_cluster::fake_cluster(int brokers) {
    for (int i = 1; i <= brokers; ++i) {
        auto b = std::make_unique<broker>();
        b->node = i;
        b->listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(b->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(b->listen_fd, 64) != 0) {
            throw std::runtime_error(std::string("fake broker cannot listen: ") + std::strerror(errno));
        }
        socklen_t len = sizeof addr;
        ::getsockname(b->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
        b->port = ntohs(addr.sin_port);
        listed_[i] = true;
        broker* raw = b.get();
        b->acceptor = std::thread([this, raw] {
            for (;;) {
                const int fd = ::accept(raw->listen_fd, nullptr, nullptr);
                if (fd < 0) {
                    if (errno == EINTR) continue;
                    return;  // the listener was shut down
                }
                int one = 1;
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                std::lock_guard lk(raw->mu);
                if (raw->killed || stopping_) {
                    ::close(fd);
                    continue;
                }
                raw->connections.insert(fd);
                raw->threads.emplace_back([this, raw, fd] { serve(*raw, fd); });
            }
        });
        brokers_.push_back(std::move(b));
    }
}

fake_cluster::~fake_cluster() {
    stopping_ = true;
    {
        std::lock_guard lk(mu_);
        cv_.notify_all();
    }
    for (auto& b : brokers_) kill(b->node);
    for (auto& b : brokers_) {
        if (b->acceptor.joinable()) b->acceptor.join();
        std::vector<std::thread> threads;
        {
            std::lock_guard lk(b->mu);
            threads = std::move(b->threads);
        }
        for (auto& t : threads) t.join();
    }
}

void fake_cluster::kill(int32_t node) {
    broker& b = *brokers_.at(static_cast<size_t>(node - 1));
    std::lock_guard lk(b.mu);
    if (!b.killed) {
        b.killed = true;
        ::shutdown(b.listen_fd, SHUT_RDWR);
        ::close(b.listen_fd);
    }
    for (int fd : b.connections) ::shutdown(fd, SHUT_RDWR);
    std::lock_guard lk2(mu_);
    cv_.notify_all();  // long-polling fetches on it end
}

void fake_cluster::forget_broker(int32_t node) {
    std::lock_guard lk(mu_);
    listed_[node] = false;
}

std::string fake_cluster::address(int32_t node) const {
    return "127.0.0.1:" + std::to_string(port(node));
}

uint16_t fake_cluster::port(int32_t node) const {
    return brokers_.at(static_cast<size_t>(node - 1))->port;
}

std::string fake_cluster::bootstrap() const {
    std::string s;
    for (const auto& b : brokers_) s += (s.empty() ? "" : ",") + address(b->node);
    return s;
}

void fake_cluster::create_topic(const std::string& name, int32_t partitions,
                                std::vector<int32_t> leaders) {
    std::lock_guard lk(mu_);
    topic_state t;
    for (int32_t p = 0; p < partitions; ++p) {
        partition_log log;
        log.leader = leaders[static_cast<size_t>(p) % leaders.size()];
        t.partitions.push_back(std::move(log));
    }
    topics_[name] = std::move(t);
}

void fake_cluster::set_leader(const topic_partition& tp, int32_t node) {
    std::lock_guard lk(mu_);
    topics_.at(tp.topic).partitions.at(static_cast<size_t>(tp.partition)).leader = node;
}

void fake_cluster::set_controller(int32_t node) {
    std::lock_guard lk(mu_);
    controller_ = node;
}

int64_t fake_cluster::append(const topic_partition& tp, std::vector<std::byte> batch) {
    std::lock_guard lk(mu_);
    auto& log = topics_.at(tp.topic).partitions.at(static_cast<size_t>(tp.partition));
    const int64_t base = log.end;
    rb::set_base_offset(batch, base);
    log.end += rb::batch_view(batch).record_count();
    log.batches.push_back(std::move(batch));
    cv_.notify_all();
    return base;
}

std::vector<rb::record> fake_cluster::records(const topic_partition& tp) const {
    std::lock_guard lk(mu_);
    std::vector<rb::record> out;
    for (const auto& b : topics_.at(tp.topic).partitions.at(static_cast<size_t>(tp.partition)).batches) {
        auto r = rb::decode_records(b);
        if (r) out.insert(out.end(), r->begin(), r->end());
    }
    return out;
}

int64_t fake_cluster::log_end(const topic_partition& tp) const {
    std::lock_guard lk(mu_);
    return topics_.at(tp.topic).partitions.at(static_cast<size_t>(tp.partition)).end;
}

void fake_cluster::corrupt(const topic_partition& tp, int64_t offset) {
    std::lock_guard lk(mu_);
    for (auto& b : topics_.at(tp.topic).partitions.at(static_cast<size_t>(tp.partition)).batches) {
        rb::batch_view v(b);
        if (v.base_offset() <= offset && offset <= v.last_offset()) {
            b.back() ^= std::byte{0x5A};
            return;
        }
    }
}

std::map<std::string, std::string> fake_cluster::topic_configs(const std::string& topic) const {
    std::lock_guard lk(mu_);
    return topics_.at(topic).configs;
}

void fake_cluster::set_hook(request_hook hook) {
    std::lock_guard lk(mu_);
    hook_ = std::move(hook);
}

int fake_cluster::request_count(native::api_key key) const {
    std::lock_guard lk(mu_);
    auto it = counts_.find(static_cast<int16_t>(key));
    return it == counts_.end() ? 0 : it->second;
}

bool fake_cluster::wait_for_requests(native::api_key key, int count,
                                     std::chrono::milliseconds timeout) const {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] {
        auto it = counts_.find(static_cast<int16_t>(key));
        return it != counts_.end() && it->second >= count;
    });
}

std::vector<fake_cluster::produce_seen> fake_cluster::produces() const {
    std::lock_guard lk(mu_);
    return produces_;
}

void fake_cluster::serve(broker& b, int fd) {
    std::array<std::byte, 8> preface{};
    bool stalled = false;
    if (read_full(fd, preface.data(), preface.size()) &&
        std::equal(preface.begin(), preface.end(), native::kPreface.begin())) {
        for (;;) {
            std::array<std::byte, 4> len_buf{};
            if (!read_full(fd, len_buf.data(), 4)) break;
            const auto len = wire::load_be<int32_t>(len_buf.data());
            if (len < 8 || len > native::kDefaultMaxRequestBytes) break;
            std::vector<std::byte> payload(static_cast<size_t>(len));
            if (!read_full(fd, payload.data(), payload.size())) break;
            if (stalled) continue;
            auto header = native::decode_request_header(payload);
            if (!header) break;
            const auto body = std::span(payload).subspan(native::kRequestHeaderSize);
            request_hook hook;
            {
                std::lock_guard lk(mu_);
                ++counts_[header->api_key];
                hook = hook_;
                cv_.notify_all();
            }
            hook_action action = hook ? hook(b.node, *header, body) : hook_action::pass();
            if (action.what == hook_action::kind::close) break;
            if (action.what == hook_action::kind::stall) {
                stalled = true;
                continue;
            }
            std::optional<std::vector<std::byte>> out;
            if (action.what == hook_action::kind::reply) out = std::move(action.frame);
            else out = handle(b.node, *header, body);
            if (out && !write_full(fd, out->data(), out->size())) break;
        }
    }
    {
        std::lock_guard lk(b.mu);
        b.connections.erase(fd);
    }
    ::close(fd);
}

std::optional<std::vector<std::byte>> fake_cluster::handle(int32_t node,
                                                           const native::request_header& h,
                                                           std::span<std::byte> body) {
    const int32_t id = h.correlation_id;
    auto corrupt = [&] {
        return native::encode_error_response(id, status(errc::corrupt_message, "does not parse"));
    };
    switch (static_cast<native::api_key>(h.api_key)) {
    case native::api_key::api_versions: {
        native::api_versions_response r;
        for (int16_t k = 0; k <= native::kMaxApiKey; ++k) r.apis.push_back({k, 0, 0});
        return ok(id, r);
    }
    case native::api_key::metadata: {
        auto req = native::decode<native::metadata_request>(body);
        if (!req) return corrupt();
        std::lock_guard lk(mu_);
        native::metadata_response r;
        r.controller_id = controller_;
        for (const auto& b : brokers_) {
            if (listed_[b->node]) r.brokers.push_back({b->node, "127.0.0.1", b->port, std::nullopt});
        }
        std::vector<std::string> names;
        if (req->topics) names = *req->topics;
        else for (const auto& [n, t] : topics_) names.push_back(n);
        for (const auto& n : names) {
            native::metadata_response::topic t;
            t.name = n;
            auto it = topics_.find(n);
            if (it == topics_.end()) {
                t.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
            } else {
                for (size_t p = 0; p < it->second.partitions.size(); ++p) {
                    const auto& log = it->second.partitions[p];
                    native::metadata_response::partition mp;
                    mp.partition = static_cast<int32_t>(p);
                    mp.leader = log.leader;
                    mp.leader_epoch = 0;
                    if (log.leader >= 0) {
                        mp.replicas = {log.leader};
                        mp.isr = {log.leader};
                    } else {
                        mp.error_code = static_cast<int16_t>(errc::leader_not_available);
                        mp.replicas = {1};
                    }
                    t.partitions.push_back(std::move(mp));
                }
            }
            r.topics.push_back(std::move(t));
        }
        return ok(id, r);
    }
    case native::api_key::produce: {
        auto req = native::decode<native::produce_request>(body);
        if (!req) return corrupt();
        native::produce_response r;
        produce_seen seen{node, req->acks, {}, {}};
        {
            std::lock_guard lk(mu_);
            for (auto& t : req->topics) {
                native::produce_response::topic rt{t.name, {}};
                for (auto& p : t.partitions) {
                    native::produce_response::partition rp;
                    rp.partition = p.partition;
                    seen.partitions.push_back({t.name, p.partition});
                    seen.record_counts.push_back(
                        p.records.size() >= rb::kHeaderSize ? rb::batch_view(p.records).record_count() : 0);
                    auto it = topics_.find(t.name);
                    if (it == topics_.end() || p.partition < 0 ||
                        static_cast<size_t>(p.partition) >= it->second.partitions.size()) {
                        rp.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
                    } else if (auto& log = it->second.partitions[static_cast<size_t>(p.partition)];
                               log.leader != node) {
                        rp.error_code = static_cast<int16_t>(errc::not_leader_or_follower);
                    } else if (auto s = rb::validate(p.records, 1 << 20); !s.ok()) {
                        rp.error_code = static_cast<int16_t>(s.code);
                        rp.error_message = s.message;
                    } else {
                        std::vector<std::byte> copy(p.records.begin(), p.records.end());
                        rp.base_offset = log.end;
                        rb::set_base_offset(copy, log.end);
                        log.end += rb::batch_view(copy).record_count();
                        log.batches.push_back(std::move(copy));
                        rp.log_start_offset = 0;
                    }
                    rt.partitions.push_back(std::move(rp));
                }
                r.topics.push_back(std::move(rt));
            }
            produces_.push_back(std::move(seen));
            cv_.notify_all();
        }
        if (req->acks == 0) return std::nullopt;
        return ok(id, r);
    }
    case native::api_key::fetch: {
        auto req = native::decode<native::fetch_request>(body);
        if (!req) return corrupt();
        const auto deadline = clock::now() + std::chrono::milliseconds(req->max_wait_ms);
        std::unique_lock lk(mu_);
        for (;;) {
            native::fetch_response r;
            std::vector<std::vector<std::byte>> holders;
            holders.reserve(64);
            size_t total = 0;
            bool any_error = false;
            for (const auto& t : req->topics) {
                native::fetch_response::topic rt{t.name, {}};
                for (const auto& p : t.partitions) {
                    native::fetch_response::partition rp;
                    rp.partition = p.partition;
                    auto it = topics_.find(t.name);
                    if (it == topics_.end() || p.partition < 0 ||
                        static_cast<size_t>(p.partition) >= it->second.partitions.size()) {
                        rp.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
                        any_error = true;
                    } else {
                        const auto& log = it->second.partitions[static_cast<size_t>(p.partition)];
                        rp.high_watermark = log.end;
                        rp.log_start_offset = 0;
                        if (log.leader != node) {
                            rp.error_code = static_cast<int16_t>(errc::not_leader_or_follower);
                            any_error = true;
                        } else if (p.fetch_offset < 0 || p.fetch_offset > log.end) {
                            rp.error_code = static_cast<int16_t>(errc::offset_out_of_range);
                            any_error = true;
                        } else {
                            std::vector<std::byte> data;
                            for (const auto& b : log.batches) {
                                if (rb::batch_view(b).last_offset() < p.fetch_offset) continue;
                                if (!data.empty() &&
                                    data.size() + b.size() > static_cast<size_t>(p.partition_max_bytes)) {
                                    break;
                                }
                                data.insert(data.end(), b.begin(), b.end());
                            }
                            total += data.size();
                            holders.push_back(std::move(data));
                            rp.records = std::span(holders.back());
                        }
                    }
                    rt.partitions.push_back(std::move(rp));
                }
                r.topics.push_back(std::move(rt));
            }
            if (any_error || total >= static_cast<size_t>(std::max(req->min_bytes, 1)) ||
                clock::now() >= deadline || stopping_) {
                return ok(id, r);
            }
            cv_.wait_until(lk, deadline);
        }
    }
    case native::api_key::list_offsets: {
        auto req = native::decode<native::list_offsets_request>(body);
        if (!req) return corrupt();
        std::lock_guard lk(mu_);
        native::list_offsets_response r;
        for (const auto& t : req->topics) {
            native::list_offsets_response::topic rt{t.name, {}};
            for (const auto& p : t.partitions) {
                native::list_offsets_response::partition rp;
                rp.partition = p.partition;
                auto it = topics_.find(t.name);
                if (it == topics_.end() || static_cast<size_t>(p.partition) >= it->second.partitions.size()) {
                    rp.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
                } else {
                    const auto& log = it->second.partitions[static_cast<size_t>(p.partition)];
                    if (log.leader != node) {
                        rp.error_code = static_cast<int16_t>(errc::not_leader_or_follower);
                    } else if (p.timestamp == native::kEarliestTimestamp) {
                        rp.offset = 0;
                    } else if (p.timestamp == native::kLatestTimestamp) {
                        rp.offset = log.end;
                    } else {
                        for (const auto& b : log.batches) {
                            auto recs = rb::decode_records(b);
                            if (!recs) continue;
                            for (const auto& rec : *recs) {
                                if (rp.offset < 0 && rec.timestamp >= p.timestamp) {
                                    rp.offset = rec.offset;
                                    rp.timestamp = rec.timestamp;
                                }
                            }
                        }
                    }
                }
                rt.partitions.push_back(std::move(rp));
            }
            r.topics.push_back(std::move(rt));
        }
        return ok(id, r);
    }
    case native::api_key::create_topics: {
        auto req = native::decode<native::create_topics_request>(body);
        if (!req) return corrupt();
        std::lock_guard lk(mu_);
        native::create_topics_response r;
        for (const auto& t : req->topics) {
            native::create_topics_response::topic rt;
            rt.name = t.name;
            const int32_t n = t.num_partitions < 0 ? 1 : t.num_partitions;
            const int16_t rf = t.replication_factor < 0 ? 1 : t.replication_factor;
            if (node != controller_) {
                rt.error_code = static_cast<int16_t>(errc::not_controller);
            } else if (topics_.count(t.name)) {
                rt.error_code = static_cast<int16_t>(errc::topic_already_exists);
                rt.error_message = "Topic '" + t.name + "' already exists.";
            } else if (n == 0) {
                rt.error_code = static_cast<int16_t>(errc::invalid_partitions);
                rt.error_message = "Number of partitions must be larger than 0.";
            } else {
                rt.num_partitions = n;
                rt.replication_factor = rf;
                if (!req->validate_only) {
                    topic_state ts;
                    ts.partitions.resize(static_cast<size_t>(n));
                    for (const auto& c : t.configs) ts.configs[c.name] = c.value;
                    topics_[t.name] = std::move(ts);
                }
            }
            r.topics.push_back(std::move(rt));
        }
        return ok(id, r);
    }
    case native::api_key::delete_topics: {
        auto req = native::decode<native::delete_topics_request>(body);
        if (!req) return corrupt();
        std::lock_guard lk(mu_);
        native::delete_topics_response r;
        for (const auto& n : req->names) {
            native::delete_topics_response::topic rt;
            rt.name = n;
            if (node != controller_) rt.error_code = static_cast<int16_t>(errc::not_controller);
            else if (topics_.erase(n) == 0) rt.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
            r.topics.push_back(std::move(rt));
        }
        return ok(id, r);
    }
    case native::api_key::describe_configs: {
        auto req = native::decode<native::describe_configs_request>(body);
        if (!req) return corrupt();
        std::lock_guard lk(mu_);
        native::describe_configs_response r;
        for (const auto& res : req->resources) {
            native::describe_configs_response::resource rr;
            rr.resource_type = res.resource_type;
            rr.name = res.name;
            auto it = topics_.find(res.name);
            if (res.resource_type != native::kResourceTopic || it == topics_.end()) {
                rr.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
            } else {
                std::map<std::string, std::string> all = {{"cleanup.policy", "delete"},
                                                          {"retention.ms", "604800000"}};
                for (const auto& [k, v] : all) {
                    if (!it->second.configs.count(k)) rr.configs.push_back({k, v, true, false, false});
                }
                for (const auto& [k, v] : it->second.configs) {
                    rr.configs.push_back({k, v, false, false, false});
                }
                std::sort(rr.configs.begin(), rr.configs.end(),
                          [](const auto& a, const auto& b) { return a.name < b.name; });
            }
            r.resources.push_back(std::move(rr));
        }
        return ok(id, r);
    }
    case native::api_key::alter_configs: {
        auto req = native::decode<native::alter_configs_request>(body);
        if (!req) return corrupt();
        std::lock_guard lk(mu_);
        native::alter_configs_response r;
        for (const auto& res : req->resources) {
            native::alter_configs_response::resource rr;
            rr.resource_type = res.resource_type;
            rr.name = res.name;
            auto it = topics_.find(res.name);
            if (it == topics_.end()) {
                rr.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
            } else if (!req->validate_only) {
                for (const auto& c : res.configs) {
                    if (c.op == native::kConfigSet) it->second.configs[c.name] = c.value.value_or("");
                    else it->second.configs.erase(c.name);
                }
            }
            r.resources.push_back(std::move(rr));
        }
        return ok(id, r);
    }
    case native::api_key::create_partitions: {
        auto req = native::decode<native::create_partitions_request>(body);
        if (!req) return corrupt();
        std::lock_guard lk(mu_);
        native::create_partitions_response r;
        for (const auto& t : req->topics) {
            native::create_partitions_response::topic rt{t.name, 0, ""};
            auto it = topics_.find(t.name);
            if (it == topics_.end()) {
                rt.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
            } else if (static_cast<size_t>(std::max(t.count, 0)) <= it->second.partitions.size()) {
                rt.error_code = static_cast<int16_t>(errc::invalid_partitions);
                rt.error_message = "the partition count can only grow";
            } else if (!req->validate_only) {
                it->second.partitions.resize(static_cast<size_t>(t.count));
            }
            r.topics.push_back(std::move(rt));
        }
        return ok(id, r);
    }
    case native::api_key::leader_and_isr:
    case native::api_key::update_metadata:
    case native::api_key::stop_replica:
    case native::api_key::controlled_shutdown:
    case native::api_key::offset_for_leader_epoch:
    case native::api_key::alter_partition_reassignments:
    case native::api_key::list_partition_reassignments:
        // Inter-broker and reassignment requests: a test that expects them answers them from its hook.
        break;
    }
    return native::encode_error_response(id, status(errc::invalid_request, "unknown api"));
}

std::vector<std::byte> make_batch(int first, int n, bool keyed, int64_t timestamp) {
    rb::batch_builder b;
    for (int i = first; i < first + n; ++i) {
        const std::string v = "v" + std::to_string(i);
        const std::string k = "k" + std::to_string(i);
        std::optional<std::string_view> key;
        if (keyed) key = k;
        b.add(timestamp + (i - first), key, v, {{"h", std::string("x") + std::to_string(i)}});
    }
    return b.build();
}

}  // namespace gregor::test
