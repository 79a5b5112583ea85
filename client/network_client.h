// The cluster as one client sees it: a connection per broker (made on first use), the
// bootstrap servers until the first Metadata response names the brokers, and the metadata
// cache with its refreshes. Requests go to a broker by node id (the partition leader, the
// controller) or to "any" broker (the least loaded one with an open connection, else the next
// broker in turn). A request that fails with network_exception marks its broker as failed for
// reconnect.backoff.ms and asks for new metadata, since leaders may have moved.
// Metadata: request_update() asks for a refresh of the topics of interest; refreshes are
// coalesced, retried after retry.backoff.ms until one succeeds, and repeated every
// metadata.max.age.ms. Listeners hear of every completed refresh.
// Bootstrap servers use node ids -1, -2, ... (in the order given), as Kafka's client does.
// Loop thread only; the event_loop must outlive it.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/cluster_metadata.h"
#include "client/config.h"
#include "client/connection.h"
#include "client/errors.h"
#include "client/event_loop.h"

namespace gregor::client {

class network_client {
public:
    network_client(event_loop& loop, const common_config& config, bool allow_auto_topic_creation);
    ~network_client();
    network_client(const network_client&) = delete;
    network_client& operator=(const network_client&) = delete;

    // Sends to `node_id` (a broker id from the metadata, or a bootstrap id < 0). An unknown
    // node fails the request with network_exception.
    template <typename Request>
    void send(int32_t node_id, native::api_key key, const Request& request,
              response_handler handler,
              std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        auto c = connection_for(node_id);
        if (!c) return fail_unknown_node(node_id, std::move(handler));
        c->send(key, request, watch(node_id, std::move(handler)), timeout);
    }

    template <typename Request>
    void send_no_response(int32_t node_id, native::api_key key, const Request& request,
                          response_handler handler) {
        auto c = connection_for(node_id);
        if (!c) return fail_unknown_node(node_id, std::move(handler));
        c->send_no_response(key, request, watch(node_id, std::move(handler)));
    }

    // Sends to the least loaded reachable broker; returns the node chosen.
    template <typename Request>
    int32_t send_any(native::api_key key, const Request& request, response_handler handler,
                     std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        const int32_t node = least_loaded_node();
        send(node, key, request, std::move(handler), timeout);
        return node;
    }

    // Chooses the broker for one attempt of call(): nullopt means any broker.
    using node_picker = std::function<std::optional<int32_t>()>;

    // Sends `request` and decodes the response as `Response`, retrying after retry.backoff.ms
    // (with the node picked anew, and a metadata refresh where the error calls for one) while
    // the error is retriable (client/errors.h) and `deadline` leaves time. `done` runs once.
    template <typename Response, typename Request>
    void call(node_picker pick, native::api_key key, Request request,
              std::chrono::steady_clock::time_point deadline,
              std::function<void(result<Response>)> done) {
        using namespace std::chrono;
        const auto now = steady_clock::now();
        if (closed_) return done(status(errc::network_exception, "the client is closed"));
        const auto left = ceil<milliseconds>(deadline - now);
        if (left <= milliseconds(0)) {
            return done(status(errc::request_timed_out,
                               std::string("timed out waiting for a ") +
                                   native::api_name(static_cast<int16_t>(key)) + " response"));
        }
        const auto timeout = std::min(left, config_.request_timeout);
        auto node = pick ? pick() : std::nullopt;
        auto handler = [this, pick, key, request, deadline,
                        done = std::move(done)](result<response> r) mutable {
            result<Response> out = r ? r->template decode<Response>() : result<Response>(r.error());
            const errc code = out.code();
            if (!out && is_retriable(code) && !closed_ &&
                steady_clock::now() + config_.retry_backoff < deadline) {
                if (invalidates_metadata(code)) request_update();
                loop_.run_after(config_.retry_backoff,
                                [this, pick = std::move(pick), key, request = std::move(request),
                                 deadline, done = std::move(done)]() mutable {
                                    call<Response>(std::move(pick), key, std::move(request),
                                                   deadline, std::move(done));
                                });
                return;
            }
            done(std::move(out));
        };
        if (node) send(*node, key, request, std::move(handler), timeout);
        else send_any(key, request, std::move(handler), timeout);
    }

    // ---- metadata
    const cluster_metadata& metadata() const noexcept { return metadata_; }
    // True once any Metadata request succeeded.
    bool has_metadata() const noexcept { return has_metadata_; }
    // The topics whose metadata refreshes ask for; `all` asks for every topic.
    void add_topics(const std::vector<std::string>& topics);
    void set_topics(std::set<std::string> topics);
    void want_all_topics(bool all);
    // Asks for a refresh (coalesced with one in flight; retried until one succeeds).
    void request_update();
    bool update_in_flight() const noexcept { return update_in_flight_; }
    // Called after every refresh attempt with its outcome.
    void add_listener(std::function<void(const status&)> listener);
    // Folds in a Metadata response fetched by someone else (the admin client).
    void apply_metadata(const native::metadata_response& m, bool all_topics);

    // Closes every connection (their pending requests fail) and stops refreshing.
    void close();

    event_loop& loop() noexcept { return loop_; }
    const common_config& config() const noexcept { return config_; }

private:
    std::shared_ptr<connection> connection_for(int32_t node_id);
    std::optional<broker_address> address_of(int32_t node_id) const;
    int32_t least_loaded_node();
    response_handler watch(int32_t node_id, response_handler handler);
    void fail_unknown_node(int32_t node_id, response_handler handler);
    void maybe_start_update();
    void start_update();
    void on_update_done(const status& s);

    event_loop& loop_;
    common_config config_;
    bool allow_auto_topic_creation_;
    std::map<int32_t, std::shared_ptr<connection>> connections_;
    std::map<int32_t, std::chrono::steady_clock::time_point> failed_at_;
    size_t next_candidate_ = 0;

    cluster_metadata metadata_;
    bool has_metadata_ = false;
    std::set<std::string> topics_;
    bool all_topics_ = false;
    bool update_wanted_ = false;
    bool update_in_flight_ = false;
    std::optional<std::chrono::steady_clock::time_point> last_update_start_;
    std::shared_ptr<event_loop::timer> retry_timer_;
    std::shared_ptr<event_loop::timer> max_age_timer_;
    std::vector<std::function<void(const status&)>> listeners_;
    bool closed_ = false;
};

}  // namespace gregor::client
