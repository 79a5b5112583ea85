#include "client/admin.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <thread>

#include "client/event_loop.h"
#include "client/network_client.h"
#include "common/logger.h"

namespace gregor::client {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

status entry_status(int16_t code, const std::string& message) {
    const auto e = static_cast<errc>(code);
    if (e == errc::none) return {};
    return {e, message.empty() ? errc_message(e) : message};
}

}  // namespace

struct admin::impl {
    explicit impl(admin_config c) : cfg(std::move(c)), net(loop, cfg, false) {}

    admin_config cfg;
    event_loop loop;     // declared before everything it runs: destroyed after them
    network_client net;  // loop thread only
    std::mutex close_mu;
    bool closed = false;

    // The loop stops (its thread joined) before the members its tasks use are destroyed.
    ~impl() {
        if (!loop.in_loop_thread()) loop.stop();
    }

    clock::time_point deadline(timeout_opt t) const {
        return clock::now() + t.value_or(cfg.default_api_timeout);
    }

    // Runs one network_client::call on the loop and waits for it.
    template <typename Response, typename Request>
    result<Response> call(network_client::node_picker pick, native::api_key key, Request req,
                          clock::time_point until) {
        {
            std::lock_guard lk(close_mu);
            if (closed) return status(errc::network_exception, "the admin client is closed");
        }
        auto promise = std::make_shared<std::promise<result<Response>>>();
        auto future = promise->get_future();
        loop.post([this, pick = std::move(pick), key, req = std::move(req), until, promise]() mutable {
            net.call<Response>(std::move(pick), key, std::move(req), until,
                               [promise](result<Response> r) { promise->set_value(std::move(r)); });
        });
        // The call ends itself by its deadline; the margin only covers a stopped loop.
        if (future.wait_until(until + milliseconds(1000)) != std::future_status::ready) {
            return status(errc::request_timed_out,
                          std::string("timed out waiting for ") +
                              native::api_name(static_cast<int16_t>(key)));
        }
        return future.get();
    }

    int32_t request_timeout_ms(clock::time_point until) const {
        const auto left = std::chrono::ceil<milliseconds>(until - clock::now());
        return static_cast<int32_t>(std::clamp<int64_t>(left.count(), 0, cfg.request_timeout.count()));
    }

    // The controller when the metadata names one, else any broker (which answers NOT_CONTROLLER
    // if it is not, and the call retries with fresh metadata).
    network_client::node_picker controller() {
        return [this]() -> std::optional<int32_t> {
            const int32_t c = net.metadata().controller_id();
            if (c >= 0 && net.metadata().broker(c)) return c;
            return std::nullopt;
        };
    }

    // A Metadata request for `topics` (nullopt: all; empty: none), folded into the cache.
    result<native::metadata_response> metadata(std::optional<std::vector<std::string>> topics,
                                               clock::time_point until) {
        native::metadata_request req;
        req.topics = std::move(topics);
        req.allow_auto_topic_creation = false;
        const bool all = !req.topics.has_value();
        auto r = call<native::metadata_response>({}, native::api_key::metadata, req, until);
        if (r) {
            auto copy = *r;
            loop.post([this, copy = std::move(copy), all] { net.apply_metadata(copy, all); });
        }
        return r;
    }

    template <typename Result>
    static bool all_not_controller(const std::vector<Result>& results) {
        return !results.empty() &&
               std::all_of(results.begin(), results.end(), [](const Result& r) {
                   return r.error.code == errc::not_controller;
               });
    }

    // Sends a request that only the controller carries out, and while every entry of the
    // answer says NOT_CONTROLLER (the controller moved), asks again who it is and retries.
    template <typename Response, typename Request, typename Collect>
    auto to_controller(native::api_key key, Request& req, clock::time_point until, Collect collect)
        -> result<decltype(collect(std::declval<const Response&>()))> {
        for (;;) {
            if (!loop.call([this] { return net.has_metadata(); })) {
                auto m = metadata(std::vector<std::string>{}, until);
                if (!m) return m.error();
            }
            req.timeout_ms = request_timeout_ms(until);
            auto r = call<Response>(controller(), key, req, until);
            if (!r) return r.error();
            auto out = collect(*r);
            if (all_not_controller(out) && clock::now() + cfg.retry_backoff < until) {
                std::this_thread::sleep_for(cfg.retry_backoff);  // then ask who the controller is
                auto m = metadata(std::vector<std::string>{}, until);
                if (!m) return m.error();
                continue;
            }
            return out;
        }
    }

