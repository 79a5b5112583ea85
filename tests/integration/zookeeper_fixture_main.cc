// gregor-test-zookeeper start|stop DIR: the ctest fixture behind tests/support/shared_zookeeper.h.
// `start` runs a detached keeper process that owns a zookeeper_server (a real ZooKeeper on a free
// port), writes DIR/port and DIR/pid, and returns once the server answers; `stop` ends the
// keeper by the PID in DIR/pid (the keeper stops ZooKeeper on its way out) and removes DIR.
// The keeper also ends by itself when the process that ran `start` (ctest) is gone, or after
// GREGOR_TEST_ZOOKEEPER_LIFETIME seconds (default 1800), so an interrupted ctest run leaves
// nothing behind; ZooKeeper dies with the keeper.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/shared_zookeeper.h"
#include "tests/support/zookeeper_server.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_atomically(const fs::path& p, const std::string& text) {
    const fs::path tmp = p.string() + ".tmp";
    {
        std::ofstream out(tmp);
        out << text << "\n";
    }
    fs::rename(tmp, p);
}

// The keeper whose PID DIR/pid names, if that process is still a keeper.
pid_t live_keeper(const fs::path& dir) {
    std::ifstream in(dir / "pid");
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 1) return -1;
    const std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    return cmdline.find("gregor-test-zookeeper") != std::string::npos ? pid : -1;
}

int stop(const fs::path& dir) {
    const pid_t pid = live_keeper(dir);
    if (pid > 0) {
        ::kill(pid, SIGTERM);
        const auto deadline = clock_type::now() + 20s;
        while (::kill(pid, 0) == 0 && clock_type::now() < deadline) std::this_thread::sleep_for(20ms);
        if (::kill(pid, 0) == 0) {
            std::cerr << "keeper " << pid << " did not stop; killing it\n";
            ::kill(pid, SIGKILL);
        }
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return 0;
}

[[noreturn]] void keep(const fs::path& dir, pid_t owner) {
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDWR);
    const int out_fd = ::open((dir / "keeper.out").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    long lifetime = 1800;
    if (const char* env = std::getenv("GREGOR_TEST_ZOOKEEPER_LIFETIME")) lifetime = std::atol(env);
    try {
        gregor::test_support::zookeeper_server zk;
        // Blocked only now: the ZooKeeper child must not inherit a blocked SIGTERM.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        ::sigprocmask(SIG_BLOCK, &set, nullptr);
        write_atomically(dir / "pid", std::to_string(::getpid()));
        write_atomically(dir / "port", std::to_string(zk.port()));
        std::cout << "ZooKeeper serving on " << zk.connect_string() << std::endl;
        const auto end = clock_type::now() + std::chrono::seconds(lifetime);
        while (clock_type::now() < end) {
            timespec wait{1, 0};
            if (::sigtimedwait(&set, nullptr, &wait) > 0) break;
            if (::kill(owner, 0) != 0 && errno == ESRCH) {
                std::cout << "the process that started the keeper (" << owner << ") is gone" << std::endl;
                break;
            }
        }
        std::cout << "keeper stopping" << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "keeper failed: " << e.what() << std::endl;
        ::_exit(1);
    }
    ::_exit(0);
}

int start(const fs::path& dir) {
    if (fs::exists(dir)) stop(dir);
    fs::create_directories(dir);
    const pid_t owner = ::getppid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::cerr << "fork: " << std::strerror(errno) << "\n";
        return 1;
    }
    if (pid == 0) keep(dir, owner);
    const auto deadline = clock_type::now() + 90s;
    for (;;) {
        std::ifstream in(dir / "port");
        int port = 0;
        if ((in >> port) && port > 0 && gregor::test_support::zookeeper_answers(static_cast<uint16_t>(port))) {
            std::cout << "shared ZooKeeper on 127.0.0.1:" << port << " (keeper pid " << pid << ")\n";
            return 0;
        }
        int st = 0;
        if (::waitpid(pid, &st, WNOHANG) == pid || clock_type::now() > deadline) {
            std::cerr << "the shared ZooKeeper did not start:\n" << slurp(dir / "keeper.out") << "\n";
            ::kill(pid, SIGKILL);
            return 1;
        }
        std::this_thread::sleep_for(25ms);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
        std::cerr << "usage: " << argv[0] << " start|stop DIR\n";
        return 2;
    }
    const fs::path dir = argv[2];
    return std::string(argv[1]) == "start" ? start(dir) : stop(dir);
}
