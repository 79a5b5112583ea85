// One client connection (internal to broker/net: it includes asio). It detects the protocol
// from the first bytes, then loops: read a frame (length checked against the limit before
// allocating), hand it to the protocol's request_handler, write the response, read the next.
// Everything runs on the connection's own strand; the deadline timer closes the socket when a
// read or write overstays its timeout.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "broker/event_loop_asio.h"
#include "broker/net/listener.h"

namespace gregor::broker::net {

class connection : public std::enable_shared_from_this<connection> {
public:
    connection(asio::ip::tcp::socket socket, connection_limits limits, request_handler& native,
               std::function<void(connection*)> on_closed);
    ~connection();

    // Starts serving on the connection's strand.
    void start();
    // Finish the request being served (if any), then close. Any thread.
    void drain();
    void close();

private:
    static constexpr size_t kFirstPayloadChunk = 64 * 1024;

    void read_preface();
    void read_frame_length();
    void read_frame_payload(uint32_t length);
    // Reads into payload_[have, size()), then grows payload_ toward `length` and reads on.
    void read_payload_chunk(uint32_t length, size_t have);
    void dispatch(std::vector<std::byte> payload);
    void write_response(response r);
    void arm_deadline(int64_t ms);
    void disarm_deadline();

    asio::ip::tcp::socket socket_;
    asio::strand<asio::any_io_executor> strand_;
    asio::steady_timer deadline_;
    connection_limits limits_;
    request_handler& native_;
    std::function<void(connection*)> on_closed_;
    std::array<std::byte, 8> head_{};
    std::vector<std::byte> payload_;
    std::atomic<bool> draining_{false};
    bool busy_ = false;  // a request is being served (strand only)
    bool closed_ = false;
    std::string peer_;
};

}  // namespace gregor::broker::net