    // One result per name, from a response whose entries have name, error_code, error_message.
    template <typename Result, typename Entries, typename Fill>
    static std::vector<Result> per_name(const std::vector<std::string>& names, const Entries& entries, Fill fill) {
        std::vector<Result> out;
        for (const auto& name : names) {
            Result res{};
            res.name = name;
            res.error = status(errc::unknown_server_error, "the broker did not answer for this topic");
            for (const auto& x : entries) {
                if (x.name != name) continue;
                res.error = entry_status(x.error_code, x.error_message);
                fill(res, x);
            }
            out.push_back(std::move(res));
        }
        return out;
    }

    result<std::vector<create_topic_result>> create_topics(const std::vector<new_topic>& topics,
                                                           bool validate_only, timeout_opt t) {
        native::create_topics_request req;
        std::vector<std::string> names;
        for (const auto& nt : topics) {
            native::create_topics_request::topic rt;
            rt.name = nt.name;
            rt.num_partitions = nt.partitions;
            rt.replication_factor = nt.replication_factor;
            for (const auto& [p, brokers] : nt.assignments) rt.assignments.push_back({p, brokers});
            for (const auto& [k, v] : nt.configs) rt.configs.push_back({k, v});
            req.topics.push_back(std::move(rt));
            names.push_back(nt.name);
        }
        req.validate_only = validate_only;
        return to_controller<native::create_topics_response>(
            native::api_key::create_topics, req, deadline(t), [&](const native::create_topics_response& r) {
                return per_name<create_topic_result>(names, r.topics, [](create_topic_result& res, const auto& x) {
                    res.partitions = x.num_partitions;
                    res.replication_factor = x.replication_factor;
                });
            });
    }

    result<std::vector<topic_result>> delete_topics(const std::vector<std::string>& names,
                                                    timeout_opt t) {
        native::delete_topics_request req;
        req.names = names;
        return to_controller<native::delete_topics_response>(
            native::api_key::delete_topics, req, deadline(t), [&](const native::delete_topics_response& r) {
                return per_name<topic_result>(names, r.topics, [](topic_result&, const auto&) {});
            });
    }

    result<std::vector<topic_result>> create_partitions(const std::map<std::string, int32_t>& counts,
                                                        bool validate_only, timeout_opt t) {
        native::create_partitions_request req;
        std::vector<std::string> names;
        for (const auto& [name, count] : counts) {
            req.topics.push_back({name, count});
            names.push_back(name);
        }
        req.validate_only = validate_only;
        return to_controller<native::create_partitions_response>(
            native::api_key::create_partitions, req, deadline(t), [&](const native::create_partitions_response& r) {
                return per_name<topic_result>(names, r.topics, [](topic_result&, const auto&) {});
            });
    }

