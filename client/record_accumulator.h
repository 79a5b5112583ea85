// The producer's batching: per partition, a queue of RecordBatch v2 batches (common/
// record_batch.h) being filled or waiting to be sent. A record goes into the partition's last
// batch unless that would take the batch past `batch.size` (a record larger than batch.size gets
// a batch of its own); a batch is ready to send once it is full, once it is `linger.ms` old,
// or at once when the producer flushes. Only the first batch of a partition is ever handed out,
// and a batch put back for a retry returns to the front of its queue and waits out its backoff,
// so a partition's batches leave in the order their records were sent.
// Time is passed in by the caller, which makes the boundaries testable without sleeping.
// Not thread-safe: the producer guards it with its mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/records.h"
#include "common/record_batch.h"
#include "common/topic_partition.h"

namespace gregor::client {

using steady_clock = std::chrono::steady_clock;

// The most bytes a record can add to a batch (its varint fields at their longest), as Kafka's
// DefaultRecord.estimateSizeInBytesUpperBound.
size_t record_size_upper_bound(const std::optional<std::string>& key,
                               const std::optional<std::string>& value,
                               const std::vector<record_header>& headers) noexcept;

// One batch of one partition, open (being filled) until close() encodes it.
struct producer_batch {
    struct entry {
        delivery_callback callback;
        int64_t timestamp = 0;
        size_t reserved_bytes = 0;  // what the record holds of buffer.memory
    };

    topic_partition tp;
    record_batch::batch_builder builder;
    std::vector<std::byte> bytes;   // the encoded batch, once closed
    std::vector<entry> records;
    steady_clock::time_point created;
    steady_clock::time_point retry_at;  // not sent again before this (retry.backoff.ms)
    uint64_t sequence = 0;              // creation order across the accumulator
    int32_t attempts = 0;               // produce requests that carried this batch
    bool full = false;                  // nothing more will be appended

    bool closed() const noexcept { return !bytes.empty(); }
    size_t record_count() const noexcept { return records.size(); }
    size_t size_bytes() const noexcept { return closed() ? bytes.size() : builder.size_bytes(); }
    size_t reserved_bytes() const noexcept;
    // Encodes the batch; appending afterwards is a bug. Idempotent.
    void close();
};

class record_accumulator {
public:
    record_accumulator(size_t batch_size, std::chrono::milliseconds linger);

    struct append_result {
        bool batch_full = false;  // the batch written to (or the one before it) is now full
        bool new_batch = false;   // the record started a new batch
    };
    append_result append(const topic_partition& tp, int64_t timestamp,
                         const std::optional<std::string>& key,
                         const std::optional<std::string>& value,
                         const std::vector<record_header>& headers, delivery_callback callback,
                         size_t reserved_bytes, steady_clock::time_point now);

    // Whether a record of `record_size` bytes appended to `tp` now would start a new batch.
    bool opens_new_batch(const topic_partition& tp, size_t record_size) const;

    // Hands out, per partition, the first batch when it is ready at `now` (or `flush_all`) and
    // `take` accepts it; the batch is closed (encoded) on the way out. `take` is asked once per
    // partition, starting from a different partition each call, and may keep state (request
    // size, in-flight limits).
    std::vector<std::unique_ptr<producer_batch>> drain(
        steady_clock::time_point now, bool flush_all,
        const std::function<bool(const producer_batch&)>& take);

    // Puts a batch that failed retriably back at the front of its partition's queue (before
    // every newer batch, so two retried batches keep their order).
    void reenqueue(std::unique_ptr<producer_batch> batch, steady_clock::time_point retry_at);

    // The earliest time after `now` at which a partition's first batch becomes ready (its
    // linger or retry backoff ends), if any is waiting on time.
    std::optional<steady_clock::time_point> next_ready_time(steady_clock::time_point now,
                                                            bool flush_all) const;
    // The earliest creation time of any queued batch (for delivery.timeout.ms).
    std::optional<steady_clock::time_point> oldest_batch_created() const;

    // Removes and returns every batch created at or before `created_before`.
    std::vector<std::unique_ptr<producer_batch>> expire(steady_clock::time_point created_before);
    // Removes and returns everything (close).
    std::vector<std::unique_ptr<producer_batch>> take_all();

    // Partitions that have queued batches.
    std::vector<topic_partition> partitions() const;
    bool empty() const noexcept { return queues_.empty(); }
    size_t batch_count() const noexcept;

private:
    using queue = std::deque<std::unique_ptr<producer_batch>>;

    bool ready(const producer_batch& b, steady_clock::time_point now, bool flush_all,
               bool has_successor) const;

    size_t batch_size_;
    std::chrono::milliseconds linger_;
    std::map<topic_partition, queue> queues_;  // no empty queues are kept
    uint64_t next_sequence_ = 0;
    size_t drain_rotation_ = 0;
};

}  // namespace gregor::client
