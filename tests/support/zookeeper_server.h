// A real Apache ZooKeeper server for tests: a child process (the Debian `zookeeper` package's
// QuorumPeerMain under `java`) in standalone mode on 127.0.0.1 (or a given address) and a free
// port, with its own zoo.cfg and data directory in a fresh temp directory. The constructor returns once the
// server answers `srvr` as serving; the destructor stops it (SIGTERM, then SIGKILL after a
// bound) and removes the directory. stop()/restart() keep the port and the data, for tests of
// ZooKeeper going away and coming back; pause()/resume() freeze it (SIGSTOP/SIGCONT) for tests
// of a hung server. The server dies with the test process (PR_SET_PDEATHSIG).
//
// tickTime is 500 ms, so sessions may be as short as 1 s (ZooKeeper's minimum is 2 ticks).
// Not thread-safe: drive it from the test's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include "coordination/zk_client.h"

namespace gregor::test_support {

class zookeeper_server {
public:
    // Starts the server; throws std::runtime_error (with the server's log tail) if it does not
    // serve within 30 s.
    zookeeper_server();
    // The same, listening on `client_address` (an IPv4 address of this machine) instead of
    // loopback: for brokers in another network namespace.
    explicit zookeeper_server(std::string client_address);
    ~zookeeper_server();

    zookeeper_server(const zookeeper_server&) = delete;
    zookeeper_server& operator=(const zookeeper_server&) = delete;

    // "<address>:<port>", for zookeeper.connect.
    std::string connect_string() const;
    uint16_t port() const noexcept { return port_; }
    bool running() const noexcept { return pid_ > 0; }

    void stop();     // SIGTERM; SIGKILL if still alive after 5 s
    void restart();  // stop() if running, then start on the same port and data dir
    void pause();    // SIGSTOP: connections stay open but nothing is answered
    void resume();   // SIGCONT

    // Sends a four-letter word ("srvr", "cons", "dump", ...) and returns the reply ("" if none).
    std::string four_letter_word(const std::string& word) const;

private:
    void start();

    std::string address_;
    std::filesystem::path dir_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// Expires `client`'s session from outside, the way ZooKeeper's own tests do: a second handle
// attaches to the session with its id and password, then closes it. The client may win the
// session back before the close lands (it reconnects within milliseconds), so this repeats
// until the client is on a new session. True once it is; false if that does not happen in
// `timeout`.
bool expire_session(const std::string& connect, const coordination::zk_client& client,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));

// Polls `cond` every 10 ms until it holds or `limit` passes; returns its last value.
template <typename F>
bool eventually(F cond, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline) return cond();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace gregor::test_support
