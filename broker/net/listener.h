// The broker's TCP listener: accepts connections on one port and serves both protocols there,
// told apart by the first bytes (docs/protocol.md, "Telling the protocols apart"). Every read
// and write has a deadline: connections.max.idle.ms while waiting for a request to start,
// request.timeout.ms for the rest of a frame and for writes. A frame's length is checked
// against socket.request.max.bytes before anything is allocated for it.
// start/stop/port/open_connections: any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broker/event_loop.h"
#include "broker/net/request_handler.h"
#include "common/errc.h"

namespace gregor::broker::net {

struct connection_limits {
    int32_t max_request_bytes = 104857600;  // socket.request.max.bytes
    int64_t idle_timeout_ms = 600000;       // connections.max.idle.ms; -1: never
    int32_t request_timeout_ms = 30000;     // request.timeout.ms
};

class listener {
public:
    // `native` must outlive the listener.
    listener(event_loop& loop, std::string host, uint16_t port, connection_limits limits,
             request_handler& native);
    ~listener();

    // Binds and starts accepting; returns the bound port (useful with port 0).
    result<uint16_t> start();
    // Stops accepting; connections finish the request they are serving, then close. Waits up
    // to `grace_ms` for them.
    void stop(int64_t grace_ms);
    size_t open_connections() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace gregor::broker::net
