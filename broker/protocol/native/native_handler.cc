#include "broker/protocol/native/native_handler.h"

#include <set>

#include "broker/cluster/controller_requests.h"
#include "broker/topic_config.h"
#include "common/logger.h"
#include "coordination/topic_name.h"
#include "protocol/native/messages.h"

namespace gregor::broker {
namespace {

using namespace gregor::native;
using coordination::validate_topic_name;

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("broker");
    return l;
}

int16_t code(const status& s) { return static_cast<int16_t>(s.code); }

}  // namespace

// One request in flight: the frame (decoded messages point into it) and the reply path.
struct native_handler::context {
    std::vector<std::byte> payload;
    request_header header;
    std::span<std::byte> body;
    std::function<void(net::response)> respond;

    template <typename Response>
    void reply(const Response& r) {
        respond({encode_response(header.correlation_id, status{}, r), false});
    }
    void fail(const status& s, bool close) {
        respond({encode_error_response(header.correlation_id, s), close});
    }
    // Decodes the body, or answers CORRUPT_MESSAGE and closes the connection.
    template <typename Request>
    std::optional<Request> decode_or_fail() {
        auto r = decode<Request>(body);
        if (!r) {
            logger()->warn("closing a connection: {} request {} does not parse: {}",
                           api_name(header.api_key), header.correlation_id, r.error().message);
            fail(r.error(), true);
            return std::nullopt;
        }
        return std::move(*r);
    }
};

native_handler::native_handler(std::string listener_name, const broker_config& config,
                               const properties& broker_properties, metadata_cache& metadata,
                               replica_manager& replicas, topic_admin& admin, inter_broker_requests& inter_broker)
    : listener_name_(std::move(listener_name)), config_(config), broker_properties_(broker_properties),
      metadata_(metadata), replicas_(replicas), admin_(admin), inter_broker_(inter_broker) {}

void native_handler::handle(std::vector<std::byte> payload, std::function<void(net::response)> respond) {
    auto c = std::make_shared<context>();
    c->payload = std::move(payload);
    c->respond = std::move(respond);
    auto h = decode_request_header(c->payload);
    if (!h) {
        c->respond({encode_error_response(0, h.error()), true});
        return;
    }
    c->header = *h;
    c->body = std::span(c->payload).subspan(kRequestHeaderSize);
    if (c->header.api_key < 0 || c->header.api_key > kMaxApiKey) {
        c->fail({errc::invalid_request, "unknown API key " + std::to_string(c->header.api_key)}, false);
        return;
    }
    if (c->header.api_version != 0) {
        c->fail({errc::unsupported_version, std::string(api_name(c->header.api_key)) + " version " +
                                                std::to_string(c->header.api_version) +
                                                " is not supported; this broker serves version 0"},
                false);
        return;
    }
    switch (static_cast<api_key>(c->header.api_key)) {
    case api_key::api_versions: return api_versions(c);
    case api_key::metadata: return metadata(c);
    case api_key::produce: return produce(c);
    case api_key::fetch: return fetch(c);
    case api_key::list_offsets: return list_offsets(c);
    case api_key::create_topics: return create_topics(c);
    case api_key::delete_topics: return delete_topics(c);
    case api_key::describe_configs: return describe_configs(c);
    case api_key::alter_configs: return alter_configs(c);
    case api_key::create_partitions: return create_partitions(c);
    case api_key::leader_and_isr: return leader_and_isr(c);
    case api_key::update_metadata: return update_metadata(c);
    case api_key::stop_replica: return stop_replica(c);
    case api_key::controlled_shutdown: return controlled_shutdown(c);
    case api_key::offset_for_leader_epoch: return offset_for_leader_epoch(c);
    case api_key::alter_partition_reassignments: return alter_partition_reassignments(c);
    case api_key::list_partition_reassignments: return list_partition_reassignments(c);
    }
}

