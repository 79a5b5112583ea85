#include "tests/chaos/tool_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/broker_process.h"

namespace gregor::chaos {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

tool_process::tool_process(const fs::path& binary, std::vector<std::string> args, const fs::path& dir,
                           const std::string& name)
    : out_(dir / (name + ".out")), err_(dir / (name + ".err")) {
    args.insert(args.begin(), binary.string());
    for (const auto& a : args) command_ += (command_.empty() ? "" : " ") + a;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        // The tool must not outlive a test that crashes.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        const int out_fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err_fd = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (out_fd < 0 || err_fd < 0 || null_fd < 0) ::_exit(126);
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        ::dup2(null_fd, STDIN_FILENO);
        ::close(out_fd);
        ::close(err_fd);
        ::close(null_fd);
        // The test may block signals in its threads; the tool handles SIGTERM itself.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(argv[0], argv.data());
        std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
    }
    pid_ = pid;
}

tool_process::~tool_process() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait_exit(std::chrono::seconds(10));
    }
}

const std::vector<std::string>& tool_process::lines() {
    std::ifstream in(out_, std::ios::binary);
    if (!in) return lines_;
    in.seekg(static_cast<std::streamoff>(read_));
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string fresh = ss.str();
    size_t begin = 0;
    for (size_t nl = fresh.find('\n'); nl != std::string::npos; nl = fresh.find('\n', begin)) {
        lines_.push_back(fresh.substr(begin, nl - begin));
        begin = nl + 1;
    }
    read_ += begin;
    return lines_;
}

std::string tool_process::error_output() const {
    std::ifstream in(err_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool tool_process::running() { return test_support::child_running(pid_, exit_code_); }

std::optional<int> tool_process::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (running()) {
        if (clock_type::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
}

int tool_process::stop(std::chrono::milliseconds timeout) {
    if (!running()) return exit_code_;
    ::kill(pid_, SIGTERM);
    if (auto code = wait_exit(timeout)) return *code;
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
    return -1;
}

}  // namespace gregor::chaos
