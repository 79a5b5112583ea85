#include "client/connection.h"

#include <algorithm>
#include <array>
#include <deque>

#include "client/event_loop_asio.h"
#include "common/wire.h"

namespace gregor::client {
namespace {

using clock = std::chrono::steady_clock;

// The smallest response frame payload: correlation id, error code, empty error message.
constexpr int32_t kMinResponseFrame = 4 + 2 + 2;
// How much one gathered write may carry before the next one starts.
constexpr size_t kMaxWriteBytes = 4 << 20;

struct pending_request {
    int32_t correlation_id = 0;
    int16_t api_key = 0;
    std::vector<std::byte> frame;
    response_handler handler;
    bool expect_response = true;
    clock::time_point deadline;
    std::chrono::milliseconds timeout{0};
};

}  // namespace

response::response(std::vector<std::byte> payload, int32_t correlation_id, status error,
                   size_t body_offset)
    : payload_(std::move(payload)),
      body_offset_(body_offset),
      correlation_id_(correlation_id),
      error_(std::move(error)) {}

// The connection's state and its moving parts. Every asio handler holds a shared_ptr to it, so
// it lives until the last operation on it has completed. Loop thread only.
struct connection::impl : std::enable_shared_from_this<connection::impl> {
    impl(event_loop& loop, broker_address a, connection_options o)
        : io(loop.internals().io), address(std::move(a)), options(o), socket(io), resolver(io),
          timer(io) {}

    enum class phase { idle, connecting, ready, closed };

    asio::io_context& io;
    broker_address address;
    connection_options options;
    asio::ip::tcp::socket socket;
    asio::ip::tcp::resolver resolver;
    asio::steady_timer timer;  // armed for the earliest deadline
    std::optional<clock::time_point> armed_for;

    phase state = phase::idle;
    clock::time_point connect_deadline;
    int32_t next_id = 0;

    std::deque<pending_request> unsent;           // queued, not yet handed to a write
    std::deque<pending_request> awaiting;         // written or being written, response due
    std::vector<pending_request> writing_silent;  // acks=0 requests in the current write
    std::vector<std::vector<std::byte>> write_frames;  // kept alive for the current write
    bool writing = false;
    bool preface_sent = false;

    std::array<std::byte, 4> length_buf{};
    std::vector<std::byte> read_buf;

    std::string who() const { return "broker " + address.str(); }

    void enqueue(pending_request r) {
        if (state == phase::closed) {
            fail({std::move(r)}, status(errc::network_exception,
                                        "the connection to " + who() + " is closed"));
            return;
        }
        r.deadline = clock::now() + r.timeout;
        unsent.push_back(std::move(r));
        if (state == phase::idle) start_connect();
        else if (state == phase::ready) start_write();
        rearm();
    }

    void start_connect() {
        state = phase::connecting;
        connect_deadline = clock::now() + options.connect_timeout;
        resolver.async_resolve(
            address.host, std::to_string(address.port),
            [self = shared_from_this()](std::error_code ec,
                                        asio::ip::tcp::resolver::results_type results) {
                if (self->state == phase::closed) return;
                if (ec) {
                    self->fail_all(status(errc::network_exception,
                                          "cannot resolve " + self->who() + ": " + ec.message()));
                    return;
                }
                asio::async_connect(
                    self->socket, results,
                    [self](std::error_code ec, const asio::ip::tcp::endpoint&) {
                        if (self->state == phase::closed) return;
                        if (ec) {
                            self->fail_all(status(errc::network_exception,
                                                  "connection to " + self->who() +
                                                      " failed: " + ec.message()));
                            return;
                        }
                        std::error_code ignored;
                        self->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
                        self->state = phase::ready;
                        self->start_read();
                        self->start_write();
                        self->rearm();
                    });
            });
    }

