#include "tests/support/raw_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/wire.h"

namespace gregor::test_support {

using clock = std::chrono::steady_clock;

raw_connection::raw_connection(uint16_t port, bool preface, std::chrono::milliseconds timeout)
    : raw_connection("127.0.0.1", port, preface, timeout) {}

raw_connection::raw_connection(const std::string& host, uint16_t port, bool preface,
                               std::chrono::milliseconds timeout) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
        throw std::invalid_argument("raw_connection: not an IPv4 address: " + host);
    }
    const std::string where = host + ":" + std::to_string(port);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const auto deadline = clock::now() + timeout;
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) {
            const std::string why = std::strerror(errno);
            ::close(fd_);
            throw std::runtime_error("connect to " + where + ": " + why);
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (!wait(POLLOUT, deadline) || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            ::close(fd_);
            throw std::runtime_error("connect to " + where + ": " +
                                     (err != 0 ? std::strerror(err) : "timed out"));
        }
    }
    if (preface && !send(std::span<const std::byte>(native::kPreface), timeout)) {
        ::close(fd_);
        throw std::runtime_error("cannot send the preface to " + where);
    }
}

raw_connection::~raw_connection() {
    if (fd_ >= 0) ::close(fd_);
}

bool raw_connection::wait(short events, clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        pollfd p{fd_, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (r > 0) return true;  // ready, or an error/hang-up the next call will see
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}

bool raw_connection::send(std::span<const std::byte> bytes, std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait(POLLOUT, deadline)) return false;
            continue;
        }
        return false;  // EPIPE, ECONNRESET, ...
    }
    return true;
}

bool raw_connection::read_exact(std::byte* out, size_t n, clock::time_point deadline) {
    size_t done = 0;
    while (done < n) {
        const ssize_t r = ::recv(fd_, out + done, n - done, 0);
        if (r > 0) {
            done += static_cast<size_t>(r);
            continue;
        }
        if (r == 0) return false;  // closed
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait(POLLIN, deadline)) return false;
            continue;
        }
        return false;
    }
    return true;
}

std::optional<reply> raw_connection::read_reply(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    std::byte len_bytes[4];
    if (!read_exact(len_bytes, 4, deadline)) return std::nullopt;
    const auto length = wire::load_be<int32_t>(len_bytes);
    if (length < 0 || length > (256 << 20)) {
        throw std::runtime_error("response frame length " + std::to_string(length) + " is not plausible");
    }
    reply r;
    r.payload.resize(static_cast<size_t>(length));
    if (!read_exact(r.payload.data(), r.payload.size(), deadline)) return std::nullopt;
    auto f = native::decode_response_frame(r.payload);
    if (!f) throw std::runtime_error("response frame does not parse: " + f.error().message);
    r.correlation_id = f->correlation_id;
    r.error = f->error;
    r.body = f->body;
    return r;
}

bool raw_connection::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    std::byte sink[4096];
    for (;;) {
        const ssize_t r = ::recv(fd_, sink, sizeof sink, 0);
        if (r == 0) return true;
        if (r > 0 && clock::now() > deadline) return false;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait(POLLIN, deadline)) return false;
            continue;
        }
        if (r < 0) return true;  // ECONNRESET and friends: closed too
    }
}

std::string raw_connection::read_until_closed(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
        if (r > 0) {
            out.append(buf, static_cast<size_t>(r));
            if (clock::now() > deadline) return out;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLIN, deadline)) continue;
        return out;
    }
}

}  // namespace gregor::test_support
