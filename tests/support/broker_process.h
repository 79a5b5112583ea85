// A real `gregor-server` for tests: a child process with its own temp directory holding a
// server.properties (broker.id, listeners=PLAINTEXT://<host>:<free port>, 127.0.0.1 unless
// told otherwise, log.dirs under the temp directory, zookeeper.connect, plus the test's properties), the log directory, and the
// broker's stdout (broker.out) and stderr (broker.err). start() returns once the broker is ready to the level
// asked for, polling with a deadline (never a fixed sleep): the port accepts and ApiVersions is
// answered, and by default also Metadata names this broker (its id at its port) and a
// controller (registered in ZooKeeper). A broker that exits or does not get ready in time throws std::runtime_error with
// the tail of its output. restart() starts it again on the same directory and port.
// The destructor SIGKILLs the process if it still runs (by PID), prints its output when the
// current test has failed, and removes the directory (kept when GREGOR_KEEP_TEST_DIRS is set).
// The broker dies with the test process (PR_SET_PDEATHSIG). The binary is the build's
// gregor-server, or $GREGOR_SERVER_BINARY when set.
// Not thread-safe: drive it from the test's main thread; port()/pid() are plain reads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/local_host.h"

namespace gregor::test_support {

using namespace std::chrono_literals;

struct broker_options {
    int32_t broker_id = 0;
    std::string zookeeper_connect;  // "127.0.0.1:port/chroot"
    // Written into server.properties after the defaults (they win over them).
    std::map<std::string, std::string> properties;
    // Passed as `--override key=value` on the command line.
    std::map<std::string, std::string> overrides;
    uint16_t port = 0;  // 0: a free port
    // The IPv4 address the broker listens on and advertises, and that readiness checks and
    // bootstrap() use. A free port is picked on loopback, which suits any local address.
    std::string host = "127.0.0.1";
    // When set, the broker runs in this network namespace (`ip netns exec`, same PID, so
    // signals and PR_SET_PDEATHSIG behave as without one); `host` must be reachable from the
    // test's namespace then, and ZooKeeper from the broker's.
    std::string network_namespace;
};

class broker_process {
public:
    enum class ready_level {
        started,     // the process was started; nothing is awaited
        serving,     // the port accepts and ApiVersions is answered
        registered,  // also: Metadata lists this broker (id and port) and a controller
    };

    // Writes the config and starts the broker (see start()).
    explicit broker_process(broker_options options, ready_level level = ready_level::registered,
                            std::chrono::milliseconds timeout = 60s);
    ~broker_process();
    broker_process(const broker_process&) = delete;
    broker_process& operator=(const broker_process&) = delete;

    // Starts the process and waits for `level`. REQUIRES: not running.
    void start(ready_level level = ready_level::registered, std::chrono::milliseconds timeout = 60s);
    // Waits up to `timeout` for `level`; throws (with the output tail) when the process exits or
    // the deadline passes first.
    void wait_ready(ready_level level, std::chrono::milliseconds timeout = 60s);
    // SIGTERM, then waits up to `timeout` for the exit; returns the exit code (128 + signal when
    // killed by a signal). If it has not exited by then: SIGKILL, and -1.
    int terminate(std::chrono::milliseconds timeout = 30s);
    // SIGKILL and reap.
    void kill();
    // terminate() if running, then start() on the same directory and port.
    void restart(ready_level level = ready_level::registered, std::chrono::milliseconds timeout = 60s);
    // Waits up to `timeout` for the process to exit by itself; its exit code as terminate().
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

    bool running();  // reaps the process if it has exited
    uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return pid_; }
    int32_t broker_id() const noexcept { return options_.broker_id; }
    const std::string& host() const noexcept { return options_.host; }
    std::string bootstrap() const { return options_.host + ":" + std::to_string(port_); }
    const std::filesystem::path& dir() const noexcept { return dir_; }
    std::filesystem::path log_dir() const { return dir_ / "logs"; }
    std::filesystem::path config_file() const { return dir_ / "server.properties"; }

    // Everything the broker wrote, across restarts: stdout (broker.out), then stderr
    // (broker.err) after a "[stderr]" line when there is any.
    std::string output() const;
    // The same for what it wrote since the last start().
    std::string output_since_start() const;
    // Only what it wrote to stderr since the last start().
    std::string error_output_since_start() const;
    // Polls the output since the last start() for `text`, up to `timeout`.
    bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
    // The process's resident set size in KiB (VmRSS from /proc/<pid>/status); -1 if unknown.
    int64_t rss_kib() const;

private:
    void write_config();
    void reap_blocking(std::chrono::milliseconds timeout);
    int last_exit_ = -1;

    broker_options options_;
    std::filesystem::path dir_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
    size_t output_start_ = 0;  // size of broker.out at the last start
    size_t error_start_ = 0;   // size of broker.err at the last start
};

// Decodes a waitpid status: the exit code, or 128 + signal.
int exit_code_of(int wait_status);

// Whether child `pid` still runs, reaping it if it has ended: then `pid` becomes -1 and
// `exit_code` its exit code (as exit_code_of). A pid of -1 is not running.
bool child_running(pid_t& pid, int& exit_code);

}  // namespace gregor::test_support