    void start_write() {
        if (writing || unsent.empty() || state != phase::ready) return;
        std::vector<asio::const_buffer> buffers;
        if (!preface_sent) {
            buffers.push_back(asio::buffer(native::kPreface));
            preface_sent = true;
        }
        size_t bytes = 0;
        while (!unsent.empty() && (bytes == 0 || bytes + unsent.front().frame.size() <= kMaxWriteBytes)) {
            pending_request r = std::move(unsent.front());
            unsent.pop_front();
            bytes += r.frame.size();
            write_frames.push_back(std::move(r.frame));
            buffers.push_back(asio::buffer(write_frames.back()));
            // A response can only come after its request is written, but its read handler may
            // run before the write's: the request must be awaited from now on.
            if (r.expect_response) awaiting.push_back(std::move(r));
            else writing_silent.push_back(std::move(r));
        }
        writing = true;
        asio::async_write(socket, buffers, [self = shared_from_this()](std::error_code ec, size_t) {
            self->writing = false;
            self->write_frames.clear();
            if (self->state == phase::closed) return;
            if (ec) {
                self->fail_all(status(errc::network_exception,
                                      "writing to " + self->who() + " failed: " + ec.message()));
                return;
            }
            auto written = std::move(self->writing_silent);
            self->writing_silent.clear();
            for (auto& r : written) {
                r.handler(response({}, r.correlation_id, status{}, 0));
            }
            self->start_write();
            self->rearm();
        });
    }

    void start_read() {
        asio::async_read(socket, asio::buffer(length_buf),
                         [self = shared_from_this()](std::error_code ec, size_t) {
                             if (self->state == phase::closed) return;
                             if (ec) return self->fail_read(ec);
                             const auto len = wire::load_be<int32_t>(self->length_buf.data());
                             if (len < kMinResponseFrame || len > self->options.max_response_bytes) {
                                 self->fail_all(status(
                                     errc::network_exception,
                                     self->who() + " sent a response frame of length " +
                                         std::to_string(len)));
                                 return;
                             }
                             self->read_payload(static_cast<size_t>(len));
                         });
    }

    void read_payload(size_t len) {
        read_buf.resize(len);
        asio::async_read(socket, asio::buffer(read_buf),
                         [self = shared_from_this()](std::error_code ec, size_t) {
                             if (self->state == phase::closed) return;
                             if (ec) return self->fail_read(ec);
                             self->on_frame();
                         });
    }

    void fail_read(std::error_code ec) {
        if (ec == asio::error::eof) {
            fail_all(status(errc::network_exception, "the connection was closed by " + who()));
        } else {
            fail_all(status(errc::network_exception,
                            "reading from " + who() + " failed: " + ec.message()));
        }
    }

    void on_frame() {
        std::vector<std::byte> payload = std::move(read_buf);
        read_buf = {};
        auto frame = native::decode_response_frame(payload);
        if (!frame) {
            fail_all(status(errc::network_exception,
                            who() + " sent a response that does not parse"));
            return;
        }
        if (awaiting.empty() || awaiting.front().correlation_id != frame->correlation_id) {
            fail_all(status(errc::network_exception,
                            who() + " answered correlation id " +
                                std::to_string(frame->correlation_id) + ", expected " +
                                (awaiting.empty() ? std::string("none")
                                                  : std::to_string(awaiting.front().correlation_id))));
            return;
        }
        pending_request r = std::move(awaiting.front());
        awaiting.pop_front();
        const size_t body_offset = payload.size() - frame->body.size();
        status error = std::move(frame->error);
        r.handler(response(std::move(payload), r.correlation_id, std::move(error), body_offset));
        if (state == phase::closed) return;  // the handler closed us
        rearm();
        start_read();
    }

    // Earliest deadline among everything pending (and the connect, while connecting).
    std::optional<clock::time_point> earliest_deadline() const {
        std::optional<clock::time_point> t;
        auto consider = [&](clock::time_point d) {
            if (!t || d < *t) t = d;
        };
        if (state == phase::connecting) consider(connect_deadline);
        for (const auto& r : unsent) consider(r.deadline);
        for (const auto& r : awaiting) consider(r.deadline);
        for (const auto& r : writing_silent) consider(r.deadline);
        return t;
    }

    void rearm() {
        if (state == phase::closed) return;
        const auto t = earliest_deadline();
        if (t == armed_for) return;
        armed_for = t;
        if (!t) {
            timer.cancel();
            return;
        }
        timer.expires_at(*t);  // cancels the previous wait
        timer.async_wait([self = shared_from_this()](std::error_code ec) {
            if (ec == asio::error::operation_aborted || self->state == phase::closed) return;
            self->armed_for.reset();
            self->on_deadline();
        });
    }

