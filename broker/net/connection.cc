#include "broker/net/connection.h"

#include <algorithm>

#include "common/logger.h"
#include "common/wire.h"
#include "protocol/native/messages.h"

namespace gregor::broker::net {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("network");
    return l;
}

}  // namespace

connection::connection(asio::ip::tcp::socket socket, connection_limits limits,
                       request_handler& native, std::function<void(connection*)> on_closed)
    : socket_(std::move(socket)),
      strand_(asio::make_strand(socket_.get_executor())),
      deadline_(strand_),
      limits_(limits),
      native_(native),
      on_closed_(std::move(on_closed)) {
    asio::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? "unknown peer" : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

connection::~connection() = default;

void connection::start() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->read_preface(); });
}

void connection::drain() {
    draining_ = true;
    asio::post(strand_, [self = shared_from_this()] {
        if (!self->busy_) self->close();
    });
}

void connection::close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ec;
    deadline_.cancel();
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    if (on_closed_) on_closed_(this);
}

void connection::arm_deadline(int64_t ms) {
    if (ms < 0) {
        deadline_.cancel();
        return;
    }
    deadline_.expires_after(std::chrono::milliseconds(ms));
    deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
        if (ec) return;  // re-armed or cancelled
        logger()->debug("closing connection from {}: timed out", self->peer_);
        self->close();
    });
}

void connection::disarm_deadline() { deadline_.cancel(); }

void connection::read_preface() {
    // Any real first request is longer than the 8-byte preface, so reading 8 bytes is safe
    // for both protocols.
    arm_deadline(limits_.idle_timeout_ms);
    asio::async_read(socket_, asio::buffer(head_), asio::bind_executor(strand_,
        [self = shared_from_this()](const asio::error_code& ec, size_t) {
            if (ec) return self->close();
            if (self->head_[0] != native::kPreface[0]) {
                // The Kafka wire protocol is served by a later release.
                logger()->warn("closing connection from {}: it speaks the Kafka wire protocol, "
                               "which this broker does not serve yet",
                               self->peer_);
                return self->close();
            }
            if (!std::equal(self->head_.begin(), self->head_.end(), native::kPreface.begin())) {
                logger()->warn("closing connection from {}: bad native protocol preface", self->peer_);
                return self->close();
            }
            self->read_frame_length();
        }));
}

void connection::read_frame_length() {
    if (draining_) return close();
    arm_deadline(limits_.idle_timeout_ms);
    asio::async_read(socket_, asio::buffer(head_.data(), 4), asio::bind_executor(strand_,
        [self = shared_from_this()](const asio::error_code& ec, size_t) {
            if (ec) return self->close();
            const auto length = wire::load_be<int32_t>(self->head_.data());
            if (length < static_cast<int32_t>(native::kRequestHeaderSize) ||
                length > self->limits_.max_request_bytes) {
                logger()->warn("closing connection from {}: request frame length {} is outside "
                               "[{}, socket.request.max.bytes={}]",
                               self->peer_, length, native::kRequestHeaderSize,
                               self->limits_.max_request_bytes);
                return self->close();
            }
            self->read_frame_payload(static_cast<uint32_t>(length));
        }));
}

void connection::read_frame_payload(uint32_t length) {
    arm_deadline(limits_.request_timeout_ms);
    // Memory follows the bytes that arrive, not the length claimed: the buffer starts small and
    // doubles as it fills, so a stalled sender claiming socket.request.max.bytes pins little.
    payload_.clear();
    payload_.resize(std::min<size_t>(length, kFirstPayloadChunk));
    read_payload_chunk(length, 0);
}

void connection::read_payload_chunk(uint32_t length, size_t have) {
    asio::async_read(socket_, asio::buffer(payload_.data() + have, payload_.size() - have), asio::bind_executor(strand_,
        [self = shared_from_this(), length](const asio::error_code& ec, size_t) {
            if (ec) return self->close();
            const size_t filled = self->payload_.size();
            if (filled < length) {
                self->payload_.resize(std::min<size_t>(length, filled * 2));
                return self->read_payload_chunk(length, filled);
            }
            self->disarm_deadline();
            self->dispatch(std::move(self->payload_));
        }));
}

void connection::dispatch(std::vector<std::byte> payload) {
    busy_ = true;
    auto self = shared_from_this();
    native_.handle(std::move(payload), [self](response r) {
        asio::dispatch(self->strand_, [self, r = std::move(r)]() mutable {
            self->write_response(std::move(r));
        });
    });
}

void connection::write_response(response r) {
    if (closed_) return;
    if (r.frame.empty()) {
        busy_ = false;
        if (r.close_after) return close();
        return read_frame_length();
    }
    arm_deadline(limits_.request_timeout_ms);
    auto frame = std::make_shared<std::vector<std::byte>>(std::move(r.frame));
    asio::async_write(socket_, asio::buffer(*frame), asio::bind_executor(strand_,
        [self = shared_from_this(), frame, close_after = r.close_after](const asio::error_code& ec, size_t) {
            self->busy_ = false;
            if (ec || close_after) return self->close();
            self->read_frame_length();
        }));
}

}  // namespace gregor::broker::net
