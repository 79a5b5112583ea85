#include "tests/integration/broker_test_support.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "common/clock.h"
#include "tests/support/shared_zookeeper.h"

namespace gregor::integration {

int64_t now_ms() {
    return wall_clock_ms();
}

std::unique_ptr<broker_process> start_broker(std::map<std::string, std::string> properties, int32_t broker_id,
                                             std::string zookeeper_connect) {
    test_support::broker_options o;
    o.broker_id = broker_id;
    o.zookeeper_connect =
        zookeeper_connect.empty() ? test_support::shared_zookeeper::isolated_connect() : zookeeper_connect;
    o.properties = std::move(properties);
    return std::make_unique<broker_process>(std::move(o));
}

bytes make_batch(const std::vector<std::string>& values, int64_t timestamp) {
    record_batch::batch_builder b;
    for (size_t i = 0; i < values.size(); ++i) {
        b.add(timestamp + static_cast<int64_t>(i), std::nullopt, values[i]);
    }
    return b.build();
}

native::create_topics_response::topic create_topic(raw_connection& c, const std::string& name, int32_t partitions,
                                                   int16_t replication_factor,
                                                   std::map<std::string, std::string> configs, int32_t timeout_ms) {
    native::create_topics_request req;
    native::create_topics_request::topic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = replication_factor;
    for (auto& [k, v] : configs) t.configs.push_back({k, v});
    req.topics.push_back(std::move(t));
    req.timeout_ms = timeout_ms;
    auto r = c.call(native::api_key::create_topics, req, std::chrono::milliseconds(timeout_ms) + 10s)
                 .as<native::create_topics_response>();
    if (r.topics.size() != 1) throw std::runtime_error("CreateTopics answered " + std::to_string(r.topics.size()) + " topics");
    return r.topics[0];
}

native::delete_topics_response::topic delete_topic(raw_connection& c, const std::string& name, int32_t timeout_ms) {
    native::delete_topics_request req;
    req.names = {name};
    req.timeout_ms = timeout_ms;
    auto r = c.call(native::api_key::delete_topics, req, std::chrono::milliseconds(timeout_ms) + 10s)
                 .as<native::delete_topics_response>();
    if (r.topics.size() != 1) throw std::runtime_error("DeleteTopics answered " + std::to_string(r.topics.size()) + " topics");
    return r.topics[0];
}

native::produce_response::partition produce(raw_connection& c, const std::string& topic, int32_t partition,
                                            bytes records, int16_t acks) {
    native::produce_request req;
    req.acks = acks;
    req.timeout_ms = 10000;
    req.topics.push_back({topic, {{partition, -1, std::span<std::byte>(records)}}});
    if (acks == 0) {
        c.send_request(native::api_key::produce, req);
        return {};
    }
    auto r = c.call(native::api_key::produce, req, 20s).as<native::produce_response>();
    if (r.topics.size() != 1 || r.topics[0].partitions.size() != 1) {
        throw std::runtime_error("Produce answered an unexpected shape");
    }
    return r.topics[0].partitions[0];
}

std::vector<record_batch::record> fetched::records(int64_t from) const {
    std::vector<record_batch::record> out;
    for (const auto& b : batches) {
        auto rs = record_batch::decode_records(b);
        if (!rs) throw std::runtime_error("fetched batch does not decode: " + rs.error().message);
        for (auto& r : *rs) {
            if (r.offset >= from) out.push_back(std::move(r));
        }
    }
    return out;
}

std::vector<std::string> fetched::values(int64_t from) const {
    std::vector<std::string> out;
    for (auto& r : records(from)) out.push_back(r.value.value_or("<null>"));
    return out;
}

fetched fetch(raw_connection& c, const std::string& topic, int32_t partition, int64_t offset, int32_t max_wait_ms,
              int32_t min_bytes, std::chrono::milliseconds timeout) {
    native::fetch_request req;
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = min_bytes;
    req.topics.push_back({topic, {{partition, -1, offset, 1048576}}});
    auto reply = c.call(native::api_key::fetch, req, timeout);
    auto r = reply.as<native::fetch_response>();
    if (r.topics.size() != 1 || r.topics[0].partitions.size() != 1) {
        throw std::runtime_error("Fetch answered an unexpected shape");
    }
    const auto& p = r.topics[0].partitions[0];
    fetched f;
    f.error_code = p.error_code;
    f.error_message = p.error_message;
    f.high_watermark = p.high_watermark;
    f.log_start_offset = p.log_start_offset;
    std::span<const std::byte> rest = p.records;
    while (!rest.empty()) {
        const auto fr = record_batch::next_frame(rest);
        if (fr.what != record_batch::frame::kind::batch) {
            // A partial batch at the end of a size-limited fetch is allowed; nothing else is.
            if (fr.what == record_batch::frame::kind::incomplete) break;
            throw std::runtime_error("fetched records hold a corrupt batch header");
        }
        f.batches.emplace_back(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(fr.size));
        rest = rest.subspan(fr.size);
    }
    return f;
}

void await_served(raw_connection& c, const std::string& topic, int32_t partition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto f = fetch(c, topic, partition, 0, 0);
        if (f.error_code == 0 || f.error_code == static_cast<int16_t>(errc::offset_out_of_range)) return;
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error(topic + "-" + std::to_string(partition) + " not served within " +
                                     std::to_string(timeout.count()) + " ms: " + f.error_message);
        }
        std::this_thread::sleep_for(20ms);
    }
}

native::list_offsets_response::partition list_offset(raw_connection& c, const std::string& topic, int32_t partition,
                                                     int64_t timestamp) {
    native::list_offsets_request req;
    req.topics.push_back({topic, {{partition, timestamp}}});
    auto r = c.call(native::api_key::list_offsets, req).as<native::list_offsets_response>();
    if (r.topics.size() != 1 || r.topics[0].partitions.size() != 1) {
        throw std::runtime_error("ListOffsets answered an unexpected shape");
    }
    return r.topics[0].partitions[0];
}

native::metadata_response metadata(raw_connection& c, std::optional<std::vector<std::string>> topics,
                                   bool allow_auto_topic_creation) {
    native::metadata_request req;
    req.topics = std::move(topics);
    req.allow_auto_topic_creation = allow_auto_topic_creation;
    return c.call(native::api_key::metadata, req).as<native::metadata_response>();
}

std::vector<std::string> topic_dirs(const std::filesystem::path& log_dir, const std::string& topic) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(log_dir, ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind(topic + "-", 0) == 0) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace gregor::integration
