// A cluster of fake brokers for the client tests, built on the native protocol codec: each
// broker listens on 127.0.0.1 (an ephemeral port) and answers ApiVersions, Metadata, Produce,
// Fetch (with long polling), ListOffsets, CreateTopics, DeleteTopics, DescribeConfigs and
// AlterConfigs from one shared in-memory state, with a thread per connection and blocking
// sockets. Produce and Fetch go to a partition's leader only (others answer
// NOT_LEADER_OR_FOLLOWER). A hook sees every request first and may close the connection, stall
// it (never answer again), or answer in its place, which is how the tests make failures.
// Thread-safe; every wait has a deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/record_batch.h"
#include "common/topic_partition.h"
#include "protocol/native/messages.h"

namespace gregor::test {

struct hook_action {
    enum class kind { pass, close, stall, reply };
    kind what = kind::pass;
    std::vector<std::byte> frame;  // kind::reply: a whole response frame (length included)

    static hook_action pass() { return {}; }
    static hook_action close() { return {kind::close, {}}; }
    static hook_action stall() { return {kind::stall, {}}; }
    static hook_action reply(std::vector<std::byte> f) { return {kind::reply, std::move(f)}; }
};

// (node id, request header, request body) -> what to do.
using request_hook = std::function<hook_action(int32_t, const native::request_header&,
                                               std::span<std::byte>)>;

class fake_cluster {
public:
    // Brokers with node ids 1..n.
    explicit fake_cluster(int brokers = 1);
    ~fake_cluster();
    fake_cluster(const fake_cluster&) = delete;
    fake_cluster& operator=(const fake_cluster&) = delete;

    // "127.0.0.1:p1,127.0.0.1:p2,..."; `node` alone: that broker's address.
    std::string bootstrap() const;
    std::string address(int32_t node) const;
    uint16_t port(int32_t node) const;

    // A topic whose partition p is led by leaders[p % leaders.size()] (default: node 1).
    void create_topic(const std::string& name, int32_t partitions,
                      std::vector<int32_t> leaders = {1});
    void set_leader(const topic_partition& tp, int32_t node);
    void set_controller(int32_t node);
    // Appends a batch as a producer would (offsets assigned); returns its base offset.
    int64_t append(const topic_partition& tp, std::vector<std::byte> batch);
    // Every record stored in a partition, decoded.
    std::vector<record_batch::record> records(const topic_partition& tp) const;
    int64_t log_end(const topic_partition& tp) const;
    // Flips a byte inside the stored batch that holds `offset` (its CRC then fails).
    void corrupt(const topic_partition& tp, int64_t offset);
    std::map<std::string, std::string> topic_configs(const std::string& topic) const;

    void set_hook(request_hook hook);
    // Stops a broker: closes its listener (connects are refused) and its connections.
    void kill(int32_t node);
    // Drops metadata of a killed broker too (as ZooKeeper would once its session expired).
    void forget_broker(int32_t node);

    // Requests of `key` seen by the cluster (all brokers), and waiting for a count.
    int request_count(native::api_key key) const;
    bool wait_for_requests(native::api_key key, int count, std::chrono::milliseconds timeout) const;
    // The acks and partition set of every Produce request received, in order.
    struct produce_seen {
        int32_t node = 0;
        int16_t acks = 0;
        std::vector<topic_partition> partitions;
        std::vector<int32_t> record_counts;
    };
    std::vector<produce_seen> produces() const;

private:
    struct broker;
    struct partition_log {
        int32_t leader = 1;
        std::vector<std::vector<std::byte>> batches;  // offsets assigned
        int64_t end = 0;
    };
    struct topic_state {
        std::vector<partition_log> partitions;
        std::map<std::string, std::string> configs;
    };

    void serve(broker& b, int fd);
    std::optional<std::vector<std::byte>> handle(int32_t node, const native::request_header& h,
                                                 std::span<std::byte> body);

    template <typename Resp>
    static std::vector<std::byte> ok(int32_t id, const Resp& r) {
        return native::encode_response(id, status{}, r);
    }

    std::vector<std::unique_ptr<broker>> brokers_;
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;  // any request or append
    std::map<std::string, topic_state> topics_;
    std::map<int32_t, bool> listed_;  // brokers in metadata
    int32_t controller_ = 1;
    request_hook hook_;
    std::map<int16_t, int> counts_;
    std::vector<produce_seen> produces_;
    std::atomic<bool> stopping_{false};
};

// Builds a batch of `n` records "v<first>".."v<first+n-1>" (keys "k<i>" when `keyed`).
std::vector<std::byte> make_batch(int first, int n, bool keyed = false, int64_t timestamp = 1000);

}  // namespace gregor::test
