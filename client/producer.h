// The producer: sends records to topic partitions, as Kafka's KafkaProducer does, over the
// native protocol. send() partitions a record (client/partitioner.h) and appends it to the
// partition's open batch (client/record_accumulator.h); the producer's I/O thread sends a
// partition's batches to its leader when they are full, linger.ms old, or flushed, one Produce
// request per broker carrying a batch per partition, with at most
// max.in.flight.requests.per.connection requests in flight per broker. A batch that fails with
// a retriable error (NOT_LEADER_OR_FOLLOWER, a dead connection, ...) is retried after
// retry.backoff.ms with fresh metadata, ahead of the partition's newer batches, until `retries`
// or delivery.timeout.ms runs out; then every record in it gets the error.
// Ordering: a partition's records are sent in send() order; with max.in.flight = 1 that holds
// across retries too, as in Kafka (with more in flight, a retried batch can land after a newer
// one that succeeded: Kafka needs idempotence for that, which Gregor has not got yet).
// Each record's delivery_report comes through its callback (or future) exactly once.
// Thread-safe: any thread may send, flush and close. Callbacks run on the producer's I/O thread.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "client/cluster_metadata.h"
#include "client/config.h"
#include "client/records.h"
#include "common/errc.h"

namespace gregor::client {

class producer {
public:
    // Parses Kafka producer settings (client/config.h) and starts the I/O thread; nothing is
    // sent to the cluster until the first record.
    static result<std::unique_ptr<producer>> create(const properties& props);
    explicit producer(producer_config config);
    // close() with no time limit (every record is bounded by delivery.timeout.ms anyway).
    ~producer();
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;

    // Queues a record. Blocks only while buffer.memory is used up, for at most max.block.ms.
    // A record that cannot be queued (too large, producer closed, no buffer space) gets its
    // report at once, on the calling thread.
    void send(producer_record record, delivery_callback callback);
    std::future<delivery_report> send(producer_record record);

    // Sends everything queued without waiting for linger.ms and waits until every record sent
    // so far is complete (callbacks included). request_timed_out when `timeout` passes first.
    // Must not be called from a delivery callback.
    status flush(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    // Stops accepting records, waits up to `timeout` for the queued ones, fails the rest with
    // network_exception and stops the I/O thread. Idempotent. From a callback it cannot wait:
    // it fails what is queued at once, as Kafka's close does there.
    void close(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    // The partitions of `topic` from the cluster metadata, fetching it if needed (up to
    // max.block.ms), as Kafka's partitionsFor.
    result<std::vector<partition_info>> partitions_for(const std::string& topic);

    const producer_config& config() const noexcept;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace gregor::client
