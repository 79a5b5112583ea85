// The partitions this broker hosts, and the core calls both protocol adapters use: produce
// (acks=all waits for the ISR), fetch (with long polling; followers fetch too), list offsets,
// offsets for leader epochs. A request touching several partitions is fanned out to each
// partition's strand and its results gathered; the callback runs once, on the strand of
// whichever partition finished last. The controller's decisions arrive as become_leader /
// become_follower / stop_replica; a follower is handed to the replica fetcher of its leader.
// The ISR of led partitions is checked for laggards every replica.lag.time.max.ms / 2.
// Thread-safe: every public method may be called from any thread. shutdown() stops the
// fetchers; the event loop must be stopped before the replica_manager is destroyed (its tasks
// refer to it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "broker/event_loop.h"
#include "broker/replication/partition.h"
#include "broker/replication/replica_fetcher_manager.h"
#include "client/config.h"
#include "broker/storage/log_manager.h"
#include "common/errc.h"
#include "common/topic_partition.h"

namespace gregor::broker {

struct replica_manager_options {
    int32_t broker_id = -1;
    int64_t replica_lag_time_max_ms = 30000;  // replica.lag.time.max.ms
    isr_writer write_isr;                     // empty: ISRs are never changed by this broker
    fetcher_options fetcher;
};

class replica_manager {
public:
    replica_manager(event_loop& loop, storage::log_manager& logs, replica_manager_options options);
    ~replica_manager();

    // Makes this broker the partition's leader as `s` says, creating its log if needed.
    status become_leader(const topic_partition& tp, const leadership& s, const storage::log_config& config);
    // Makes this broker a follower of `s.leader` (at `leader_address`; none when the partition
    // is offline), creating its log if needed, and starts fetching from it.
    status become_follower(const topic_partition& tp, const leadership& s,
                           std::optional<client::broker_address> leader_address,
                           const storage::log_config& config);
    // Stops hosting the partition; with `delete_log` its directory goes too.
    void stop_replica(const topic_partition& tp, bool delete_log);
    // Stops the replica fetchers (broker shutdown). Idempotent.
    void shutdown();
    // Applies new topic settings to every hosted partition of `topic`.
    void update_topic_config(const std::string& topic, const storage::log_config& config);
    std::shared_ptr<partition> get(const topic_partition& tp) const;
    std::vector<topic_partition> hosted() const;

    struct produce_entry {
        topic_partition tp;
        std::span<std::byte> records;  // must stay valid until the callback
        int32_t current_leader_epoch = -1;
    };
    struct produce_result {
        topic_partition tp;
        status error;
        int64_t base_offset = -1;
        int64_t log_start_offset = -1;
    };
    // acks=-1 answers once the ISR has the records, or after `timeout_ms`.
    void produce(std::vector<produce_entry> entries, int16_t acks, int32_t timeout_ms,
                 std::function<void(std::vector<produce_result>)> done);

    struct fetch_entry {
        topic_partition tp;
        int64_t offset = 0;
        int32_t max_bytes = 1048576;
        int32_t current_leader_epoch = -1;
    };
    struct fetch_result {
        topic_partition tp;
        status error;
        int64_t high_watermark = -1;
        int64_t log_start_offset = -1;
        std::vector<std::byte> records;
    };
    // Waits up to max_wait_ms for min_bytes across the partitions; at most max_bytes in all
    // (but at least one batch). replica_id -1: a consumer; else the follower broker's id.
    void fetch(std::vector<fetch_entry> entries, int32_t replica_id, int32_t max_wait_ms, int32_t min_bytes,
               int32_t max_bytes, std::function<void(std::vector<fetch_result>)> done);

    struct list_offsets_result {
        topic_partition tp;
        status error;
        int64_t timestamp = -1;
        int64_t offset = -1;
    };
    // timestamp -2: earliest, -1: latest (high watermark), else the first offset at or after it.
    void list_offsets(std::vector<std::pair<topic_partition, int64_t>> entries,
                      std::function<void(std::vector<list_offsets_result>)> done);

    struct epoch_entry {
        topic_partition tp;
        int32_t current_leader_epoch = -1;
        int32_t leader_epoch = 0;
    };
    struct epoch_result {
        topic_partition tp;
        status error;
        storage::log::epoch_end end;
    };
    // OffsetForLeaderEpoch, on the leader.
    void offsets_for_leader_epoch(std::vector<epoch_entry> entries,
                                  std::function<void(std::vector<epoch_result>)> done);

    // Starts the periodic retention pass (every `interval_ms`) and the ISR check.
    void start_retention(int64_t interval_ms);
    void start_isr_expiration();

private:
    // The hosted partition, its log opened or created with `config` if it is new here.
    result<std::shared_ptr<partition>> host(const topic_partition& tp, const storage::log_config& config);
    void retention_pass(int64_t interval_ms);
    void isr_expiration_pass();
    void read_all(const std::shared_ptr<struct delayed_fetch>& f, bool first_pass);
    void wait_for_data(const std::shared_ptr<struct delayed_fetch>& f);

    event_loop& loop_;
    storage::log_manager& logs_;
    replica_manager_options options_;
    replica_fetcher_manager fetchers_;
    mutable std::shared_mutex mu_;
    std::map<topic_partition, std::shared_ptr<partition>> partitions_;  // guarded by mu_
    std::shared_ptr<event_loop::timer> retention_timer_;
    std::shared_ptr<event_loop::timer> isr_timer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gregor::broker
