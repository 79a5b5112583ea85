// A blocking TCP connection to a broker for tests that need to control every byte: the native
// protocol's preface and frames (docs/protocol.md) built with protocol/native/messages.h, or
// anything else (random bytes, truncated frames, a frame dripped a byte at a time). Every call
// is bounded by a deadline; nothing here waits without one. Responses are read whole and kept
// as owned bytes, so decoded messages (whose `records` point into the frame) stay valid while
// the `reply` lives.
// Not thread-safe: one thread per connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/errc.h"
#include "protocol/native/messages.h"

namespace gregor::test_support {

using namespace std::chrono_literals;

// One response frame as read off the socket.
struct reply {
    std::vector<std::byte> payload;  // the frame after its length
    int32_t correlation_id = 0;
    status error;                    // the request-level status
    std::span<std::byte> body;       // points into payload

    // Decodes the body as `M`; throws std::runtime_error when the request-level status is an
    // error or the body does not parse.
    template <typename M>
    M as() {
        if (!error.ok()) {
            throw std::runtime_error(std::string("request-level error ") + errc_name(error.code) + ": " +
                                     error.message);
        }
        auto m = native::decode<M>(body);
        if (!m) throw std::runtime_error("response does not parse: " + m.error().message);
        return std::move(*m);
    }
};

class raw_connection {
public:
    // Connects to 127.0.0.1:`port` and, when `preface`, sends the native protocol's preface.
    // Throws std::runtime_error when the connection is not made within `timeout`.
    explicit raw_connection(uint16_t port, bool preface = true,
                            std::chrono::milliseconds timeout = 5s);
    // The same to `host`, an IPv4 address (a broker listening elsewhere than on loopback, e.g.
    // in a network namespace). Throws std::invalid_argument when `host` is not one.
    raw_connection(const std::string& host, uint16_t port, bool preface = true,
                   std::chrono::milliseconds timeout = 5s);
    ~raw_connection();
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    // Writes all of `bytes`; false when the peer has closed (or reset) the connection or the
    // write did not complete within `timeout`.
    bool send(std::span<const std::byte> bytes, std::chrono::milliseconds timeout = 5s);
    bool send(const std::vector<std::byte>& bytes, std::chrono::milliseconds timeout = 5s) {
        return send(std::span<const std::byte>(bytes), timeout);
    }

    // Sends a request frame and returns its correlation id (throws if it cannot be written).
    template <typename Request>
    int32_t send_request(native::api_key key, const Request& request, int16_t version = 0) {
        const int32_t id = next_id_++;
        if (!send(native::encode_request(key, version, id, request))) {
            throw std::runtime_error(std::string("cannot send ") + native::api_name(static_cast<int16_t>(key)) +
                                     ": connection closed");
        }
        return id;
    }

    // Reads one response frame; nullopt when the connection closes or `timeout` passes first
    // (after a timeout in the middle of a frame the connection is out of step: use a new one).
    std::optional<reply> read_reply(std::chrono::milliseconds timeout = 10s);

    // Sends a request and reads its response; throws std::runtime_error when none comes within
    // `timeout` or its correlation id does not match.
    template <typename Request>
    reply call(native::api_key key, const Request& request, std::chrono::milliseconds timeout = 10s) {
        const int32_t id = send_request(key, request);
        auto r = read_reply(timeout);
        if (!r) {
            throw std::runtime_error(std::string("no response to ") + native::api_name(static_cast<int16_t>(key)) +
                                     " (connection closed or timed out)");
        }
        if (r->correlation_id != id) {
            throw std::runtime_error("response correlation id " + std::to_string(r->correlation_id) +
                                     ", expected " + std::to_string(id));
        }
        return std::move(*r);
    }

    // Waits up to `timeout` for the peer to close the connection, discarding whatever it sends
    // meanwhile; true if it closed.
    bool wait_closed(std::chrono::milliseconds timeout);
    // True when the peer has closed the connection (does not wait).
    bool peer_closed() { return wait_closed(0ms); }
    // Everything the peer sends until it closes the connection or `timeout` passes.
    std::string read_until_closed(std::chrono::milliseconds timeout);

    int fd() const noexcept { return fd_; }

private:
    bool wait(short events, std::chrono::steady_clock::time_point deadline);
    // Reads exactly `n` bytes into `out`; false on close or deadline.
    bool read_exact(std::byte* out, size_t n, std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    int32_t next_id_ = 1;
};

}  // namespace gregor::test_support
