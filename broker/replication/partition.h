// One partition hosted by this broker: its log and its place in replication.
//
// As leader it appends producers' batches, tracks every follower's log end offset from the
// offsets they fetch at, keeps the high watermark at the smallest log end offset in the ISR
// (consumers read only below it), holds acks=all produces until the high watermark passes them,
// and changes the ISR: a follower that has not caught up within replica.lag.time.max.ms leaves,
// one that has caught up joins. ISR changes are written to ZooKeeper through `isr_writer`,
// conditional on the state znode's version; until the write succeeds the old ISR stays in force
// (for the high watermark the union of old and proposed counts, so it never runs ahead of a
// replica that may still be in the ISR).
// As follower it refuses clients; the replica fetcher truncates its log by leader epoch and
// appends the leader's batches unchanged (see replica_fetcher_manager.h).
//
// Threads: every method runs on the partition's strand (replica_manager and the fetcher post
// there); the strand is the log's owner thread in storage's sense. id(), strand() and log() are
// immutable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "broker/event_loop.h"
#include "broker/storage/log.h"
#include "common/errc.h"
#include "common/topic_partition.h"
#include "coordination/cluster_model.h"

namespace gregor::broker {

// A partition's leadership as the controller decided it (LeaderAndIsr) or the leader wrote it.
struct leadership {
    int32_t leader = -1;
    int32_t leader_epoch = -1;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
    int32_t zk_version = 0;        // of the partition's state znode
    int32_t controller_epoch = 0;  // of the controller that wrote that state
};

// Writes a leader's ISR change to ZooKeeper; `done` (any thread) gets the state znode's new
// version or an error (invalid_update_version: the controller moved on).
using isr_writer = std::function<void(const topic_partition&, const coordination::partition_state&,
                                      std::function<void(result<int32_t>)>)>;

struct replication_settings {
    int64_t replica_lag_time_max_ms = 30000;
    isr_writer write_isr;  // empty: ISR changes are not written (tests of a lone leader)
};

class partition : public std::enable_shared_from_this<partition> {
public:
    partition(topic_partition id, int32_t broker_id, std::shared_ptr<storage::log> log, event_loop& loop,
              std::shared_ptr<event_loop::strand> strand, replication_settings settings);

    const topic_partition& id() const noexcept { return id_; }
    event_loop::strand& strand() noexcept { return *strand_; }
    const std::shared_ptr<storage::log>& log() const noexcept { return log_; }

    // Take the decision `s` (ignored, returning false, when older than the one in force: a lower
    // leader epoch, or the same epoch with an older state znode version).
    bool make_leader(const leadership& s);
    bool make_follower(const leadership& s);
    // No longer hosted here (StopReplica): every later call is refused.
    void stop();
    bool is_leader() const noexcept { return leader_; }
    int32_t leader_id() const noexcept { return state_.leader; }
    int32_t leader_epoch() const noexcept { return state_.leader_epoch; }
    const std::vector<int32_t>& isr() const noexcept { return state_.isr; }

    // Committed records end here: consumers read below it.
    int64_t high_watermark() const noexcept { return log_->high_watermark(); }

    // ---- leader

    // Appends a producer's batches. `current_leader_epoch` -1 is not checked. With acks=-1 and
    // fewer ISR members than min.insync.replicas nothing is appended: not_enough_replicas.
    // Errors: not_leader_or_follower, fenced/unknown_leader_epoch, the log's.
    result<storage::log::append_result> append(std::span<std::byte> records, int32_t current_leader_epoch,
                                               int16_t acks);
    // acks=all: `done` runs (on the strand) once the high watermark reaches `required_offset`:
    // ok, or not_enough_replicas_after_append when the ISR is then below min.insync.replicas;
    // not_leader_or_follower if leadership is lost first; request_timed_out after `timeout_ms`.
    void await_replication(int64_t required_offset, int64_t timeout_ms, std::function<void(status)> done);