    // Sorted by name.
    result<std::vector<topic_listing>> list_topics(bool include_internal, timeout_opt t) {
        auto m = metadata(std::nullopt, deadline(t));
        if (!m) return m.error();
        std::vector<topic_listing> out;
        for (const auto& topic : m->topics) {
            if (topic.is_internal && !include_internal) continue;
            out.push_back({topic.name, topic.is_internal});
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        return out;
    }

    result<std::vector<topic_description>> describe_topics(const std::vector<std::string>& names,
                                                           timeout_opt t) {
        std::optional<std::vector<std::string>> wanted;
        if (!names.empty()) wanted = names;
        auto m = metadata(wanted, deadline(t));
        if (!m) return m.error();
        auto describe = [](const native::metadata_response::topic& x) {
            topic_description d;
            d.name = x.name;
            d.topic_id = x.topic_id;
            d.is_internal = x.is_internal;
            d.error = entry_status(x.error_code, x.error_message);
            for (const auto& p : x.partitions) {
                d.partitions.push_back({p.partition, p.leader, p.leader_epoch, p.replicas, p.isr,
                                        static_cast<errc>(p.error_code)});
            }
            std::sort(d.partitions.begin(), d.partitions.end(),
                      [](const partition_info& a, const partition_info& b) {
                          return a.partition < b.partition;
                      });
            return d;
        };
        std::vector<topic_description> out;
        if (names.empty()) {
            for (const auto& x : m->topics) out.push_back(describe(x));
            std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
                return a.name < b.name;
            });
            return out;
        }
        for (const auto& name : names) {
            auto it = std::find_if(m->topics.begin(), m->topics.end(),
                                   [&](const auto& x) { return x.name == name; });
            if (it == m->topics.end()) {
                topic_description d;
                d.name = name;
                d.error = status(errc::unknown_topic_or_partition);
                out.push_back(std::move(d));
            } else {
                out.push_back(describe(*it));
            }
        }
        return out;
    }

    result<cluster_description> describe_cluster(timeout_opt t) {
        auto m = metadata(std::vector<std::string>{}, deadline(t));
        if (!m) return m.error();
        cluster_description d;
        d.controller_id = m->controller_id;
        for (const auto& b : m->brokers) d.brokers.push_back({b.node_id, b.host, b.port, b.rack});
        std::sort(d.brokers.begin(), d.brokers.end(),
                  [](const broker_info& a, const broker_info& b) { return a.node_id < b.node_id; });
        return d;
    }

    // Broker resources go to that broker; topic resources to any broker.
    static std::optional<int32_t> broker_node(const config_resource& r) {
        if (r.type != resource_type::broker) return std::nullopt;
        int32_t id = -1;
        auto [end, ec] = std::from_chars(r.name.data(), r.name.data() + r.name.size(), id);
        if (ec != std::errc() || end != r.name.data() + r.name.size()) return std::nullopt;
        return id;
    }

    result<std::vector<resource_configs>> describe_configs(
        const std::vector<config_resource>& resources,
        const std::optional<std::vector<std::string>>& names, timeout_opt t) {
        const auto until = deadline(t);
        // One request per target broker (nullopt: any).
        std::map<std::optional<int32_t>, native::describe_configs_request> requests;
        for (const auto& r : resources) {
            requests[broker_node(r)].resources.push_back(
                {static_cast<int8_t>(r.type), r.name, names});
        }
        std::vector<native::describe_configs_response::resource> answers;
        for (auto& [node, req] : requests) {
            if (node && !loop.call([this] { return net.has_metadata(); })) {
                auto m = metadata(std::vector<std::string>{}, until);
                if (!m) return m.error();
            }
            network_client::node_picker pick;
            if (node) pick = [n = *node]() -> std::optional<int32_t> { return n; };
            auto r = call<native::describe_configs_response>(pick, native::api_key::describe_configs,
                                                             req, until);
            if (!r) return r.error();
            for (auto& x : r->resources) answers.push_back(std::move(x));
        }
        std::vector<resource_configs> out;
        for (const auto& res : resources) {
            resource_configs rc;
            rc.resource = res;
            rc.error = status(errc::unknown_server_error, "the broker did not answer for this resource");
            for (const auto& x : answers) {
                if (x.resource_type != static_cast<int8_t>(res.type) || x.name != res.name) continue;
                rc.error = entry_status(x.error_code, x.error_message);
                for (const auto& c : x.configs) {
                    rc.entries.push_back({c.name, c.value, c.is_default, c.read_only, c.is_sensitive});
                }
            }
            out.push_back(std::move(rc));
        }
        return out;
    }

    result<std::vector<std::pair<config_resource, status>>> alter_configs(
        const std::map<config_resource, std::vector<config_op>>& changes, bool validate_only,
        timeout_opt t) {
        const auto until = deadline(t);
        std::map<std::optional<int32_t>, native::alter_configs_request> requests;
        for (const auto& [res, ops] : changes) {
            native::alter_configs_request::resource r;
            r.resource_type = static_cast<int8_t>(res.type);
            r.name = res.name;
            for (const auto& op : ops) {
                r.configs.push_back({op.name, static_cast<int8_t>(op.op), op.value});
            }
            auto& req = requests[broker_node(res)];
            req.resources.push_back(std::move(r));
            req.validate_only = validate_only;
        }
        std::vector<native::alter_configs_response::resource> answers;
        for (auto& [node, req] : requests) {
            if (node && !loop.call([this] { return net.has_metadata(); })) {
                auto m = metadata(std::vector<std::string>{}, until);
                if (!m) return m.error();
            }
            network_client::node_picker pick;
            if (node) pick = [n = *node]() -> std::optional<int32_t> { return n; };
            auto r = call<native::alter_configs_response>(pick, native::api_key::alter_configs, req,
                                                          until);
            if (!r) return r.error();
            for (auto& x : r->resources) answers.push_back(std::move(x));
        }
        std::vector<std::pair<config_resource, status>> out;
        for (const auto& [res, ops] : changes) {
            status s(errc::unknown_server_error, "the broker did not answer for this resource");
            for (const auto& x : answers) {
                if (x.resource_type == static_cast<int8_t>(res.type) && x.name == res.name) {
                    s = entry_status(x.error_code, x.error_message);
                }
            }
            out.emplace_back(res, std::move(s));
        }
        return out;
    }

    // Any broker takes these: it writes /admin/reassign_partitions, which the controller watches.
    result<std::map<topic_partition, status>> alter_partition_reassignments(
        const std::map<topic_partition, std::vector<int32_t>>& targets, timeout_opt t) {
        const auto until = deadline(t);
        native::alter_partition_reassignments_request req;
        for (const auto& [tp, replicas] : targets) {
            if (req.topics.empty() || req.topics.back().name != tp.topic) req.topics.push_back({tp.topic, {}});
            req.topics.back().partitions.push_back({tp.partition, replicas});
        }
        req.timeout_ms = request_timeout_ms(until);
        auto r = call<native::alter_partition_reassignments_response>({}, native::api_key::alter_partition_reassignments,
                                                                      req, until);
        if (!r) return r.error();
        std::map<topic_partition, status> out;
        for (const auto& [tp, _] : targets) {
            out[tp] = status(errc::unknown_server_error, "the broker did not answer for this partition");
        }
        for (const auto& topic : r->topics) {
            for (const auto& p : topic.partitions) {
                auto it = out.find({topic.name, p.partition});
                if (it != out.end()) it->second = entry_status(p.error_code, p.error_message);
            }
        }
        return out;
    }

    result<std::map<topic_partition, partition_reassignment>> list_partition_reassignments(
        const std::optional<std::set<topic_partition>>& partitions, timeout_opt t) {
        native::list_partition_reassignments_request req;
        if (partitions) {
            req.topics.emplace();
            for (const auto& tp : *partitions) {
                if (req.topics->empty() || req.topics->back().name != tp.topic) req.topics->push_back({tp.topic, {}});
                req.topics->back().partitions.push_back(tp.partition);
            }
        }
        auto r = call<native::list_partition_reassignments_response>({}, native::api_key::list_partition_reassignments,
                                                                     req, deadline(t));
        if (!r) return r.error();
        std::map<topic_partition, partition_reassignment> out;
        for (const auto& topic : r->topics) {
            for (const auto& p : topic.partitions) {
                out[{topic.name, p.partition}] = {p.replicas, p.target_replicas};
            }
        }
        return out;
    }

    void close() {
        {
            std::lock_guard lk(close_mu);
            if (closed) return;
            closed = true;
        }
        if (loop.in_loop_thread()) return;
        loop.call([this] { net.close(); });
        loop.stop();
    }
};

