#include "tests/support/broker_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/raw_connection.h"

#ifndef GREGOR_SERVER_PATH
#error "GREGOR_SERVER_PATH must name the gregor-server binary"
#endif

namespace gregor::test_support {
namespace fs = std::filesystem;
namespace {

using clock = std::chrono::steady_clock;

std::string read_file(const fs::path& p, size_t from = 0) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return {};
    in.seekg(static_cast<std::streamoff>(from));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

size_t file_size_or_zero(const fs::path& p) {
    std::error_code ec;
    const auto n = fs::file_size(p, ec);
    return ec ? 0 : static_cast<size_t>(n);
}

std::string tail(const std::string& s, size_t bytes = 6000) {
    return s.size() > bytes ? "...\n" + s.substr(s.size() - bytes) : s;
}

}  // namespace

int exit_code_of(int wait_status) {
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return -1;
}

broker_process::broker_process(broker_options options, ready_level level, std::chrono::milliseconds timeout)
    : options_(std::move(options)) {
    char tmpl[] = "/tmp/gregor-broker-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    port_ = options_.port != 0 ? options_.port : free_port();
    try {
        write_config();
        start(level, timeout);
    } catch (...) {
        // No destructor runs for an object whose constructor throws: clean up here. The
        // exception carries the broker's output.
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            reap_blocking(10s);
        }
        if (std::getenv("GREGOR_KEEP_TEST_DIRS") == nullptr) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
        throw;
    }
}

broker_process::~broker_process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        reap_blocking(10s);
    }
    const bool failed = ::testing::Test::HasFailure();
    if (failed) {
        std::cerr << "---- gregor-server " << options_.broker_id << " (port " << port_ << ", " << dir_.string()
                  << ") output:\n"
                  << tail(output(), 20000) << "\n---- end of gregor-server output\n";
    }
    if (std::getenv("GREGOR_KEEP_TEST_DIRS") == nullptr) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
}

void broker_process::write_config() {
    std::map<std::string, std::string> p = {
        {"broker.id", std::to_string(options_.broker_id)},
        {"listeners", "PLAINTEXT://" + options_.host + ":" + std::to_string(port_)},
        {"log.dirs", (dir_ / "logs").string()},
        {"zookeeper.connect", options_.zookeeper_connect},
        {"zookeeper.session.timeout.ms", "6000"},
        {"num.io.threads", "2"},
    };
    for (const auto& [k, v] : options_.properties) p[k] = v;
    std::ofstream out(config_file());
    out << "# written by tests/support/broker_process\n";
    for (const auto& [k, v] : p) out << k << "=" << v << "\n";
    if (!out) throw std::runtime_error("cannot write " + config_file().string());
}

void broker_process::start(ready_level level, std::chrono::milliseconds timeout) {
    if (pid_ > 0) throw std::logic_error("broker_process::start: already running");
    const fs::path out = dir_ / "broker.out";
    const fs::path err = dir_ / "broker.err";
    output_start_ = file_size_or_zero(out);
    error_start_ = file_size_or_zero(err);
    // GREGOR_SERVER_BINARY runs the same tests against another build (a sanitizer build, say).
    const char* binary = std::getenv("GREGOR_SERVER_BINARY");
    std::vector<std::string> args;
    if (!options_.network_namespace.empty()) args = {"ip", "netns", "exec", options_.network_namespace};
    args.push_back(binary != nullptr && *binary != '\0' ? binary : GREGOR_SERVER_PATH);
    args.push_back(config_file().string());
    for (const auto& [k, v] : options_.overrides) {
        args.push_back("--override");
        args.push_back(k + "=" + v);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        // The broker must not outlive a test that crashes.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out_fd >= 0 && err_fd >= 0) {
            ::dup2(out_fd, STDOUT_FILENO);
            ::dup2(err_fd, STDERR_FILENO);
            ::close(out_fd);
            ::close(err_fd);
        }
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0) {
            ::dup2(null_fd, STDIN_FILENO);
            ::close(null_fd);
        }
        // The test may block signals in its threads; the broker sets up its own.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (options_.network_namespace.empty()) {
            ::execv(argv[0], argv.data());
        } else {
            ::execvp(argv[0], argv.data());  // `ip` is wherever PATH has it
        }
        std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
    }
    pid_ = pid;
    wait_ready(level, timeout);
}

