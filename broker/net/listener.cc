#include "broker/net/listener.h"

#include <condition_variable>
#include <atomic>
#include <future>
#include <mutex>
#include <unordered_map>

#include "broker/net/connection.h"
#include "common/logger.h"

namespace gregor::broker::net {

struct listener::impl : std::enable_shared_from_this<listener::impl> {
    impl(event_loop& l, std::string h, uint16_t p, connection_limits lim, request_handler& n)
        : loop(l), host(std::move(h)), port(p), limits(lim), native(n),
          acceptor(asio::make_strand(l.internals().io)) {}

    void accept() {
        acceptor.async_accept(asio::make_strand(loop.internals().io),
            [self = shared_from_this()](const asio::error_code& ec, asio::ip::tcp::socket s) {
                if (ec) {
                    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
                    logging::get("network")->warn("accept failed: {}", ec.message());
                    return self->accept();
                }
                auto c = std::make_shared<connection>(std::move(s), self->limits, self->native,
                    [weak = std::weak_ptr<impl>(self)](connection* gone) {
                        if (auto me = weak.lock()) me->forget(gone);
                    });
                {
                    std::lock_guard lock(self->mu);
                    self->connections[c.get()] = c;
                }
                c->start();
                self->accept();
            });
    }

    void forget(connection* c) {
        std::lock_guard lock(mu);
        connections.erase(c);
        cv.notify_all();
    }

    event_loop& loop;
    std::string host;
    uint16_t port;
    connection_limits limits;
    request_handler& native;
    asio::ip::tcp::acceptor acceptor;
    mutable std::mutex mu;
    std::condition_variable cv;
    std::unordered_map<connection*, std::weak_ptr<connection>> connections;  // guarded by mu
    std::atomic<bool> started{false};
};

listener::listener(event_loop& loop, std::string host, uint16_t port, connection_limits limits,
                   request_handler& native)
    : impl_(std::make_shared<impl>(loop, std::move(host), port, limits, native)) {}

listener::~listener() { stop(0); }

result<uint16_t> listener::start() {
    asio::error_code ec;
    const std::string bind_host = impl_->host.empty() ? "0.0.0.0" : impl_->host;
    auto addr = asio::ip::make_address(bind_host, ec);
    if (ec) {
        asio::ip::tcp::resolver resolver(impl_->loop.internals().io);
        auto found = resolver.resolve(bind_host, std::to_string(impl_->port), ec);
        if (ec || found.empty()) {
            return status(errc::invalid_config, "cannot resolve listener host '" + bind_host + "': " + ec.message());
        }
        addr = found.begin()->endpoint().address();
    }
    asio::ip::tcp::endpoint ep(addr, impl_->port);
    auto& a = impl_->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return status(errc::invalid_config, "cannot listen on " + bind_host + ":" +
                                                std::to_string(impl_->port) + ": " + ec.message());
    }
    const uint16_t bound = a.local_endpoint().port();
    impl_->started = true;
    impl_->accept();
    return bound;
}

void listener::stop(int64_t grace_ms) {
    if (!impl_->started.exchange(false)) return;
    // The acceptor belongs to its strand: close it there, and wait (boundedly: the loop may
    // already be stopped) for that to happen.
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    asio::post(impl_->acceptor.get_executor(), [impl = impl_, closed] {
        asio::error_code ec;
        impl->acceptor.close(ec);
        closed->set_value();
    });
    done.wait_for(std::chrono::seconds(2));
    std::vector<std::shared_ptr<connection>> live;
    {
        std::lock_guard lock(impl_->mu);
        for (auto& [_, w] : impl_->connections) {
            if (auto c = w.lock()) live.push_back(c);
        }
    }
    for (auto& c : live) c->drain();
    live.clear();
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(grace_ms, 0)),
                       [&] { return impl_->connections.empty(); });
}

size_t listener::open_connections() const {
    std::lock_guard lock(impl_->mu);
    return impl_->connections.size();
}

}  // namespace gregor::broker::net