void native_handler::api_versions(const std::shared_ptr<context>& c) {
    if (!c->decode_or_fail<api_versions_request>()) return;
    api_versions_response r;
    for (int16_t k = 0; k <= kMaxApiKey; ++k) r.apis.push_back({k, 0, 0});
    c->reply(r);
}

void native_handler::maybe_auto_create(const std::string& topic) {
    if (!config_.auto_create_topics_enable || !validate_topic_name(topic).ok()) return;
    new_topic t{topic, config_.num_partitions, config_.default_replication_factor, {}, {}};
    admin_.create_topics({t}, 0, false, [topic](std::vector<topic_result> r) {
        if (!r.empty() && !r[0].error.ok() && r[0].error.code != errc::topic_already_exists) {
            logger()->warn("auto-creating topic {} failed: {}", topic, r[0].error.message);
        }
    });
}

status native_handler::routing_error(const topic_partition& tp) const {
    auto snap = metadata_.snapshot();
    auto t = snap->topics.find(tp.topic);
    if (t == snap->topics.end() || !t->second.partitions.contains(tp.partition)) {
        return {errc::unknown_topic_or_partition, "unknown topic or partition " + tp.dir_name()};
    }
    const auto& p = t->second.partitions.at(tp.partition);
    if (p.leader < 0) return {errc::leader_not_available, tp.dir_name() + " has no leader"};
    return {errc::not_leader_or_follower, "broker " + std::to_string(config_.broker_id) +
                                              " is not the leader of " + tp.dir_name() +
                                              " (broker " + std::to_string(p.leader) + " is)"};
}

void native_handler::metadata(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<metadata_request>();
    if (!req) return;
    auto snap = metadata_.snapshot();
    metadata_response r;
    r.controller_id = snap->controller_id;
    // A broker without an endpoint on this listener cannot be reached by whoever asked, so it
    // is left out, and a partition it leads is reported without a leader (as Kafka does).
    for (const auto& [id, b] : snap->brokers) {
        auto e = b.endpoints.find(listener_name_);
        if (e == b.endpoints.end()) continue;
        r.brokers.push_back({id, e->second.first, e->second.second,
                             b.rack.empty() ? std::nullopt : std::optional(b.rack)});
    }
    auto unreachable = [&](int32_t leader) {
        auto b = snap->brokers.find(leader);
        return b != snap->brokers.end() && !b->second.endpoints.contains(listener_name_);
    };
    std::vector<std::string> names;
    if (req->topics) {
        names = *req->topics;
    } else {
        for (const auto& [name, _] : snap->topics) names.push_back(name);
    }
    for (const auto& name : names) {
        metadata_response::topic t;
        t.name = name;
        t.is_internal = name.starts_with("__");
        auto it = snap->topics.find(name);
        if (it == snap->topics.end()) {
            if (status bad = validate_topic_name(name); !bad.ok()) {
                t.error_code = code(bad);
                t.error_message = bad.message;
            } else if (req->allow_auto_topic_creation && config_.auto_create_topics_enable) {
                maybe_auto_create(name);
                t.error_code = static_cast<int16_t>(errc::leader_not_available);
                t.error_message = "topic " + name + " is being created";
            } else {
                t.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
                t.error_message = "unknown topic " + name;
            }
            r.topics.push_back(std::move(t));
            continue;
        }
        t.topic_id = it->second.topic_id;
        for (const auto& [pid, p] : it->second.partitions) {
            metadata_response::partition mp;
            mp.partition = pid;
            mp.leader = unreachable(p.leader) ? -1 : p.leader;
            mp.leader_epoch = p.leader_epoch;
            mp.replicas = p.replicas;
            mp.isr = p.isr;
            if (mp.leader < 0) mp.error_code = static_cast<int16_t>(errc::leader_not_available);
            t.partitions.push_back(std::move(mp));
        }
        r.topics.push_back(std::move(t));
    }
    c->reply(r);
}

