// One TCP connection from a client to one broker over the native protocol (docs/protocol.md):
// it connects on first use, sends the preface, then writes request frames and matches response
// frames to them by correlation id. Requests may be pipelined; the broker answers them in
// order. Every request has a deadline (connect, write and read all count against it): when one
// passes, that request fails with request_timed_out and the connection is closed, failing the
// others with network_exception, because responses behind a missing one can no longer be
// matched. A broker that refuses the connection, closes it, or sends a frame that does not parse
// also becomes network_exception on every pending request. Errors are values: the handlers
// always run, exactly once, on the loop thread (after close() too), unless the event_loop is
// stopped first.
// A closed connection stays closed; the owner makes a new one. Destroying the connection closes
// it as close() does. All member functions must be called on the event_loop's thread; the
// event_loop must outlive the connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/config.h"
#include "client/event_loop.h"
#include "common/errc.h"
#include "protocol/native/messages.h"

namespace gregor::client {

struct connection_options {
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds request_timeout{30000};
    // A response frame longer than this closes the connection (network_exception).
    int32_t max_response_bytes = native::kDefaultMaxRequestBytes;
};

// A response frame as received: the request-level status and the body after it.
class response {
public:
    // `body_offset`: where the body starts in `payload` (the frame after its length).
    response(std::vector<std::byte> payload, int32_t correlation_id, status error,
             size_t body_offset);

    int32_t correlation_id() const noexcept { return correlation_id_; }
    const status& error() const noexcept { return error_; }
    // Valid while this response is alive; decoded messages may point into it (records).
    std::span<std::byte> body() noexcept {
        return std::span(payload_).subspan(body_offset_);
    }
    // The body decoded as `M`, or the request-level error when there is one.
    template <typename M>
    result<M> decode() {
        if (!error_.ok()) return error_;
        return native::decode<M>(body());
    }

private:
    std::vector<std::byte> payload_;
    size_t body_offset_ = 0;
    int32_t correlation_id_ = 0;
    status error_;
};

using response_handler = std::function<void(result<response>)>;

class connection {
public:
    static std::shared_ptr<connection> create(event_loop& loop, broker_address address,
                                              connection_options options);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Sends a request and calls `handler` with its response or error. `timeout` replaces the
    // request timeout for this request (a long-polling fetch needs its max_wait on top).
    template <typename Request>
    void send(native::api_key key, const Request& request, response_handler handler,
              std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        const int32_t id = next_correlation_id();
        enqueue(id, native::encode_request(key, 0, id, request), std::move(handler), true,
                timeout);
    }

    // Sends a request that gets no response (Produce with acks=0); `handler` is called once the
    // frame is written (with an empty body) or with the error that kept it from being written.
    template <typename Request>
    void send_no_response(native::api_key key, const Request& request, response_handler handler) {
        const int32_t id = next_correlation_id();
        enqueue(id, native::encode_request(key, 0, id, request), std::move(handler), false,
                std::nullopt);
    }

    // Fails every pending request with network_exception ("connection closed") and closes.
    void close();

    bool closed() const noexcept;
    // Requests written or queued whose responses have not arrived.
    size_t pending() const noexcept;
    const broker_address& address() const noexcept;

private:
    struct impl;
    explicit connection(std::shared_ptr<impl> state);

    int32_t next_correlation_id() noexcept;
    void enqueue(int32_t correlation_id, std::vector<std::byte> frame, response_handler handler,
                 bool expect_response, std::optional<std::chrono::milliseconds> timeout);

    std::shared_ptr<impl> impl_;  // shared with the asio handlers in flight
};

}  // namespace gregor::client
