// gregor-test-zookeeper start|stop DIR: the ctest fixture behind tests/support/shared_zookeeper.h.
// `start` runs a detached keeper process that owns a zookeeper_server (a real ZooKeeper on a free
// port), writes DIR/port and DIR/pid, and returns once the server answers. Each ctest run that
// uses DIR is an owner (the PID of the process that ran `start`, listed in DIR/owners): a second
// run in the same build directory shares the running server instead of replacing it under the
// first, and `stop` ends the keeper (which stops ZooKeeper on its way out) and removes DIR only
// when no other owner is left. The keeper also ends by itself once none of its owners is alive,
// or after GREGOR_TEST_ZOOKEEPER_LIFETIME seconds (default 1800), so an interrupted ctest run
// leaves nothing behind; ZooKeeper dies with the keeper. DIR.lock serialises start and stop.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
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
#include <set>
#include <string>
#include <thread>

#include "tests/support/local_host.h"
#include "tests/support/shared_zookeeper.h"
#include "tests/support/zookeeper_server.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

using gregor::test_support::slurp;

void write_atomically(const fs::path& p, const std::string& text) {
    const fs::path tmp = p.string() + ".tmp";
    {
        std::ofstream out(tmp);
        out << text << "\n";
    }
    fs::rename(tmp, p);
}

// The keeper whose PID DIR/pid names, if that process is still this directory's keeper. A
// keeper that ended by itself leaves its pid file behind, and PIDs come round again (pid_max is
// often 32768): the keeper of another build's directory may hold that PID now, and stopping it
// would pull the ZooKeeper from under another run. The keeper's command line names its DIR.
pid_t live_keeper(const fs::path& dir) {
    std::ifstream in(dir / "pid");
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 1) return -1;
    const std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    const bool keeper = cmdline.find("gregor-test-zookeeper") != std::string::npos &&
                        cmdline.find('\0' + dir.string() + '\0') != std::string::npos;
    return keeper ? pid : -1;
}

bool alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// The owners listed in DIR/owners that are still running.
std::set<pid_t> live_owners(const fs::path& dir) {
    std::set<pid_t> out;
    std::ifstream in(dir / "owners");
    for (pid_t pid = 0; in >> pid;) {
        if (alive(pid)) out.insert(pid);
    }
    return out;
}

void write_owners(const fs::path& dir, const std::set<pid_t>& owners) {
    std::string text;
    for (const pid_t p : owners) text += std::to_string(p) + " ";
    write_atomically(dir / "owners", text);
}

// Holds DIR.lock (an flock) for its lifetime.
class dir_lock {
public:
    explicit dir_lock(const fs::path& dir) {
        fs::create_directories(dir.parent_path());
        fd_ = ::open((dir.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ >= 0) ::flock(fd_, LOCK_EX);
    }
    ~dir_lock() { release(); }
    // Also for a forked child, which must not keep the parent's lock alive.
    void release() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

// Ends the keeper (if any) and removes DIR.
void stop_keeper(const fs::path& dir) {
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
}

int stop(const fs::path& dir) {
    dir_lock lock(dir);
    auto owners = live_owners(dir);
    owners.erase(::getppid());
    if (!owners.empty() && live_keeper(dir) > 0) {
        write_owners(dir, owners);
        std::cout << "the shared ZooKeeper stays up for " << owners.size() << " other run(s)\n";
        return 0;
    }
    stop_keeper(dir);
    return 0;
}

[[noreturn]] void keep(const fs::path& dir) {
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
            if (live_owners(dir).empty()) {
                std::cout << "no run that uses this server is left" << std::endl;
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
    dir_lock lock(dir);
    const pid_t owner = ::getppid();
    if (live_keeper(dir) > 0) {
        std::ifstream in(dir / "port");
        int port = 0;
        if ((in >> port) && port > 0 && gregor::test_support::zookeeper_answers(static_cast<uint16_t>(port))) {
            auto owners = live_owners(dir);
            owners.insert(owner);
            write_owners(dir, owners);
            std::cout << "sharing the running ZooKeeper on 127.0.0.1:" << port << " with " << owners.size() - 1
                      << " other run(s)\n";
            return 0;
        }
    }
    stop_keeper(dir);  // a stale one
    fs::create_directories(dir);
    write_owners(dir, {owner});
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::cerr << "fork: " << std::strerror(errno) << "\n";
        return 1;
    }
    if (pid == 0) {
        lock.release();
        keep(dir);
    }
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