void native_handler::produce(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<produce_request>();
    if (!req) return;
    std::vector<replica_manager::produce_entry> entries;
    std::vector<replica_manager::produce_result> refused;
    for (auto& t : req->topics) {
        for (auto& p : t.partitions) {
            topic_partition tp{t.name, p.partition};
            if (!replicas_.get(tp)) {
                status why = routing_error(tp);
                if (why.code == errc::unknown_topic_or_partition) maybe_auto_create(t.name);
                refused.push_back({tp, why, -1, -1});
                continue;
            }
            entries.push_back({tp, p.records, p.current_leader_epoch});
        }
    }
    const int16_t acks = req->acks;
    replicas_.produce(std::move(entries), acks, req->timeout_ms, [c, acks, refused](std::vector<replica_manager::produce_result> done) mutable {
        if (acks == 0) return c->respond({});
        done.insert(done.end(), refused.begin(), refused.end());
        produce_response r;
        for (const auto& x : done) {
            if (r.topics.empty() || r.topics.back().name != x.tp.topic) r.topics.push_back({x.tp.topic, {}});
            r.topics.back().partitions.push_back({x.tp.partition, code(x.error),
                                                  x.error.ok() ? "" : x.error.message, x.base_offset, -1,
                                                  x.log_start_offset});
        }
        c->reply(r);
    });
}

void native_handler::fetch(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<fetch_request>();
    if (!req) return;
    std::vector<replica_manager::fetch_entry> entries;
    std::vector<replica_manager::fetch_result> refused;
    for (const auto& t : req->topics) {
        for (const auto& p : t.partitions) {
            topic_partition tp{t.name, p.partition};
            if (!replicas_.get(tp)) {
                replica_manager::fetch_result x;
                x.tp = tp;
                x.error = routing_error(tp);
                refused.push_back(std::move(x));
                continue;
            }
            entries.push_back({tp, p.fetch_offset, p.partition_max_bytes, p.current_leader_epoch});
        }
    }
    // A partition this broker cannot serve answers at once rather than after max_wait.
    const int32_t wait = refused.empty() ? req->max_wait_ms : 0;
    replicas_.fetch(std::move(entries), req->replica_id, wait, req->min_bytes, req->max_bytes,
                    [c, refused = std::move(refused)](std::vector<replica_manager::fetch_result> done) mutable {
        for (auto& x : refused) done.push_back(std::move(x));
        fetch_response r;
        for (auto& x : done) {
            if (r.topics.empty() || r.topics.back().name != x.tp.topic) r.topics.push_back({x.tp.topic, {}});
            fetch_response::partition p;
            p.partition = x.tp.partition;
            p.error_code = code(x.error);
            p.error_message = x.error.ok() ? "" : x.error.message;
            p.high_watermark = x.high_watermark;
            p.log_start_offset = x.log_start_offset;
            p.records = x.records;
            r.topics.back().partitions.push_back(std::move(p));
        }
        c->reply(r);
    });
}

void native_handler::list_offsets(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<list_offsets_request>();
    if (!req) return;
    std::vector<std::pair<topic_partition, int64_t>> entries;
    std::vector<replica_manager::list_offsets_result> refused;
    for (const auto& t : req->topics) {
        for (const auto& p : t.partitions) {
            topic_partition tp{t.name, p.partition};
            if (!replicas_.get(tp)) {
                refused.push_back({tp, routing_error(tp), -1, -1});
                continue;
            }
            entries.emplace_back(tp, p.timestamp);
        }
    }
    replicas_.list_offsets(std::move(entries), [c, refused](std::vector<replica_manager::list_offsets_result> done) mutable {
        done.insert(done.end(), refused.begin(), refused.end());
        list_offsets_response r;
        for (const auto& x : done) {
            if (r.topics.empty() || r.topics.back().name != x.tp.topic) r.topics.push_back({x.tp.topic, {}});
            r.topics.back().partitions.push_back({x.tp.partition, code(x.error),
                                                  x.error.ok() ? "" : x.error.message, x.timestamp, x.offset});
        }
        c->reply(r);
    });
}

