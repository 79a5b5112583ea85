// What the network layer hands a complete request frame to: one adapter per protocol (native
// now, Kafka later). The connection reads the next frame only after `respond` is called, so
// responses leave in request order and a slow request holds back only its own connection.
// handle() is called on the connection's strand; `respond` may be called from any thread,
// exactly once.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace gregor::broker::net {

struct response {
    std::vector<std::byte> frame;  // a whole response frame; empty: nothing to send (acks=0)
    bool close_after = false;      // close the connection once the frame is sent
};

class request_handler {
public:
    virtual ~request_handler() = default;
    // `payload` is the request frame after its 4-byte length.
    virtual void handle(std::vector<std::byte> payload, std::function<void(response)> respond) = 0;
};

}  // namespace gregor::broker::net
