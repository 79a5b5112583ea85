// The consumer (no consumer groups yet): reads assigned topic partitions from their leaders,
// as Kafka's KafkaConsumer does with assign(). Each partition has a position, the offset of the
// next record poll() returns; a partition without one gets it from auto.offset.reset (earliest,
// latest; none makes poll() fail) through ListOffsets, as do seek_to_beginning/end/timestamp.
// The consumer's I/O thread keeps one long-polling Fetch (fetch.max.wait.ms, fetch.min.bytes)
// in flight per leader for the partitions whose fetched records have all been returned, decodes
// the batches (skipping records below the position: a fetch returns whole batches), and
// follows leaders through metadata refreshes on NOT_LEADER_OR_FOLLOWER and friends.
// OFFSET_OUT_OF_RANGE resets the position per auto.offset.reset.
// Thread-safe, but like Kafka's consumer it is meant to be used from one thread; poll() may be
// interrupted from another with wakeup().
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/cluster_metadata.h"
#include "client/config.h"
#include "client/records.h"
#include "common/errc.h"
#include "common/topic_partition.h"

namespace gregor::client {

struct offset_and_timestamp {
    int64_t offset = -1;
    int64_t timestamp = -1;
};

class consumer {
public:
    static result<std::unique_ptr<consumer>> create(const properties& props);
    explicit consumer(consumer_config config);
    ~consumer();
    consumer(const consumer&) = delete;
    consumer& operator=(const consumer&) = delete;

    // Replaces the assignment. Partitions kept from the previous one keep their positions.
    void assign(const std::vector<topic_partition>& partitions);
    std::vector<topic_partition> assignment() const;

    // Moves a partition's position; the next poll() returns records from `offset` on.
    // Errors: invalid_request when the partition is not assigned.
    status seek(const topic_partition& tp, int64_t offset);
    // Evaluated lazily, at the next poll() or position(), as in Kafka. An empty list means
    // every assigned partition.
    status seek_to_beginning(const std::vector<topic_partition>& partitions = {});
    status seek_to_end(const std::vector<topic_partition>& partitions = {});
    // To the first offset whose record timestamp is >= `timestamp` (the log end when none is).
    status seek_to_timestamp(int64_t timestamp, const std::vector<topic_partition>& partitions = {});

    // The partition's position, resolving a pending reset (waits up to `timeout`).
    result<int64_t> position(const topic_partition& tp,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

    // Records fetched since the last call, at most max.poll.records, waiting up to `timeout`
    // for some. Errors (returned once, then cleared): offset_out_of_range with
    // auto.offset.reset=none, corrupt_message for a batch failing its CRC, or what the broker
    // answered that is not retriable.
    result<std::vector<consumer_record>> poll(std::chrono::milliseconds timeout);
    // Makes a poll() blocked in another thread return (with no records) now.
    void wakeup();

    // ListOffsets, as Kafka's beginningOffsets / endOffsets / offsetsForTimes. In
    // offsets_for_times, a partition with no record that recent maps to offset -1.
    result<std::map<topic_partition, int64_t>> beginning_offsets(
        const std::vector<topic_partition>& partitions,
        std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
    result<std::map<topic_partition, int64_t>> end_offsets(
        const std::vector<topic_partition>& partitions,
        std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
    result<std::map<topic_partition, offset_and_timestamp>> offsets_for_times(
        const std::map<topic_partition, int64_t>& timestamps,
        std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

    // A topic's partitions from the cluster metadata (unknown_topic_or_partition if it does not
    // exist), as Kafka's partitionsFor.
    result<std::vector<partition_info>> partitions_for(
        const std::string& topic, std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

    // Stops the I/O thread. Idempotent; the destructor calls it.
    void close();

    const consumer_config& config() const noexcept;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace gregor::client