void native_handler::create_topics(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<create_topics_request>();
    if (!req) return;
    std::vector<new_topic> valid;
    std::vector<topic_result> refused;
    std::map<std::string, std::pair<int32_t, int16_t>> shape;
    std::set<std::string> seen;
    for (const auto& t : req->topics) {
        new_topic n;
        n.name = t.name;
        n.partitions = t.num_partitions == -1 ? config_.num_partitions : t.num_partitions;
        n.replication_factor = t.replication_factor == -1 ? config_.default_replication_factor : t.replication_factor;
        for (const auto& a : t.assignments) n.assignment[a.partition] = a.broker_ids;
        for (const auto& cfg : t.configs) n.configs[cfg.name] = cfg.value;
        if (!n.assignment.empty()) {
            n.partitions = static_cast<int32_t>(n.assignment.size());
            n.replication_factor = static_cast<int16_t>(n.assignment.begin()->second.size());
        }
        shape[n.name] = {n.partitions, n.replication_factor};
        status bad;
        if (!seen.insert(t.name).second) {
            bad = {errc::invalid_request, "topic " + t.name + " appears twice in the request"};
        } else if (auto s = validate_topic_name(t.name); !s.ok()) {
            bad = s;
        } else if (n.partitions < 1) {
            bad = {errc::invalid_partitions, "number of partitions must be at least 1, not " + std::to_string(n.partitions)};
        } else if (n.replication_factor < 1) {
            bad = {errc::invalid_replication_factor,
                   "replication factor must be at least 1, not " + std::to_string(n.replication_factor)};
        } else if (auto s = validate_topic_config(config_, n.configs); !s.ok()) {
            bad = s;
        }
        if (!bad.ok()) {
            refused.push_back({t.name, bad});
        } else {
            valid.push_back(std::move(n));
        }
    }
    auto finish = [c, refused, shape](std::vector<topic_result> done) mutable {
        done.insert(done.end(), refused.begin(), refused.end());
        create_topics_response r;
        for (const auto& x : done) {
            auto [parts, rf] = shape[x.name];
            r.topics.push_back({x.name, code(x.error), x.error.ok() ? "" : x.error.message, parts, rf});
        }
        c->reply(r);
    };
    if (valid.empty()) return finish({});
    admin_.create_topics(std::move(valid), req->timeout_ms, req->validate_only, std::move(finish));
}

void native_handler::delete_topics(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<delete_topics_request>();
    if (!req) return;
    auto finish = [c](std::vector<topic_result> done) {
        delete_topics_response r;
        for (const auto& x : done) r.topics.push_back({x.name, code(x.error), x.error.ok() ? "" : x.error.message});
        c->reply(r);
    };
    if (!config_.delete_topic_enable) {
        std::vector<topic_result> all;
        for (const auto& n : req->names) {
            all.push_back({n, {errc::topic_deletion_disabled, "topic deletion is disabled: delete.topic.enable=false"}});
        }
        return finish(std::move(all));
    }
    std::vector<std::string> known;
    std::vector<topic_result> refused;
    auto snap = metadata_.snapshot();
    for (const auto& n : req->names) {
        if (snap->topics.contains(n)) {
            known.push_back(n);
        } else {
            refused.push_back({n, {errc::unknown_topic_or_partition, "unknown topic " + n}});
        }
    }
    if (known.empty()) return finish(std::move(refused));
    admin_.delete_topics(std::move(known), req->timeout_ms, [finish, refused](std::vector<topic_result> done) mutable {
        done.insert(done.end(), refused.begin(), refused.end());
        finish(std::move(done));
    });
}

