// The records a user hands to the producer and gets back from the consumer, and the
// producer's per-record delivery result. Plain values: safe to copy and move between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/errc.h"
#include "common/record_batch.h"

namespace gregor::client {

using record_header = record_batch::record_header;

struct producer_record {
    std::string topic;
    std::optional<int32_t> partition;  // unset: chosen by the partitioner
    std::optional<std::string> key;    // unset: a null key (round-robin / sticky)
    std::optional<std::string> value;  // unset: a null value (a tombstone)
    std::optional<int64_t> timestamp;  // CreateTime in ms since the epoch; unset: now
    std::vector<record_header> headers;
};

// What became of one record. On success `partition` and `offset` say where it was written
// (offset -1 with acks=0, as in Kafka); `timestamp` is its CreateTime, or the broker's
// LogAppendTime when the topic uses it. On failure `error` says why; `partition` is -1 when the
// record never got as far as a partition.
struct delivery_report {
    std::string topic;
    int32_t partition = -1;
    int64_t offset = -1;
    int64_t timestamp = -1;
    status error;
};

// Runs on the producer's I/O thread, in per-partition send order: keep it short and never
// block in it (in particular, do not call producer::flush or close from it).
using delivery_callback = std::function<void(const delivery_report&)>;

enum class timestamp_type { create_time, log_append_time };

struct consumer_record {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
    int64_t timestamp = -1;
    timestamp_type ts_type = timestamp_type::create_time;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<record_header> headers;
};

}  // namespace gregor::client
