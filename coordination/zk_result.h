// Outcomes of ZooKeeper calls and of decoding znode contents, as values: every call in
// coordination/ returns a zk_status or a zk_result<T>, never throws. The codes name the
// ZooKeeper results callers act on (no_node, node_exists, bad_version, ...); everything else
// the C client can report folds into `other`, with its text kept in the message.
// Plain values: safe to copy between threads.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace gregor::coordination {

enum class zk_errc {
    ok = 0,
    no_node,                    // ZNONODE: the znode (or a parent of it) does not exist
    node_exists,                // ZNODEEXISTS
    bad_version,                // ZBADVERSION: a conditional write saw another version
    not_empty,                  // ZNOTEMPTY: a delete of a znode that has children
    no_children_for_ephemerals, // ZNOCHILDRENFOREPHEMERALS
    connection_loss,            // ZCONNECTIONLOSS (the outcome is unknown), or no session yet
    operation_timeout,          // ZOPERATIONTIMEOUT
    session_expired,            // ZSESSIONEXPIRED / ZINVALIDSTATE: the session is gone
    closing,                    // ZCLOSING, or a call after zk_client::close()
    not_authorized,             // ZNOAUTH / ZAUTHFAILED
    bad_arguments,              // ZBADARGUMENTS, e.g. a malformed path
    malformed_data,             // a znode's content does not decode (not a ZooKeeper code)
    other,                      // any other C client code; the message names it
};

// A short lower-case name, e.g. "bad_version".
const char* zk_errc_name(zk_errc e) noexcept;

// True for the codes after which the outcome of a write is unknown or the session is gone:
// the caller retries once the session is (re-)established rather than treating it as an answer.
inline bool is_connection_error(zk_errc e) noexcept {
    return e == zk_errc::connection_loss || e == zk_errc::operation_timeout ||
           e == zk_errc::session_expired || e == zk_errc::closing;
}

class [[nodiscard]] zk_status {
public:
    zk_status() = default;
    zk_status(zk_errc code, std::string message) : code_(code), message_(std::move(message)) {}

    bool ok() const noexcept { return code_ == zk_errc::ok; }
    zk_errc code() const noexcept { return code_; }
    // "<code name>: <detail>"; empty when ok.
    std::string message() const;
    // Greppable marker for a failure that is deliberately dropped.
    void ignore_error() const noexcept {}

private:
    zk_errc code_ = zk_errc::ok;
    std::string message_;
};

// Either a value or a non-ok zk_status.
template <typename T>
class [[nodiscard]] zk_result {
public:
    zk_result(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
    zk_result(zk_status s) : v_(std::move(s)) {}             // NOLINT: implicit by design
    zk_result(zk_errc c, std::string msg) : v_(zk_status(c, std::move(msg))) {}

    bool ok() const noexcept { return std::holds_alternative<T>(v_); }
    explicit operator bool() const noexcept { return ok(); }
    zk_errc code() const noexcept { return ok() ? zk_errc::ok : std::get<zk_status>(v_).code(); }
    zk_status status() const { return ok() ? zk_status() : std::get<zk_status>(v_); }

    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

private:
    std::variant<T, zk_status> v_;
};

}  // namespace gregor::coordination
