#include "broker/cluster/controller_channel_manager.h"

#include <deque>
#include <future>
#include <map>

#include "broker/cluster/controller_requests.h"
#include "broker/listener_endpoints.h"
#include "client/connection.h"
#include "client/event_loop.h"
#include "common/logger.h"

namespace gregor::broker {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("controller.channel");
    return l;
}

// Logs what a broker could not apply: the per-partition errors of a LeaderAndIsr or StopReplica
// answer (an UpdateMetadata answer has none).
template <typename Response>
void log_errors(int32_t broker_id, const char* api, client::response& r) {
    auto body = r.decode<Response>();
    if (!body) {
        logger()->warn("{} answer from broker {} does not parse: {}", api, broker_id, body.error().message);
        return;
    }
    if constexpr (requires { body->partitions; }) {
        for (const auto& p : body->partitions) {
            logger()->warn("broker {} could not apply {} for {}-{}: {} ({})", broker_id, api, p.topic, p.partition,
                           errc_name(static_cast<errc>(p.error_code)), p.error_message);
        }
    }
}

// `b` on the inter-broker listener; its registration's host and port when it names no such
// listener (a registration written by an older version).
client::broker_address address_on(const coordination::broker_info& b, const std::string& listener) {
    auto [host, port] = endpoint_for(b, listener).value_or(std::pair{b.host, b.port});
    return {host, static_cast<uint16_t>(port)};
}

}  // namespace

struct controller_channel_manager::impl : std::enable_shared_from_this<impl> {
    // One queued request: how to send it on a connection, and what to do with its answer.
    struct request {
        const char* api;
        std::function<void(client::connection&, client::response_handler)> send;
        std::function<void(client::response&)> check;
    };
    struct peer {
        coordination::broker_info info;
        client::broker_address address;
        std::shared_ptr<client::connection> conn;
        std::deque<request> queue;
        bool in_flight = false;
        bool failing = false;  // the last attempt failed; logged once per streak
        uint64_t generation = 0;
    };

    channel_options options;
    client::event_loop loop;
    std::map<int32_t, peer> peers;  // loop thread only
    uint64_t next_generation = 1;

    explicit impl(channel_options o) : options(std::move(o)) {}

    client::connection_options connection_options() const {
        client::connection_options c;
        c.connect_timeout = options.request_timeout;
        c.request_timeout = options.request_timeout;
        return c;
    }

    void set_live(const std::vector<coordination::broker_info>& live) {
        std::map<int32_t, const coordination::broker_info*> wanted;
        for (const auto& b : live) wanted[b.id] = &b;
        for (auto it = peers.begin(); it != peers.end();) {
            if (!wanted.contains(it->first)) {
                if (it->second.conn) it->second.conn->close();
                it = peers.erase(it);
            } else {
                ++it;
            }
        }
        for (const auto& [id, b] : wanted) {
            auto address = address_on(*b, options.listener);
            auto& p = peers[id];
            if (p.generation != 0 && p.address == address && p.info == *b) continue;
            if (p.conn) p.conn->close();
            p.conn.reset();
            // A new generation makes answers to requests sent on the old connection stale.
            p.generation = next_generation++;
            p.in_flight = false;
            p.info = *b;
            p.address = std::move(address);
            pump(id);
        }
    }

    // Queues `req` for `broker_id` from any thread; `Response` is what its answer decodes to.
    template <typename Response, typename Request>
    void post_request(int32_t broker_id, native::api_key key, Request req) {
        auto shared = std::make_shared<const Request>(std::move(req));
        loop.post([this, broker_id, key, shared] {
            const char* api = native::api_name(static_cast<int16_t>(key));
            enqueue(broker_id, {api,
                                [key, shared](client::connection& c, client::response_handler h) {
                                    c.send(key, *shared, std::move(h));
                                },
                                [broker_id, api](client::response& r) { log_errors<Response>(broker_id, api, r); }});
        });
    }

    void enqueue(int32_t broker_id, request r) {
        auto it = peers.find(broker_id);
        if (it == peers.end()) {
            logger()->warn("{} for broker {} dropped: it is not a live broker", r.api, broker_id);
            return;
        }
        it->second.queue.push_back(std::move(r));
        pump(broker_id);
    }

    void pump(int32_t broker_id) {
        auto it = peers.find(broker_id);
        if (it == peers.end()) return;
        peer& p = it->second;
        if (p.in_flight || p.queue.empty()) return;
        if (!p.conn || p.conn->closed()) p.conn = client::connection::create(loop, p.address, connection_options());
        p.in_flight = true;
        const uint64_t generation = p.generation;
        std::weak_ptr<impl> self = weak_from_this();
        p.queue.front().send(*p.conn, [self, broker_id, generation](result<client::response> r) {
            if (auto s = self.lock()) s->answered(broker_id, generation, std::move(r));
        });
    }

