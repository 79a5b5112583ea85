// One partition hosted by this broker: its log, its role (leader, or follower of another broker:
// followers keep their log and refuse clients; fetching from the leader comes with
// replication), its leader epoch and replica set, and the fetches waiting for new data.
// Threads: every method runs on the partition's strand (replica_manager posts there); the
// strand is the log's owner thread in storage's sense. id() and strand() are immutable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "broker/event_loop.h"
#include "broker/storage/log.h"
#include "common/errc.h"
#include "common/topic_partition.h"

namespace gregor::broker {

class partition {
public:
    partition(topic_partition id, std::shared_ptr<storage::log> log,
              std::shared_ptr<event_loop::strand> strand);

    const topic_partition& id() const noexcept { return id_; }
    event_loop::strand& strand() noexcept { return *strand_; }
    const std::shared_ptr<storage::log>& log() const noexcept { return log_; }

    // Takes leadership at `epoch` (ignored when older than the current one).
    void make_leader(int32_t epoch, std::vector<int32_t> replicas, std::vector<int32_t> isr);
    // Follows `leader` (-1: none, the partition is offline) at `epoch` (ignored when older).
    void make_follower(int32_t epoch, int32_t leader, std::vector<int32_t> replicas, std::vector<int32_t> isr);
    bool is_leader() const noexcept { return leader_; }
    // The leader this follower was told of (-1: none); meaningless on the leader.
    int32_t leader_id() const noexcept { return leader_id_; }
    int32_t leader_epoch() const noexcept { return leader_epoch_; }

    // The offset below which records are committed and visible to consumers. With only the
    // leader in the ISR it is the log end offset.
    int64_t high_watermark() const noexcept;

    // Leader only: appends a producer's batches. Errors: not_leader_or_follower, the log's.
    result<storage::log::append_result> append(std::span<std::byte> records);

    struct read_result {
        std::vector<std::byte> records;
        int64_t high_watermark;
        int64_t log_start_offset;
    };
    // Whole batches from `offset` up to `max_bytes` (at least one batch), below the high
    // watermark. Errors: offset_out_of_range, fenced/unknown leader epoch, not leader, storage.
    result<read_result> read(int64_t offset, int32_t max_bytes, int32_t current_leader_epoch);

    // `wake` runs (posted, not inline) after the next append; `owner` expiring withdraws it.
    void on_next_append(std::weak_ptr<void> owner, std::function<void()> wake);

private:
    topic_partition id_;
    std::shared_ptr<storage::log> log_;
    std::shared_ptr<event_loop::strand> strand_;
    bool leader_ = false;
    int32_t leader_id_ = -1;
    int32_t leader_epoch_ = -1;
    std::vector<int32_t> replicas_;
    std::vector<int32_t> isr_;
    struct waiter {
        std::weak_ptr<void> owner;
        std::function<void()> wake;
    };
    std::vector<waiter> waiters_;
};

}  // namespace gregor::broker
