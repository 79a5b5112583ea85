// One running broker: the log manager, the event loop, the partitions it hosts, its session
// with ZooKeeper (registration, controller election, and the controller when elected), and one
// network listener per configured listener. start() brings them up in that order; shutdown() takes them down in reverse (stop
// accepting, let in-flight requests finish, leave ZooKeeper, flush the logs and write the
// clean-shutdown markers). start/shutdown from the main thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "broker/broker_config.h"
#include "common/errc.h"
#include "common/properties.h"

namespace gregor::broker {

class server {
public:
    // Start-up failures (bad log.dirs, the port in use) are errors; ZooKeeper being down is not:
    // the broker keeps retrying and says so in its log.
    // `on_fatal` is called (from any thread) when the broker cannot go on, e.g. its broker.id is
    // registered by another live broker; the caller should then shut it down and exit non-zero.
    static result<std::unique_ptr<server>> start(const broker_config& config, const properties& props,
                                                 std::function<void(const std::string&)> on_fatal = {});
    ~server();

    // The port the first of `listeners` is bound to (useful with port 0).
    uint16_t port() const;
    status shutdown();

    struct impl;

private:
    explicit server(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

}  // namespace gregor::broker
