// How the clients react to an error code, per docs/protocol.md ("Error codes"): which codes are
// worth a retry, and which mean the client's metadata (leaders, brokers) is stale.
// Pure functions: any thread.
#pragma once

#include "common/errc.h"

namespace gregor::client {

// Retriable after refreshing metadata (docs/protocol.md lists these), plus a broken
// connection, which the next attempt makes anew.
constexpr bool is_retriable(errc e) noexcept {
    switch (e) {
    case errc::not_leader_or_follower:
    case errc::leader_not_available:
    case errc::unknown_topic_or_partition:
    case errc::request_timed_out:
    case errc::not_enough_replicas:
    case errc::not_enough_replicas_after_append:
    case errc::not_controller:
    case errc::fenced_leader_epoch:
    case errc::unknown_leader_epoch:
    case errc::kafka_storage_error:
    case errc::network_exception:
        return true;
    default:
        return false;
    }
}

// The partition's leader or the broker is not where the metadata says: refresh it.
constexpr bool invalidates_metadata(errc e) noexcept {
    switch (e) {
    case errc::not_leader_or_follower:
    case errc::leader_not_available:
    case errc::unknown_topic_or_partition:
    case errc::kafka_storage_error:
    case errc::network_exception:
    case errc::not_controller:
    case errc::fenced_leader_epoch:
    case errc::unknown_leader_epoch:
        return true;
    default:
        return false;
    }
}

}  // namespace gregor::client