void native_handler::describe_configs(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<describe_configs_request>();
    if (!req) return;
    auto snap = metadata_.snapshot();
    describe_configs_response r;
    for (const auto& res : req->resources) {
        describe_configs_response::resource out;
        out.resource_type = res.resource_type;
        out.name = res.name;
        auto wanted = [&](const std::string& key) {
            return !res.config_names || std::find(res.config_names->begin(), res.config_names->end(), key) !=
                                            res.config_names->end();
        };
        if (res.resource_type == kResourceTopic) {
            auto it = snap->topics.find(res.name);
            if (it == snap->topics.end()) {
                out.error_code = static_cast<int16_t>(errc::unknown_topic_or_partition);
                out.error_message = "unknown topic " + res.name;
            } else {
                for (const auto& e : describe_topic_config(config_, it->second.configs)) {
                    if (wanted(e.name)) out.configs.push_back({e.name, e.value, e.is_default, false, false});
                }
            }
        } else if (res.resource_type == kResourceBroker) {
            if (res.name != std::to_string(config_.broker_id) && !res.name.empty()) {
                out.error_code = static_cast<int16_t>(errc::invalid_request);
                out.error_message = "this is broker " + std::to_string(config_.broker_id) + ", not " + res.name;
            } else {
                for (const auto& [k, v] : broker_properties_) {
                    if (wanted(k)) out.configs.push_back({k, v, false, true, false});
                }
            }
        } else {
            out.error_code = static_cast<int16_t>(errc::invalid_request);
            out.error_message = "unknown resource type " + std::to_string(res.resource_type);
        }
        r.resources.push_back(std::move(out));
    }
    c->reply(r);
}

void native_handler::alter_configs(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<alter_configs_request>();
    if (!req) return;
    struct state {
        alter_configs_response r;
        std::atomic<size_t> remaining;
        std::shared_ptr<context> c;
    };
    auto st = std::make_shared<state>();
    st->c = c;
    st->remaining = req->resources.size();
    st->r.resources.resize(req->resources.size());
    if (req->resources.empty()) return c->reply(st->r);
    auto settle = [st](size_t i, const status& s) {
        st->r.resources[i].error_code = code(s);
        st->r.resources[i].error_message = s.ok() ? "" : s.message;
        if (st->remaining.fetch_sub(1) == 1) st->c->reply(st->r);
    };
    auto snap = metadata_.snapshot();
    for (size_t i = 0; i < req->resources.size(); ++i) {
        const auto& res = req->resources[i];
        st->r.resources[i].resource_type = res.resource_type;
        st->r.resources[i].name = res.name;
        if (res.resource_type != kResourceTopic) {
            settle(i, {errc::invalid_request, "only topic configs can be altered"});
            continue;
        }
        auto it = snap->topics.find(res.name);
        if (it == snap->topics.end()) {
            settle(i, {errc::unknown_topic_or_partition, "unknown topic " + res.name});
            continue;
        }
        std::vector<config_change> changes;
        topic_overrides after = it->second.configs;
        status bad;
        for (const auto& cfg : res.configs) {
            if (cfg.op == kConfigSet && cfg.value) {
                changes.push_back({cfg.name, cfg.value});
                after[cfg.name] = *cfg.value;
            } else if (cfg.op == kConfigDelete) {
                changes.push_back({cfg.name, std::nullopt});
                after.erase(cfg.name);
            } else {
                bad = {errc::invalid_request, "config " + cfg.name + ": op must be 0 (set, with a value) or 1 (delete)"};
            }
        }
        if (bad.ok()) bad = validate_topic_config(config_, after);
        if (!bad.ok()) {
            settle(i, bad);
            continue;
        }
        admin_.alter_topic_config(res.name, std::move(changes), req->validate_only,
                                  [settle, i](status s) { settle(i, s); });
    }
}