    struct read_result {
        std::vector<std::byte> records;
        int64_t high_watermark;
        int64_t log_start_offset;
    };
    // Whole batches from `offset` up to `max_bytes` (at least one batch). A consumer
    // (replica_id < 0) reads below the high watermark; a follower (its broker id) up to the log
    // end, and its fetch offset counts as its log end offset for the high watermark and the ISR.
    // Errors: offset_out_of_range, fenced/unknown leader epoch, not leader, not a replica, storage.
    result<read_result> read(int64_t offset, int32_t max_bytes, int32_t current_leader_epoch, int32_t replica_id);

    // OffsetForLeaderEpoch: where `epoch` ends in this leader's log.
    result<storage::log::epoch_end> end_offset_for_epoch(int32_t current_leader_epoch, int32_t epoch);

    // Leaves followers that have not caught up within replica.lag.time.max.ms out of the ISR.
    void maybe_shrink_isr();

    // `wake` runs (posted, not inline) once there is data at `offset` for a reader: records up
    // to the log end for followers (`replica`), up to the high watermark for consumers. At once
    // when there already is (it arrived between the reader's look and this call). `owner`
    // expiring withdraws it.
    void on_new_data(bool replica, int64_t offset, std::weak_ptr<void> owner, std::function<void()> wake);

    // ---- follower (the replica fetcher), each checked against the leader epoch it fetches for:
    // a stale call (the partition has moved on) gets fenced_leader_epoch and changes nothing.

    struct follower_position {
        std::optional<int32_t> latest_epoch;
        int64_t log_end_offset;
    };
    result<follower_position> position(int32_t leader_epoch) const;
    // Truncates by the leader's answer to OffsetForLeaderEpoch for our latest epoch (Kafka's
    // KIP-101/279 rules). Returns the offset to fetch from once truncation is complete, or
    // nullopt when another round (asking for an earlier epoch) is needed.
    result<std::optional<int64_t>> truncate_to_leader(int32_t leader_epoch, storage::log::epoch_end leader_end);
    // Appends the leader's batches unchanged and takes its high watermark (capped at our log
    // end). Returns the next offset to fetch.
    result<int64_t> append_from_leader(int32_t leader_epoch, std::span<std::byte> records, int64_t leader_high_watermark);
    // The fetch offset is below the leader's log start: start over empty at `leader_log_start`.
    result<int64_t> restart_at(int32_t leader_epoch, int64_t leader_log_start);

private:
    struct follower {
        int64_t log_end_offset = -1;  // -1: not fetched yet under this leadership
        int64_t last_caught_up_ms = 0;
        int64_t last_fetch_ms = 0;
        int64_t leader_end_at_last_fetch = -1;
    };
    struct replication_waiter {
        uint64_t id;
        int64_t required_offset;
        std::function<void(status)> done;
    };
    struct data_waiter {
        bool replica;
        std::weak_ptr<void> owner;
        std::function<void()> wake;
    };

    bool newer_than_current(const leadership& s) const;
    status check_leader(int32_t current_leader_epoch) const;
    status check_follower(int32_t leader_epoch) const;
    void update_follower(int32_t replica, int64_t fetch_offset);
    void maybe_advance_high_watermark();
    void maybe_expand_isr(int32_t replica);
    void propose_isr(std::vector<int32_t> isr, const char* why);
    void isr_written(uint64_t generation, std::vector<int32_t> isr, result<int32_t> version);
    void complete_replication_waiters();
    void fail_replication_waiters(const status& why);
    void wake(bool replicas, bool consumers);

    topic_partition id_;
    int32_t broker_id_;
    std::shared_ptr<storage::log> log_;
    event_loop& loop_;
    std::shared_ptr<event_loop::strand> strand_;
    replication_settings settings_;

    bool leader_ = false;
    bool stopped_ = false;
    leadership state_;
    uint64_t generation_ = 0;               // bumps with every leadership taken
    int64_t leader_epoch_start_offset_ = 0;  // the log end when this leadership began
    std::map<int32_t, follower> followers_;
    std::optional<std::vector<int32_t>> pending_isr_;  // written to ZooKeeper, not yet confirmed
    std::vector<replication_waiter> replication_waiters_;
    uint64_t next_waiter_id_ = 0;
    std::vector<data_waiter> data_waiters_;
};

}  // namespace gregor::broker
