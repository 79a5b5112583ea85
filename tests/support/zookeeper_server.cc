#include "tests/support/zookeeper_server.h"

#include <zookeeper/zookeeper.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/local_host.h"

namespace gregor::test_support {
namespace fs = std::filesystem;
namespace {

using clock = std::chrono::steady_clock;

// The jars QuorumPeerMain needs in standalone mode. A JVM with a short class path and no
// optimising JIT starts in about half the time of one given all of /usr/share/java.
std::string class_path() {
    if (const char* env = std::getenv("GREGOR_ZOOKEEPER_CLASSPATH")) return env;
    const std::vector<std::string> jars = {
        "zookeeper.jar",   "zookeeper-jute.jar", "slf4j-api.jar",  "slf4j-nop.jar",
        "netty-all.jar",   "commons-cli.jar",    "commons-io.jar", "metrics-core.jar",
        "log4j-1.2.jar"};
    std::string cp;
    for (const auto& jar : jars) {
        const fs::path p = fs::path("/usr/share/java") / jar;
        if (!fs::exists(p)) return "/usr/share/java/*:/usr/share/zookeeper/*";
        if (!cp.empty()) cp += ':';
        cp += p.string();
    }
    return cp;
}

std::string tail_of(const fs::path& file, size_t bytes = 4000) {
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string all = ss.str();
    return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

// Waits for `pid` to exit, up to `limit`; true if it did.
bool reap(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = clock::now() + limit;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return true;
        if (clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

zookeeper_server::zookeeper_server() : zookeeper_server("127.0.0.1") {}

zookeeper_server::zookeeper_server(std::string client_address) : address_(std::move(client_address)) {
    char tmpl[] = "/tmp/gregor-zk-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    fs::create_directories(dir_ / "data");
    port_ = free_port();
    std::ofstream cfg(dir_ / "zoo.cfg");
    cfg << "tickTime=500\n"
        << "initLimit=10\n"
        << "syncLimit=5\n"
        << "dataDir=" << (dir_ / "data").string() << "\n"
        << "clientPort=" << port_ << "\n"
        << "clientPortAddress=" << address_ << "\n"
        << "maxClientCnxns=0\n"
        << "4lw.commands.whitelist=*\n"
        << "admin.enableServer=false\n";
    cfg.close();
    start();
}

zookeeper_server::~zookeeper_server() {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::string zookeeper_server::connect_string() const { return address_ + ":" + std::to_string(port_); }

void zookeeper_server::start() {
    const std::string cp = class_path();
    const std::string cfg = (dir_ / "zoo.cfg").string();
    const std::string out = (dir_ / "zookeeper.out").string();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        // The server must not outlive a test that crashes.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        ::setpgid(0, 0);
        const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, STDOUT_FILENO);
            ::dup2(fd, STDERR_FILENO);
            ::close(fd);
        }
        ::execlp("java", "java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xms16m", "-Xmx256m",
                 "-cp", cp.c_str(), "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg.c_str(),
                 static_cast<char*>(nullptr));
        ::_exit(127);
    }
    pid_ = pid;
    const auto deadline = clock::now() + std::chrono::seconds(30);
    while (four_letter_word("srvr").find("Mode:") == std::string::npos) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("ZooKeeper exited at start:\n" + tail_of(out));
        }
        if (clock::now() > deadline) {
            stop();
            throw std::runtime_error("ZooKeeper did not serve within 30 s:\n" + tail_of(out));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
}

void zookeeper_server::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);  // a paused server cannot act on SIGTERM
    ::kill(pid_, SIGTERM);
    if (!reap(pid_, std::chrono::seconds(5))) {
        ::kill(pid_, SIGKILL);
        reap(pid_, std::chrono::seconds(5));
    }
    pid_ = -1;
}

void zookeeper_server::restart() {
    stop();
    start();
}

void zookeeper_server::pause() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void zookeeper_server::resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string zookeeper_server::four_letter_word(const std::string& word) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return {};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (::inet_pton(AF_INET, address_.c_str(), &addr.sin_addr) != 1) return {};
    addr.sin_port = htons(port_);
    std::string reply;
    const auto deadline = clock::now() + std::chrono::seconds(2);
    auto wait_for = [&](short events) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        return ::poll(&p, 1, static_cast<int>(left.count())) == 1;
    };
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
        ::close(fd);
        return {};
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (!wait_for(POLLOUT) || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 ||
        ::send(fd, word.data(), word.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(word.size())) {
        ::close(fd);
        return {};
    }
    char buf[4096];
    while (wait_for(POLLIN)) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return reply;
}

namespace {
void ignore_events(zhandle_t*, int, int, const char*, void*) {}
// The attaching handle's connection is dropped on purpose; its complaints are noise.
void ignore_log(const char*) {}
}  // namespace

namespace {

// Attaches to the session and closes it; false if the attach did not happen.
bool attach_and_close(const std::string& connect, const coordination::session_credentials& session) {
    clientid_t id{};
    id.client_id = session.id;
    std::memcpy(id.passwd, session.password.data(), std::min(session.password.size(), sizeof(id.passwd)));
    zhandle_t* zh = zookeeper_init2(connect.c_str(), &ignore_events, 10000, &id, nullptr, 0, &ignore_log);
    if (zh == nullptr) return false;
    const auto deadline = clock::now() + std::chrono::seconds(5);
    bool attached = false;
    while (clock::now() < deadline) {
        const int state = zoo_state(zh);
        if (state == ZOO_CONNECTED_STATE) {
            attached = true;
            break;
        }
        if (state == ZOO_EXPIRED_SESSION_STATE) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    zookeeper_close(zh);  // ends the session on the server, if this handle still owns it
    return attached;
}

}  // namespace

bool expire_session(const std::string& connect, const coordination::zk_client& client,
                    std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    const auto old = client.credentials();
    if (!old) return false;
    while (clock::now() < deadline) {
        attach_and_close(connect, *old);
        // The client hears of the expiry on its next contact with the server.
        const auto settle = std::min(deadline, clock::now() + std::chrono::seconds(3));
        while (clock::now() < settle) {
            if (client.session_id() != old->id && client.connected()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    return false;
}

}  // namespace gregor::test_support
