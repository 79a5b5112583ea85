// Helpers for the broker integration tests: a broker for one test on the shared ZooKeeper (in
// its own chroot), and the native-protocol calls the tests make over a raw_connection, each
// returning the decoded per-partition (or per-topic) result with owned bytes. Every call is
// bounded; failures to get an answer throw std::runtime_error, which gtest reports.
// Main test thread only (a raw_connection is single-threaded).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/record_batch.h"
#include "protocol/native/messages.h"
#include "tests/support/broker_process.h"
#include "tests/support/raw_connection.h"

namespace gregor::integration {

using namespace std::chrono_literals;
using test_support::broker_process;
using test_support::raw_connection;
using bytes = std::vector<std::byte>;

int64_t now_ms();

// A broker on the shared ZooKeeper, in a chroot of its own (unless `zookeeper_connect` is
// given), ready once registered. `properties` go into its server.properties.
std::unique_ptr<broker_process> start_broker(std::map<std::string, std::string> properties = {},
                                             int32_t broker_id = 0, std::string zookeeper_connect = {});

// An uncompressed RecordBatch v2 of `values` (null keys), the i-th record at `timestamp + i`.
bytes make_batch(const std::vector<std::string>& values, int64_t timestamp = now_ms());

native::create_topics_response::topic create_topic(raw_connection& c, const std::string& name,
                                                   int32_t partitions = 1, int16_t replication_factor = 1,
                                                   std::map<std::string, std::string> configs = {},
                                                   int32_t timeout_ms = 15000);
native::delete_topics_response::topic delete_topic(raw_connection& c, const std::string& name,
                                                   int32_t timeout_ms = 15000);

// Produces `records` (one or more whole batches) to one partition. With acks = 0 no response
// comes: the result is empty and has error_code 0.
native::produce_response::partition produce(raw_connection& c, const std::string& topic, int32_t partition,
                                            bytes records, int16_t acks = 1);

struct fetched {
    int16_t error_code = 0;
    std::string error_message;
    int64_t high_watermark = -1;
    int64_t log_start_offset = -1;
    std::vector<bytes> batches;  // whole batches, exactly as the broker sent them
    // The records of every batch with offset >= `from`.
    std::vector<record_batch::record> records(int64_t from = 0) const;
    std::vector<std::string> values(int64_t from = 0) const;
};
fetched fetch(raw_connection& c, const std::string& topic, int32_t partition, int64_t offset,
              int32_t max_wait_ms = 0, int32_t min_bytes = 1, std::chrono::milliseconds timeout = 15s);

// Waits until the broker serves fetches of the partition (after a start, its partitions are
// led only once the controller's LeaderAndIsr has arrived); throws after `timeout`.
void await_served(raw_connection& c, const std::string& topic, int32_t partition,
                  std::chrono::milliseconds timeout = 30s);

native::list_offsets_response::partition list_offset(raw_connection& c, const std::string& topic,
                                                     int32_t partition, int64_t timestamp);

native::metadata_response metadata(raw_connection& c, std::optional<std::vector<std::string>> topics,
                                   bool allow_auto_topic_creation = false);

// The log directories of `topic` (and of its deletions in progress) under `log_dir`, sorted.
std::vector<std::string> topic_dirs(const std::filesystem::path& log_dir, const std::string& topic);

}  // namespace gregor::integration