    void answered(int32_t broker_id, uint64_t generation, result<client::response> r) {
        auto it = peers.find(broker_id);
        if (it == peers.end() || it->second.generation != generation) return;
        peer& p = it->second;
        p.in_flight = false;
        if (!r) {
            if (!p.failing) {
                logger()->warn("{} to broker {} at {} failed ({}); retrying until it answers or leaves",
                               p.queue.front().api, broker_id, p.address.str(), r.error().message);
            }
            p.failing = true;
            if (p.conn) p.conn->close();
            p.conn.reset();
            p.generation = next_generation++;
            const uint64_t retry_generation = p.generation;
            std::weak_ptr<impl> self = weak_from_this();
            loop.run_after(options.retry_backoff, [self, broker_id, retry_generation] {
                auto s = self.lock();
                if (!s) return;
                auto again = s->peers.find(broker_id);
                if (again != s->peers.end() && again->second.generation == retry_generation) s->pump(broker_id);
            });
            return;
        }
        if (p.failing) logger()->info("broker {} at {} answers again", broker_id, p.address.str());
        p.failing = false;
        request done = std::move(p.queue.front());
        p.queue.pop_front();
        if (!r->error().ok()) {
            logger()->warn("broker {} refused {}: {} ({})", broker_id, done.api, errc_name(r->error().code),
                           r->error().message);
        } else {
            done.check(*r);
        }
        pump(broker_id);
    }
};

controller_channel_manager::controller_channel_manager(channel_options options)
    : impl_(std::make_shared<impl>(std::move(options))) {}

// Tasks capture the impl by plain pointer: they run only on the loop, which stops before the
// impl goes (a shared_ptr in a task would keep the impl, and so its own loop, alive forever).
controller_channel_manager::~controller_channel_manager() {
    // Connections close on the loop thread; then the loop stops, dropping what never ran.
    impl_->loop.call([this] {
        for (auto& [id, p] : impl_->peers) {
            if (p.conn) p.conn->close();
        }
        impl_->peers.clear();
        return 0;
    });
    impl_->loop.stop();
}

void controller_channel_manager::set_live_brokers(const std::vector<coordination::broker_info>& live) {
    impl_->loop.post([i = impl_.get(), live] { i->set_live(live); });
}

void controller_channel_manager::leader_and_isr(int32_t broker_id, const coordination::leader_and_isr_request& r) {
    impl_->post_request<native::leader_and_isr_response>(broker_id, native::api_key::leader_and_isr, to_native(r));
}

void controller_channel_manager::update_metadata(int32_t broker_id, const coordination::metadata_update& u) {
    impl_->post_request<native::update_metadata_response>(broker_id, native::api_key::update_metadata, to_native(u));
}

void controller_channel_manager::stop_replica(int32_t broker_id, const coordination::stop_replica_request& r) {
    impl_->post_request<native::stop_replica_response>(broker_id, native::api_key::stop_replica, to_native(r));
}

result<std::vector<topic_partition>> controller_channel_manager::controlled_shutdown(
    const client::broker_address& address, int32_t self_id) {
    auto answer = std::make_shared<std::promise<result<std::vector<topic_partition>>>>();
    auto done = answer->get_future();
    impl_->loop.post([i = impl_.get(), address, self_id, answer] {
        auto conn = client::connection::create(i->loop, address, i->connection_options());
        // The handler keeps the connection alive until the answer (it always runs once).
        conn->send(native::api_key::controlled_shutdown, native::controlled_shutdown_request{self_id},
                   [conn, answer](result<client::response> r) {
                       result<std::vector<topic_partition>> out = std::vector<topic_partition>{};
                       if (!r) {
                           out = r.error();
                       } else if (auto body = r->decode<native::controlled_shutdown_response>(); !body) {
                           out = body.error();
                       } else {
                           std::vector<topic_partition> remaining;
                           for (const auto& p : body->remaining) remaining.push_back({p.topic, p.partition});
                           out = std::move(remaining);
                       }
                       answer->set_value(std::move(out));
                       conn->close();
                   });
    });
    // The connection's own timeout answers first; the margin covers a loop that has stopped.
    if (done.wait_for(impl_->options.request_timeout + std::chrono::seconds(5)) != std::future_status::ready) {
        return status(errc::request_timed_out, "no answer to ControlledShutdown");
    }
    return done.get();
}

}  // namespace gregor::broker