void broker_process::wait_ready(ready_level level, std::chrono::milliseconds timeout) {
    if (level == ready_level::started) return;
    const auto deadline = clock::now() + timeout;
    std::string last_problem = "not tried yet";
    for (;;) {
        if (!running()) {
            throw std::runtime_error("gregor-server exited (code " + std::to_string(last_exit_) +
                                     ") before it was ready:\n" + tail(output_since_start()));
        }
        try {
            raw_connection c(options_.host, port_, true, 1s);
            c.call(native::api_key::api_versions, native::api_versions_request{}, 2s)
                .as<native::api_versions_response>();
            if (level == ready_level::serving) return;
            native::metadata_request m;
            m.topics = std::vector<std::string>{};
            auto meta = c.call(native::api_key::metadata, m, 2s).as<native::metadata_response>();
            // This very process, not an earlier holder of the same broker.id.
            const bool listed = std::any_of(meta.brokers.begin(), meta.brokers.end(), [&](const auto& b) {
                return b.node_id == options_.broker_id && b.port == port_;
            });
            if (listed && meta.controller_id >= 0) return;
            last_problem = listed ? "no controller yet" : "not registered yet";
        } catch (const std::exception& e) {
            last_problem = e.what();
        }
        if (clock::now() > deadline) {
            throw std::runtime_error("gregor-server on port " + std::to_string(port_) + " not ready within " +
                                     std::to_string(timeout.count()) + " ms (" + last_problem + "):\n" +
                                     tail(output_since_start()));
        }
        std::this_thread::sleep_for(20ms);
    }
}

bool child_running(pid_t& pid, int& exit_code) {
    if (pid <= 0) return false;
    int st = 0;
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) {
        exit_code = exit_code_of(st);
        pid = -1;
        return false;
    }
    if (r < 0 && errno == ECHILD) {
        pid = -1;
        return false;
    }
    return true;
}

bool broker_process::running() { return child_running(pid_, last_exit_); }

std::optional<int> broker_process::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (running()) {
        if (clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
    return last_exit_;
}

void broker_process::reap_blocking(std::chrono::milliseconds timeout) {
    if (!wait_exit(timeout)) {
        // Unreapable in time: leave it to PR_SET_PDEATHSIG rather than block the test.
        pid_ = -1;
    }
}

int broker_process::terminate(std::chrono::milliseconds timeout) {
    if (!running()) return last_exit_;
    ::kill(pid_, SIGTERM);
    if (auto code = wait_exit(timeout)) return *code;
    ::kill(pid_, SIGKILL);
    reap_blocking(10s);
    return -1;
}

void broker_process::kill() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    reap_blocking(10s);
}

void broker_process::restart(ready_level level, std::chrono::milliseconds timeout) {
    if (running()) {
        const int code = terminate();
        if (code != 0) throw std::runtime_error("gregor-server did not stop cleanly (exit " + std::to_string(code) + ")");
    }
    start(level, timeout);
}

namespace {
std::string with_stderr(std::string out, const std::string& err) {
    if (!err.empty()) out += "[stderr]\n" + err;
    return out;
}
}  // namespace

std::string broker_process::output() const {
    return with_stderr(read_file(dir_ / "broker.out"), read_file(dir_ / "broker.err"));
}

std::string broker_process::output_since_start() const {
    return with_stderr(read_file(dir_ / "broker.out", output_start_), error_output_since_start());
}

std::string broker_process::error_output_since_start() const { return read_file(dir_ / "broker.err", error_start_); }

bool broker_process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
        if (output_since_start().find(text) != std::string::npos) return true;
        if (clock::now() > deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

int64_t broker_process::rss_kib() const {
    if (pid_ <= 0) return -1;
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
    }
    return -1;
}

}  // namespace gregor::test_support