void native_handler::create_partitions(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<create_partitions_request>();
    if (!req) return;
    struct state {
        create_partitions_response r;
        std::atomic<size_t> remaining;
        std::shared_ptr<context> c;
    };
    auto st = std::make_shared<state>();
    st->c = c;
    st->remaining = req->topics.size();
    if (req->topics.empty()) return c->reply(st->r);
    for (const auto& t : req->topics) st->r.topics.push_back({t.name, 0, ""});
    for (size_t i = 0; i < req->topics.size(); ++i) {
        admin_.create_partitions(req->topics[i].name, req->topics[i].count, req->timeout_ms, req->validate_only,
                                 [st, i](status s) {
                                     st->r.topics[i].error_code = code(s);
                                     st->r.topics[i].error_message = s.ok() ? "" : s.message;
                                     if (st->remaining.fetch_sub(1) == 1) st->c->reply(st->r);
                                 });
    }
}

namespace {

// The controller's requests name partitions whose directories a broker creates and deletes: a
// name that is not a valid topic name (a path, say) or a negative partition is refused whole.
template <typename Partitions>
status check_partitions(const Partitions& partitions) {
    for (const auto& p : partitions) {
        if (status s = validate_topic_name(p.topic); !s.ok()) return {errc::invalid_request, s.message};
        if (p.partition < 0) return {errc::invalid_request, "partition " + std::to_string(p.partition) + " of " + p.topic};
    }
    return {};
}

std::vector<native::partition_error> to_wire(const partition_errors& errors) {
    std::vector<native::partition_error> out;
    for (const auto& [tp, s] : errors) out.push_back({tp.topic, tp.partition, code(s), s.message});
    return out;
}

}  // namespace

void native_handler::leader_and_isr(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<leader_and_isr_request>();
    if (!req) return;
    if (status bad = check_partitions(req->partitions); !bad.ok()) return c->fail(bad, false);
    inter_broker_.leader_and_isr(from_native(*req), [c](result<partition_errors> r) {
        if (!r) return c->fail(r.error(), false);
        c->reply(leader_and_isr_response{to_wire(*r)});
    });
}

void native_handler::update_metadata(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<update_metadata_request>();
    if (!req) return;
    if (status bad = check_partitions(req->partitions); !bad.ok()) return c->fail(bad, false);
    inter_broker_.update_metadata(from_native(*req), [c](status s) {
        if (!s.ok()) return c->fail(s, false);
        c->reply(update_metadata_response{});
    });
}

void native_handler::stop_replica(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<stop_replica_request>();
    if (!req) return;
    if (status bad = check_partitions(req->partitions); !bad.ok()) return c->fail(bad, false);
    inter_broker_.stop_replica(from_native(*req), [c](result<partition_errors> r) {
        if (!r) return c->fail(r.error(), false);
        c->reply(stop_replica_response{to_wire(*r)});
    });
}

void native_handler::controlled_shutdown(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<controlled_shutdown_request>();
    if (!req) return;
    inter_broker_.controlled_shutdown(req->broker_id, [c](result<std::vector<topic_partition>> r) {
        if (!r) return c->fail(r.error(), false);
        controlled_shutdown_response out;
        for (const auto& tp : *r) out.remaining.push_back({tp.topic, tp.partition});
        c->reply(out);
    });
}

void native_handler::offset_for_leader_epoch(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<offset_for_leader_epoch_request>();
    if (!req) return;
    std::vector<replica_manager::epoch_entry> entries;
    std::vector<replica_manager::epoch_result> refused;
    for (const auto& t : req->topics) {
        for (const auto& p : t.partitions) {
            topic_partition tp{t.name, p.partition};
            if (!replicas_.get(tp)) {
                refused.push_back({tp, routing_error(tp), {}});
                continue;
            }
            entries.push_back({tp, p.current_leader_epoch, p.leader_epoch});
        }
    }
    replicas_.offsets_for_leader_epoch(std::move(entries), [c, refused](std::vector<replica_manager::epoch_result> done) mutable {
        done.insert(done.end(), refused.begin(), refused.end());
        offset_for_leader_epoch_response r;
        for (const auto& x : done) {
            if (r.topics.empty() || r.topics.back().name != x.tp.topic) r.topics.push_back({x.tp.topic, {}});
            r.topics.back().partitions.push_back({x.tp.partition, code(x.error), x.error.ok() ? "" : x.error.message,
                                                  x.end.epoch, x.end.end_offset});
        }
        c->reply(r);
    });
}

