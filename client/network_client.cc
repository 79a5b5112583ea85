#include "client/network_client.h"

#include <limits>

#include "common/logger.h"

namespace gregor::client {

using clock = std::chrono::steady_clock;

network_client::network_client(event_loop& loop, const common_config& config,
                               bool allow_auto_topic_creation)
    : loop_(loop), config_(config), allow_auto_topic_creation_(allow_auto_topic_creation) {}

network_client::~network_client() { close(); }

void network_client::close() {
    if (closed_) return;
    closed_ = true;
    if (retry_timer_) retry_timer_->cancel();
    if (max_age_timer_) max_age_timer_->cancel();
    auto connections = std::move(connections_);
    connections_.clear();
    for (auto& [id, c] : connections) c->close();
}

std::optional<broker_address> network_client::address_of(int32_t node_id) const {
    if (node_id < 0) {
        const size_t i = static_cast<size_t>(-(static_cast<int64_t>(node_id) + 1));
        if (i < config_.bootstrap_servers.size()) return config_.bootstrap_servers[i];
        return std::nullopt;
    }
    if (auto b = metadata_.broker(node_id)) return b->address();
    return std::nullopt;
}

std::shared_ptr<connection> network_client::connection_for(int32_t node_id) {
    if (closed_) return nullptr;
    auto it = connections_.find(node_id);
    if (it != connections_.end() && !it->second->closed()) return it->second;
    auto address = address_of(node_id);
    if (!address) return nullptr;
    // A broker's address can change between metadata refreshes; a stale connection is replaced.
    connection_options o;
    o.connect_timeout = config_.connect_timeout;
    o.request_timeout = config_.request_timeout;
    auto c = connection::create(loop_, *address, o);
    connections_[node_id] = c;
    return c;
}

void network_client::fail_unknown_node(int32_t node_id, response_handler handler) {
    status s(errc::network_exception,
             closed_ ? std::string("the client is closed")
                     : "broker " + std::to_string(node_id) + " is not in the cluster metadata");
    loop_.post([handler = std::move(handler), s = std::move(s)]() mutable { handler(std::move(s)); });
}

response_handler network_client::watch(int32_t node_id, response_handler handler) {
    return [this, node_id, handler = std::move(handler)](result<response> r) {
        const errc code = r.code();
        if (code == errc::network_exception || code == errc::request_timed_out) {
            failed_at_[node_id] = clock::now();
            auto it = connections_.find(node_id);
            if (it != connections_.end() && it->second->closed()) connections_.erase(it);
            // The broker may be gone, and its partitions led elsewhere now.
            if (!closed_) request_update();
        } else {
            failed_at_.erase(node_id);
        }
        handler(std::move(r));
    };
}

int32_t network_client::least_loaded_node() {
    const auto now = clock::now();
    auto recently_failed = [&](int32_t id) {
        auto f = failed_at_.find(id);
        return f != failed_at_.end() && now - f->second < config_.reconnect_backoff;
    };
    int32_t best = std::numeric_limits<int32_t>::min();
    size_t best_pending = 0;
    for (const auto& [id, c] : connections_) {
        if (c->closed() || recently_failed(id) || !address_of(id)) continue;
        if (best == std::numeric_limits<int32_t>::min() || c->pending() < best_pending) {
            best = id;
            best_pending = c->pending();
        }
    }
    if (best != std::numeric_limits<int32_t>::min()) return best;
    // No open connection: the next broker in turn, known brokers first, then the bootstrap
    // servers (which may still answer when every known broker is gone).
    std::vector<int32_t> candidates;
    for (const auto& [id, b] : metadata_.brokers()) candidates.push_back(id);
    for (size_t i = 0; i < config_.bootstrap_servers.size(); ++i) {
        candidates.push_back(-static_cast<int32_t>(i) - 1);
    }
    for (size_t k = 0; k < candidates.size(); ++k) {
        const int32_t id = candidates[(next_candidate_ + k) % candidates.size()];
        if (!recently_failed(id)) {
            next_candidate_ = (next_candidate_ + k + 1) % candidates.size();
            return id;
        }
    }
    const int32_t id = candidates[next_candidate_ % candidates.size()];
    next_candidate_ = (next_candidate_ + 1) % candidates.size();
    return id;
}

void network_client::add_topics(const std::vector<std::string>& topics) {
    for (const auto& t : topics) topics_.insert(t);
}

void network_client::set_topics(std::set<std::string> topics) { topics_ = std::move(topics); }

void network_client::want_all_topics(bool all) { all_topics_ = all; }

void network_client::add_listener(std::function<void(const status&)> listener) {
    listeners_.push_back(std::move(listener));
}

void network_client::request_update() {
    if (closed_) return;
    update_wanted_ = true;
    maybe_start_update();
}

void network_client::maybe_start_update() {
    if (closed_ || !update_wanted_ || update_in_flight_ || retry_timer_) return;
    // Refreshes start at least retry.backoff.ms apart, so that a topic that does not exist
    // yet, or a leader that is not elected yet, is not asked about in a tight loop.
    const auto now = clock::now();
    if (last_update_start_ && now < *last_update_start_ + config_.retry_backoff) {
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
            *last_update_start_ + config_.retry_backoff - now);
        retry_timer_ = loop_.run_after(wait, [this] {
            retry_timer_.reset();
            maybe_start_update();
        });
        return;
    }
    start_update();
}

void network_client::start_update() {
    update_wanted_ = false;
    update_in_flight_ = true;
    last_update_start_ = clock::now();
    native::metadata_request req;
    const bool all = all_topics_;
    if (!all) req.topics = std::vector<std::string>(topics_.begin(), topics_.end());
    req.allow_auto_topic_creation = allow_auto_topic_creation_;
    send_any(native::api_key::metadata, req, [this, all](result<response> r) {
        update_in_flight_ = false;
        if (closed_) return;
        status s;
        if (!r) {
            s = r.error();
        } else if (auto m = r->decode<native::metadata_response>(); !m) {
            s = m.error();
        } else {
            apply_metadata(*m, all);
        }
        on_update_done(s);
    });
}

void network_client::apply_metadata(const native::metadata_response& m, bool all_topics) {
    metadata_.update(m, all_topics);
    has_metadata_ = true;
}

void network_client::on_update_done(const status& s) {
    if (!s.ok()) {
        logging::get("client")->debug("metadata refresh failed: {}", s.message);
        update_wanted_ = true;  // retried after the backoff
    } else {
        if (max_age_timer_) max_age_timer_->cancel();
        max_age_timer_ = loop_.run_after(config_.metadata_max_age, [this] { request_update(); });
    }
    maybe_start_update();
    // Listeners may ask for another refresh; iterate over a copy.
    auto listeners = listeners_;
    for (auto& l : listeners) l(s);
}

}  // namespace gregor::client
