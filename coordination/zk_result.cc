#include "coordination/zk_result.h"

namespace gregor::coordination {

const char* zk_errc_name(zk_errc e) noexcept {
    switch (e) {
    case zk_errc::ok: return "ok";
    case zk_errc::no_node: return "no_node";
    case zk_errc::node_exists: return "node_exists";
    case zk_errc::bad_version: return "bad_version";
    case zk_errc::not_empty: return "not_empty";
    case zk_errc::no_children_for_ephemerals: return "no_children_for_ephemerals";
    case zk_errc::connection_loss: return "connection_loss";
    case zk_errc::operation_timeout: return "operation_timeout";
    case zk_errc::session_expired: return "session_expired";
    case zk_errc::closing: return "closing";
    case zk_errc::not_authorized: return "not_authorized";
    case zk_errc::bad_arguments: return "bad_arguments";
    case zk_errc::malformed_data: return "malformed_data";
    case zk_errc::other: return "other";
    }
    return "unknown";
}

std::string zk_status::message() const {
    if (ok()) return {};
    std::string m = zk_errc_name(code_);
    if (!message_.empty()) m += ": " + message_;
    return m;
}

}  // namespace gregor::coordination
