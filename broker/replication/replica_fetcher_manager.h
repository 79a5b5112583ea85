// Followers pull: one replica fetcher per leader broker this broker follows partitions of, as
// Kafka's ReplicaFetcherThread. Each fetcher keeps one connection to its leader (on
// inter.broker.listener.name) and runs rounds, one request at a time:
//  - partitions that just became followers first truncate by leader epoch: the fetcher asks the
//    leader where the follower's latest epoch ends (OffsetForLeaderEpoch) and cuts the log back
//    to it, repeating with earlier epochs until the histories agree (KIP-101, KIP-279);
//  - then one Fetch for all its partitions (replica_id = this broker), whose batches are
//    appended unchanged and whose high watermark the follower takes.
// A partition the leader refuses (not leader yet, epoch mismatch) waits replica.fetch.backoff.ms
// and retries; a broken connection is made anew after the same backoff. Appends and truncations
// run on each partition's strand and are checked against the leader epoch they were fetched
// for, so a partition that has moved on in the meantime is left alone.
// Thread-safe: every method may be called from any thread; the network work runs on the
// manager's own thread, which shutdown() (or the destructor) joins.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "client/config.h"
#include "common/topic_partition.h"

namespace gregor::broker {

class partition;

struct fetcher_options {
    int32_t broker_id = -1;
    int32_t max_wait_ms = 500;                   // replica.fetch.wait.max.ms
    int32_t min_bytes = 1;                       // replica.fetch.min.bytes
    int32_t partition_max_bytes = 1048576;       // replica.fetch.max.bytes
    int32_t response_max_bytes = 10485760;       // replica.fetch.response.max.bytes
    std::chrono::milliseconds backoff{1000};     // replica.fetch.backoff.ms
    std::chrono::milliseconds socket_timeout{30000};  // replica.socket.timeout.ms
};

class replica_fetcher_manager {
public:
    explicit replica_fetcher_manager(fetcher_options options);
    ~replica_fetcher_manager();
    replica_fetcher_manager(const replica_fetcher_manager&) = delete;
    replica_fetcher_manager& operator=(const replica_fetcher_manager&) = delete;

    // Fetches `p` from broker `leader` at `address` for `leader_epoch`, starting with
    // truncation; replaces an earlier fetch of the same partition (from any leader). Adding it
    // again for the same leader and epoch changes nothing.
    void add_partition(int32_t leader, client::broker_address address, std::shared_ptr<partition> p,
                       int32_t leader_epoch);
    void remove_partition(const topic_partition& tp);
    // Stops every fetcher and joins the thread. Idempotent.
    void shutdown();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace gregor::broker
