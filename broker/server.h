// One running broker: the log manager, the event loop, the partitions it hosts, its session
// with ZooKeeper (registration, controller election, and the controller when elected), and the
// listener. start() brings them up in that order; shutdown() takes them down in reverse (stop
// accepting, let in-flight requests finish, leave ZooKeeper, flush the logs and write the
// clean-shutdown markers). start/shutdown from the main thread.
#pragma once

#include <memory>

#include "broker/broker_config.h"
#include "common/errc.h"
#include "common/properties.h"

namespace gregor::broker {

class server {
public:
    // Start-up failures (bad log.dirs, the port in use) are errors; ZooKeeper being down is not:
    // the broker keeps retrying and says so in its log.
    static result<std::unique_ptr<server>> start(const broker_config& config, const properties& props);
    ~server();

    // The port the listener is bound to (useful with port 0).
    uint16_t port() const;
    status shutdown();

    struct impl;

private:
    explicit server(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

}  // namespace gregor::broker