void native_handler::alter_partition_reassignments(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<alter_partition_reassignments_request>();
    if (!req) return;
    std::map<topic_partition, int> listed;
    for (const auto& t : req->topics) {
        for (const auto& p : t.partitions) ++listed[{t.name, p.partition}];
    }
    // What the request itself gets wrong is answered here; the rest (unknown topics, partitions
    // and brokers, moves already under way) by the coordination layer, which reads ZooKeeper.
    replica_targets valid;
    std::map<topic_partition, status> refused;
    for (const auto& t : req->topics) {
        for (const auto& p : t.partitions) {
            const topic_partition tp{t.name, p.partition};
            if (status bad = validate_topic_name(t.name); !bad.ok()) {
                refused[tp] = bad;
            } else if (p.partition < 0) {
                refused[tp] = {errc::unknown_topic_or_partition,
                               "Reassignment of partition " + std::to_string(p.partition) + " of topic '" + t.name +
                                   "': partitions are numbered from 0."};
            } else if (listed[tp] > 1) {
                refused[tp] = {errc::invalid_request,
                               "Reassignment of " + tp.dir_name() + ": the request lists the partition " +
                                   std::to_string(listed[tp]) + " times."};
            } else {
                valid[tp] = p.replicas;
            }
        }
    }
    // Answers in the request's order, one entry per partition entry.
    auto finish = [c, topics = std::move(req->topics), refused](std::map<topic_partition, status> done) {
        done.insert(refused.begin(), refused.end());
        alter_partition_reassignments_response r;
        for (const auto& t : topics) {
            auto& out = r.topics.emplace_back();
            out.name = t.name;
            for (const auto& p : t.partitions) {
                const auto it = done.find({t.name, p.partition});
                const status s = it == done.end() ? status(errc::unknown_server_error, "no answer") : it->second;
                out.partitions.push_back({p.partition, code(s), s.ok() ? "" : s.message});
            }
        }
        c->reply(r);
    };
    if (valid.empty()) return finish({});
    admin_.reassign_partitions(std::move(valid), req->timeout_ms, std::move(finish));
}

void native_handler::list_partition_reassignments(const std::shared_ptr<context>& c) {
    auto req = c->decode_or_fail<list_partition_reassignments_request>();
    if (!req) return;
    std::optional<std::set<topic_partition>> wanted;
    if (req->topics) {
        wanted.emplace();
        for (const auto& t : *req->topics) {
            for (const int32_t p : t.partitions) wanted->insert({t.name, p});
        }
    }
    admin_.list_partition_reassignments([this, c, wanted = std::move(wanted)](result<replica_targets> moving) {
        if (!moving) return c->fail(moving.error(), false);
        auto snap = metadata_.snapshot();
        list_partition_reassignments_response r;
        for (const auto& [tp, target] : *moving) {
            if (wanted && !wanted->contains(tp)) continue;
            if (r.topics.empty() || r.topics.back().name != tp.topic) r.topics.push_back({tp.topic, {}});
            std::vector<int32_t> replicas;
            if (auto t = snap->topics.find(tp.topic); t != snap->topics.end()) {
                if (auto p = t->second.partitions.find(tp.partition); p != t->second.partitions.end()) {
                    replicas = p->second.replicas;
                }
            }
            r.topics.back().partitions.push_back({tp.partition, std::move(replicas), target});
        }
        c->reply(r);
    });
}

}  // namespace gregor::broker