result<std::unique_ptr<admin>> admin::create(const properties& props) {
    auto c = admin_config::parse(props);
    if (!c) return c.error();
    for (const auto& w : c->warnings) logging::get("client")->warn("{}", w);
    return std::make_unique<admin>(std::move(*c));
}

admin::admin(admin_config config) : impl_(std::make_shared<impl>(std::move(config))) {}

admin::~admin() { close(); }

result<std::vector<create_topic_result>> admin::create_topics(const std::vector<new_topic>& topics,
                                                              bool validate_only, timeout_opt t) {
    return impl_->create_topics(topics, validate_only, t);
}

result<std::vector<topic_result>> admin::delete_topics(const std::vector<std::string>& names,
                                                       timeout_opt t) {
    return impl_->delete_topics(names, t);
}

result<std::vector<topic_result>> admin::create_partitions(const std::map<std::string, int32_t>& counts,
                                                           bool validate_only, timeout_opt t) {
    return impl_->create_partitions(counts, validate_only, t);
}

result<std::vector<topic_listing>> admin::list_topics(bool include_internal, timeout_opt t) {
    return impl_->list_topics(include_internal, t);
}

result<std::vector<topic_description>> admin::describe_topics(const std::vector<std::string>& names,
                                                              timeout_opt t) {
    return impl_->describe_topics(names, t);
}

result<cluster_description> admin::describe_cluster(timeout_opt t) {
    return impl_->describe_cluster(t);
}

result<std::vector<resource_configs>> admin::describe_configs(
    const std::vector<config_resource>& resources,
    const std::optional<std::vector<std::string>>& names, timeout_opt t) {
    return impl_->describe_configs(resources, names, t);
}

result<std::vector<std::pair<config_resource, status>>> admin::alter_configs(
    const std::map<config_resource, std::vector<config_op>>& changes, bool validate_only,
    timeout_opt t) {
    return impl_->alter_configs(changes, validate_only, t);
}

result<std::map<topic_partition, status>> admin::alter_partition_reassignments(
    const std::map<topic_partition, std::vector<int32_t>>& targets, timeout_opt t) {
    return impl_->alter_partition_reassignments(targets, t);
}

result<std::map<topic_partition, partition_reassignment>> admin::list_partition_reassignments(
    const std::optional<std::set<topic_partition>>& partitions, timeout_opt t) {
    return impl_->list_partition_reassignments(partitions, t);
}

void admin::close() { impl_->close(); }

}  // namespace gregor::client