    void on_deadline() {
        const auto now = clock::now();
        if (state == phase::connecting && now >= connect_deadline) {
            fail_all(status(errc::network_exception,
                            "connection to " + who() + " timed out after " +
                                std::to_string(options.connect_timeout.count()) + " ms"));
            return;
        }
        const pending_request* expired = nullptr;
        for (auto* q : {&awaiting, &unsent}) {
            for (const auto& r : *q) {
                if (r.deadline <= now && (!expired || r.deadline < expired->deadline)) expired = &r;
            }
        }
        for (const auto& r : writing_silent) {
            if (r.deadline <= now && (!expired || r.deadline < expired->deadline)) expired = &r;
        }
        if (!expired) {
            rearm();
            return;
        }
        // Responses behind the missing one can no longer be matched: close the connection.
        const int32_t id = expired->correlation_id;
        status timed_out(errc::request_timed_out,
                         std::string(native::api_name(expired->api_key)) + " request " +
                             "(correlation id " + std::to_string(id) + ") to " + who() +
                             " timed out after " + std::to_string(expired->timeout.count()) + " ms");
        fail_all(status(errc::network_exception,
                        "the connection to " + who() + " was closed after a request timed out"),
                 id, std::move(timed_out));
    }

    // Closes the socket and fails every pending request with `error` (the one with
    // `special_id`, if any, with `special`). Handlers run from a posted task, never inside the
    // caller.
    void fail_all(status error, std::optional<int32_t> special_id = std::nullopt,
                  status special = {}) {
        state = phase::closed;
        std::error_code ignored;
        socket.close(ignored);
        resolver.cancel();
        timer.cancel();
        armed_for.reset();
        std::vector<pending_request> all;
        for (auto* q : {&awaiting, &unsent}) {
            for (auto& r : *q) all.push_back(std::move(r));
            q->clear();
        }
        for (auto& r : writing_silent) all.push_back(std::move(r));
        writing_silent.clear();
        std::vector<std::pair<pending_request, status>> calls;
        for (auto& r : all) {
            status s = special_id && r.correlation_id == *special_id ? special : error;
            calls.emplace_back(std::move(r), std::move(s));
        }
        post_calls(std::move(calls));
    }

    void fail(std::vector<pending_request> rs, status error) {
        std::vector<std::pair<pending_request, status>> calls;
        for (auto& r : rs) calls.emplace_back(std::move(r), error);
        post_calls(std::move(calls));
    }

    void post_calls(std::vector<std::pair<pending_request, status>> calls) {
        if (calls.empty()) return;
        asio::post(io, [calls = std::move(calls)]() mutable {
            for (auto& [r, s] : calls) r.handler(std::move(s));
        });
    }
};

std::shared_ptr<connection> connection::create(event_loop& loop, broker_address address,
                                               connection_options options) {
    return std::shared_ptr<connection>(
        new connection(std::make_shared<impl>(loop, std::move(address), options)));
}

connection::connection(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

connection::~connection() { close(); }

int32_t connection::next_correlation_id() noexcept {
    const int32_t id = impl_->next_id;
    impl_->next_id = id == INT32_MAX ? 0 : id + 1;
    return id;
}

void connection::enqueue(int32_t correlation_id, std::vector<std::byte> frame,
                         response_handler handler, bool expect_response,
                         std::optional<std::chrono::milliseconds> timeout) {
    pending_request r;
    r.correlation_id = correlation_id;
    r.api_key = frame.size() >= 6 ? wire::load_be<int16_t>(frame.data() + 4) : int16_t{-1};
    r.frame = std::move(frame);
    r.handler = std::move(handler);
    r.expect_response = expect_response;
    r.timeout = timeout.value_or(impl_->options.request_timeout);
    impl_->enqueue(std::move(r));
}

void connection::close() {
    if (impl_->state == impl::phase::closed) return;
    impl_->fail_all(status(errc::network_exception,
                           "the connection to " + impl_->who() + " was closed by the client"));
}

bool connection::closed() const noexcept { return impl_->state == impl::phase::closed; }

size_t connection::pending() const noexcept {
    return impl_->unsent.size() + impl_->awaiting.size() + impl_->writing_silent.size();
}

const broker_address& connection::address() const noexcept { return impl_->address; }

}  // namespace gregor::client
