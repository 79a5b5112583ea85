// One real gregor-server on the shared ZooKeeper, driven over its port: topics created with the
// client library's admin API and with raw CreateTopics, batches produced with acks 0/1/-1 and
// fetched back byte for byte, ListOffsets, DescribeConfigs/AlterConfigs, DeleteTopics down to
// the log directories, unknown topics with and without auto-creation, CreateTopics' errors,
// long-polling fetches, and the C++ producer and consumer against the real broker.
#include <algorithm>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/murmur2.h"
#include "client/producer.h"
#include "common/wire.h"
#include "tests/integration/broker_test_support.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::integration {
namespace {

namespace fs = std::filesystem;
using test_support::eventually;
using clock_type = std::chrono::steady_clock;

int16_t code(errc e) { return static_cast<int16_t>(e); }

std::string name_of(int16_t c) { return errc_name(static_cast<errc>(c)); }


class end_to_end : public ::testing::Test {
protected:
    void SetUp() override { broker_ = start_broker({{"auto.create.topics.enable", "false"}}); }

    std::unique_ptr<broker_process> broker_;
};

TEST_F(end_to_end, AdminClientCreatesDescribesListsAndDeletesTopics) {
    auto a = client::admin::create({{"bootstrap.servers", broker_->bootstrap()},
                                    {"default.api.timeout.ms", "20000"},
                                    {"retry.backoff.ms", "50"}});
    ASSERT_TRUE(a) << a.error().message;
    client::new_topic t;
    t.name = "orders";
    t.partitions = 3;
    t.replication_factor = 1;
    t.configs = {{"retention.ms", "3600000"}};
    auto created = (*a)->create_topics({t});
    ASSERT_TRUE(created) << created.error().message;
    ASSERT_EQ(created->size(), 1u);
    EXPECT_TRUE((*created)[0].error.ok()) << (*created)[0].error.message;
    EXPECT_EQ((*created)[0].partitions, 3);

    auto described = (*a)->describe_topics({"orders"});
    ASSERT_TRUE(described) << described.error().message;
    ASSERT_EQ(described->size(), 1u);
    ASSERT_EQ((*described)[0].partitions.size(), 3u);
    for (const auto& p : (*described)[0].partitions) {
        EXPECT_EQ(p.leader, 0);
        EXPECT_EQ(p.replicas, std::vector<int32_t>{0});
        EXPECT_EQ(p.isr, std::vector<int32_t>{0});
    }
    auto listed = (*a)->list_topics();
    ASSERT_TRUE(listed) << listed.error().message;
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].name, "orders");

    auto cluster = (*a)->describe_cluster();
    ASSERT_TRUE(cluster) << cluster.error().message;
    EXPECT_EQ(cluster->controller_id, 0);
    ASSERT_EQ(cluster->brokers.size(), 1u);
    EXPECT_EQ(cluster->brokers[0].port, broker_->port());
    EXPECT_EQ(cluster->brokers[0].host, "127.0.0.1");

    // The overrides given at creation (read from ZooKeeper by the broker that leads the topic).
    std::optional<client::config_entry> retention;
    EXPECT_TRUE(eventually([&] {
        auto configs = (*a)->describe_configs({{client::resource_type::topic, "orders"}},
                                              std::vector<std::string>{"retention.ms"});
        if (!configs || configs->size() != 1 || (*configs)[0].entries.size() != 1) return false;
        retention = (*configs)[0].entries[0];
        return !retention->is_default;
    }));
    ASSERT_TRUE(retention.has_value());
    EXPECT_EQ(retention->value, "3600000");

    auto deleted = (*a)->delete_topics({"orders"});
    ASSERT_TRUE(deleted) << deleted.error().message;
    EXPECT_TRUE((*deleted)[0].error.ok()) << (*deleted)[0].error.message;
    EXPECT_TRUE(eventually([&] {
        auto l = (*a)->list_topics();
        return l && l->empty();
    }));
}

// A CreateTopics answered without error means the partitions are served: the first produce
// must not meet NOT_LEADER_OR_FOLLOWER. (Regression: the controller's LeaderAndIsr and
// UpdateMetadata ran concurrently on the broker's loop, so Metadata could name the leader
// before the partition existed here.)
TEST_F(end_to_end, ProduceRightAfterCreateTopicsSucceeds) {
    raw_connection c(broker_->port());
    for (int i = 0; i < 30; ++i) {
        const std::string topic = "instant-" + std::to_string(i);
        auto t = create_topic(c, topic, 2);
        ASSERT_EQ(t.error_code, 0) << t.error_message;
        for (int32_t p = 0; p < 2; ++p) {
            auto r = produce(c, topic, p, make_batch({"first"}));
            ASSERT_EQ(r.error_code, 0) << topic << "-" << p << ": " << name_of(r.error_code) << ": " << r.error_message;
            EXPECT_EQ(r.base_offset, 0);
        }
    }
}

TEST_F(end_to_end, BatchesProducedWithEachAcksAreFetchedBackByteIdentical) {
    raw_connection c(broker_->port());
    auto t = create_topic(c, "events");
    ASSERT_EQ(t.error_code, 0) << t.error_message;

    const std::vector<bytes> sent = {make_batch({"a1", "a2", "a3"}), make_batch({"b1"}),
                                     make_batch({"c1", "c2"}), make_batch({"d1", "d2", "d3", "d4"})};
    auto r1 = produce(c, "events", 0, sent[0], 1);
    ASSERT_EQ(r1.error_code, 0) << r1.error_message;
    EXPECT_EQ(r1.base_offset, 0);
    auto r2 = produce(c, "events", 0, sent[1], -1);
    ASSERT_EQ(r2.error_code, 0) << r2.error_message;
    EXPECT_EQ(r2.base_offset, 3);
    produce(c, "events", 0, sent[2], 0);  // no response
    // Requests on a connection are served in order, so the acks=0 batch is in before this one.
    auto r4 = produce(c, "events", 0, sent[3], 1);
    ASSERT_EQ(r4.error_code, 0) << r4.error_message;
    EXPECT_EQ(r4.base_offset, 6);

    auto f = fetch(c, "events", 0, 0);
    ASSERT_EQ(f.error_code, 0) << f.error_message;
    EXPECT_EQ(f.high_watermark, 10);
    EXPECT_EQ(f.log_start_offset, 0);
    ASSERT_EQ(f.batches.size(), sent.size());
    const int64_t base_offsets[] = {0, 3, 4, 6};
    for (size_t i = 0; i < sent.size(); ++i) {
        SCOPED_TRACE("batch " + std::to_string(i));
        const auto& got = f.batches[i];
        ASSERT_EQ(got.size(), sent[i].size());
        record_batch::batch_view v(got);
        // The broker assigns baseOffset and partitionLeaderEpoch (both outside the CRC); every
        // other byte is the producer's.
        EXPECT_EQ(v.base_offset(), base_offsets[i]);
        EXPECT_TRUE(v.crc_valid());
        EXPECT_TRUE(std::equal(got.begin() + record_batch::kBatchLengthPos, got.begin() + record_batch::kLeaderEpochPos,
                               sent[i].begin() + record_batch::kBatchLengthPos));
        EXPECT_TRUE(std::equal(got.begin() + record_batch::kMagicPos, got.end(),
                               sent[i].begin() + record_batch::kMagicPos));
    }
    EXPECT_EQ(f.values(), (std::vector<std::string>{"a1", "a2", "a3", "b1", "c1", "c2", "d1", "d2", "d3", "d4"}));
    // From the middle of a batch: the whole batch comes back; the records before are skipped.
    auto mid = fetch(c, "events", 0, 5);
    ASSERT_EQ(mid.error_code, 0);
    ASSERT_FALSE(mid.batches.empty());
    EXPECT_EQ(record_batch::batch_view(mid.batches[0]).base_offset(), 4);
    EXPECT_EQ(mid.values(5), (std::vector<std::string>{"c2", "d1", "d2", "d3", "d4"}));
    // At the log end: nothing; past it: OFFSET_OUT_OF_RANGE.
    auto end = fetch(c, "events", 0, 10);
    EXPECT_EQ(end.error_code, 0);
    EXPECT_TRUE(end.batches.empty());
    EXPECT_EQ(fetch(c, "events", 0, 11).error_code, code(errc::offset_out_of_range));
    EXPECT_EQ(fetch(c, "events", 7, 0).error_code, code(errc::unknown_topic_or_partition));
}

TEST_F(end_to_end, LargeProduceRequestIsReadWholeAndFetchedBackIdentical) {
    raw_connection c(broker_->port());
    ASSERT_EQ(create_topic(c, "large").error_code, 0);
    // ~900 KiB in one frame: far more than one socket read, under message.max.bytes (1 MiB).
    std::vector<std::string> values;
    for (int i = 0; i < 90; ++i) values.push_back(std::string(10000, static_cast<char>('a' + i % 26)));
    const bytes batch = make_batch(values);
    auto r = produce(c, "large", 0, batch);
    ASSERT_EQ(r.error_code, 0) << r.error_message;
    auto f = fetch(c, "large", 0, 0);
    ASSERT_EQ(f.batches.size(), 1u);
    EXPECT_TRUE(std::equal(f.batches[0].begin() + record_batch::kMagicPos, f.batches[0].end(),
                           batch.begin() + record_batch::kMagicPos));
    EXPECT_EQ(f.values(), values);
}

TEST_F(end_to_end, ListOffsetsFindsEarliestLatestAndByTimestamp) {
    raw_connection c(broker_->port());
    ASSERT_EQ(create_topic(c, "clock").error_code, 0);
    const int64_t base = now_ms() - 100000;
    // Offsets 0-2 at base+0..2, 3-5 at base+1000..1002, 6-8 at base+2000..2002.
    for (int i = 0; i < 3; ++i) {
        auto r = produce(c, "clock", 0, make_batch({"x", "y", "z"}, base + 1000 * i));
        ASSERT_EQ(r.error_code, 0) << r.error_message;
    }
    auto earliest = list_offset(c, "clock", 0, native::kEarliestTimestamp);
    EXPECT_EQ(earliest.error_code, 0);
    EXPECT_EQ(earliest.offset, 0);
    auto latest = list_offset(c, "clock", 0, native::kLatestTimestamp);
    EXPECT_EQ(latest.error_code, 0);
    EXPECT_EQ(latest.offset, 9);
    struct probe {
        int64_t ts, offset, found_ts;
    };
    for (const auto& p : {probe{base - 5, 0, base}, probe{base + 1, 1, base + 1}, probe{base + 500, 3, base + 1000},
                          probe{base + 1000, 3, base + 1000}, probe{base + 1001, 4, base + 1001},
                          probe{base + 2002, 8, base + 2002}, probe{base + 2003, -1, -1},
                          probe{base + 99999, -1, -1}}) {
        SCOPED_TRACE("timestamp base+" + std::to_string(p.ts - base));
        auto r = list_offset(c, "clock", 0, p.ts);
        EXPECT_EQ(r.error_code, 0) << r.error_message;
        EXPECT_EQ(r.offset, p.offset);
        EXPECT_EQ(r.timestamp, p.found_ts);
    }
    EXPECT_EQ(list_offset(c, "nope", 0, native::kLatestTimestamp).error_code, code(errc::unknown_topic_or_partition));
}

TEST_F(end_to_end, DescribeConfigsAndAlterConfigsRoundTrip) {
    raw_connection c(broker_->port());
    ASSERT_EQ(create_topic(c, "tuned", 1, 1, {{"retention.ms", "7200000"}}).error_code, 0);

    auto describe = [&](std::optional<std::vector<std::string>> names) {
        native::describe_configs_request req;
        req.resources.push_back({native::kResourceTopic, "tuned", std::move(names)});
        auto r = c.call(native::api_key::describe_configs, req).as<native::describe_configs_response>();
        EXPECT_EQ(r.resources.size(), 1u);
        std::map<std::string, native::describe_configs_response::config> out;
        for (auto& e : r.resources.at(0).configs) out[e.name] = e;
        EXPECT_EQ(r.resources.at(0).error_code, 0) << r.resources.at(0).error_message;
        return out;
    };
    auto alter = [&](std::vector<native::alter_configs_request::config> configs, bool validate_only = false,
                     const std::string& topic = "tuned") {
        native::alter_configs_request req;
        req.resources.push_back({native::kResourceTopic, topic, std::move(configs)});
        req.validate_only = validate_only;
        auto r = c.call(native::api_key::alter_configs, req).as<native::alter_configs_response>();
        EXPECT_EQ(r.resources.size(), 1u);
        return r.resources.at(0);
    };

    // The overrides given at creation show once the broker has read them from ZooKeeper.
    std::map<std::string, native::describe_configs_response::config> all;
    EXPECT_TRUE(eventually([&] {
        all = describe(std::nullopt);
        return all.contains("retention.ms") && !all["retention.ms"].is_default;
    }));
    ASSERT_TRUE(all.contains("retention.ms"));
    EXPECT_EQ(all["retention.ms"].value, "7200000");
    EXPECT_FALSE(all["retention.ms"].is_default);
    ASSERT_TRUE(all.contains("max.message.bytes"));
    EXPECT_TRUE(all["max.message.bytes"].is_default);
    ASSERT_TRUE(all.contains("segment.bytes"));

    auto set = alter({{"retention.ms", native::kConfigSet, "3600000"}, {"max.message.bytes", native::kConfigSet, "2048"}});
    EXPECT_EQ(set.error_code, 0) << set.error_message;
    // The change travels through ZooKeeper's config notifications back to the broker.
    ASSERT_TRUE(eventually([&] {
        auto now = describe(std::vector<std::string>{"retention.ms", "max.message.bytes"});
        return now.size() == 2 && now["retention.ms"].value == "3600000" && now["max.message.bytes"].value == "2048" &&
               !now["max.message.bytes"].is_default;
    }));
    // ... and into the log: a 4 KiB batch is now too large for this topic.
    auto big = produce(c, "tuned", 0, make_batch({std::string(4096, 'x')}));
    EXPECT_EQ(big.error_code, code(errc::message_too_large)) << name_of(big.error_code);

    // Incremental: deleting one key leaves the other.
    EXPECT_EQ(alter({{"retention.ms", native::kConfigDelete, std::nullopt}}).error_code, 0);
    ASSERT_TRUE(eventually([&] { return describe(std::vector<std::string>{"retention.ms"})["retention.ms"].is_default; }));
    EXPECT_EQ(describe(std::vector<std::string>{"max.message.bytes"})["max.message.bytes"].value, "2048");

    // validate_only changes nothing.
    EXPECT_EQ(alter({{"max.message.bytes", native::kConfigSet, "9999"}}, true).error_code, 0);
    // Refusals.
    EXPECT_EQ(alter({{"retention.ms", native::kConfigSet, "abc"}}).error_code, code(errc::invalid_config));
    EXPECT_EQ(alter({{"no.such.config", native::kConfigSet, "1"}}).error_code, code(errc::invalid_config));
    EXPECT_EQ(alter({{"retention.ms", native::kConfigSet, "1"}}, false, "missing").error_code,
              code(errc::unknown_topic_or_partition));
    // An answer to the later request means the refusals and validate_only have had their say.
    auto after = describe(std::vector<std::string>{"max.message.bytes", "retention.ms"});
    EXPECT_EQ(after["max.message.bytes"].value, "2048");
    EXPECT_TRUE(after["retention.ms"].is_default);

    // The broker's own settings, read-only.
    native::describe_configs_request req;
    req.resources.push_back({native::kResourceBroker, "0", std::vector<std::string>{"broker.id"}});
    auto b = c.call(native::api_key::describe_configs, req).as<native::describe_configs_response>();
    ASSERT_EQ(b.resources.size(), 1u);
    EXPECT_EQ(b.resources[0].error_code, 0);
    ASSERT_EQ(b.resources[0].configs.size(), 1u);
    EXPECT_EQ(b.resources[0].configs[0].value, "0");
    EXPECT_TRUE(b.resources[0].configs[0].read_only);
}

TEST_F(end_to_end, DeleteTopicsRemovesTheTopicAndItsLogDirectories) {
    raw_connection c(broker_->port());
    ASSERT_EQ(create_topic(c, "doomed", 2).error_code, 0);
    ASSERT_EQ(create_topic(c, "kept").error_code, 0);
    ASSERT_EQ(produce(c, "doomed", 0, make_batch({"a", "b"})).error_code, 0);
    ASSERT_EQ(produce(c, "doomed", 1, make_batch({"c"})).error_code, 0);
    ASSERT_EQ(produce(c, "kept", 0, make_batch({"k"})).error_code, 0);
    EXPECT_EQ(topic_dirs(broker_->log_dir(), "doomed"), (std::vector<std::string>{"doomed-0", "doomed-1"}));

    auto d = delete_topic(c, "doomed");
    EXPECT_EQ(d.error_code, 0) << d.error_message;
    auto m = metadata(c, std::vector<std::string>{"doomed"});
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].error_code, code(errc::unknown_topic_or_partition));
    EXPECT_EQ(fetch(c, "doomed", 0, 0).error_code, code(errc::unknown_topic_or_partition));
    EXPECT_TRUE(eventually([&] { return topic_dirs(broker_->log_dir(), "doomed").empty(); }))
        << "left: " << ::testing::PrintToString(topic_dirs(broker_->log_dir(), "doomed"));
    EXPECT_EQ(delete_topic(c, "doomed").error_code, code(errc::unknown_topic_or_partition));

    // The other topic is untouched, and the name can be used again, from offset 0.
    EXPECT_EQ(fetch(c, "kept", 0, 0).values(), std::vector<std::string>{"k"});
    ASSERT_EQ(create_topic(c, "doomed").error_code, 0);
    auto again = produce(c, "doomed", 0, make_batch({"new"}));
    EXPECT_EQ(again.error_code, 0) << again.error_message;
    EXPECT_EQ(again.base_offset, 0);
    EXPECT_EQ(fetch(c, "doomed", 0, 0).values(), std::vector<std::string>{"new"});
}

TEST_F(end_to_end, UnknownTopicIsNotCreatedWhenAutoCreationIsOff) {
    raw_connection c(broker_->port());
    auto m = metadata(c, std::vector<std::string>{"ghost"}, /*allow_auto_topic_creation=*/true);
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].error_code, code(errc::unknown_topic_or_partition)) << name_of(m.topics[0].error_code);
    EXPECT_TRUE(m.topics[0].partitions.empty());

    auto p = produce(c, "ghost", 0, make_batch({"boo"}));
    EXPECT_EQ(p.error_code, code(errc::unknown_topic_or_partition)) << name_of(p.error_code);

    // Still absent a while later: nothing was created behind the errors.
    auto all = metadata(c, std::nullopt);
    EXPECT_TRUE(all.topics.empty());
    auto again = metadata(c, std::vector<std::string>{"ghost"}, true);
    EXPECT_EQ(again.topics.at(0).error_code, code(errc::unknown_topic_or_partition));
    EXPECT_TRUE(topic_dirs(broker_->log_dir(), "ghost").empty());
}

TEST(auto_create, MetadataForAnUnknownTopicCreatesIt) {
    auto broker = start_broker({{"auto.create.topics.enable", "true"}, {"num.partitions", "2"}});
    raw_connection c(broker->port());
    // Not asked to create: not created.
    auto plain = metadata(c, std::vector<std::string>{"fresh"}, false);
    EXPECT_EQ(plain.topics.at(0).error_code, code(errc::unknown_topic_or_partition));

    auto first = metadata(c, std::vector<std::string>{"fresh"}, true);
    ASSERT_EQ(first.topics.size(), 1u);
    EXPECT_EQ(first.topics[0].error_code, code(errc::leader_not_available)) << name_of(first.topics[0].error_code);
    native::metadata_response::topic ready;
    ASSERT_TRUE(eventually([&] {
        auto m = metadata(c, std::vector<std::string>{"fresh"}, false);
        ready = m.topics.at(0);
        return ready.error_code == 0 && ready.partitions.size() == 2 &&
               std::all_of(ready.partitions.begin(), ready.partitions.end(),
                           [](const auto& p) { return p.error_code == 0 && p.leader == 0; });
    })) << name_of(ready.error_code);
    auto r = produce(c, "fresh", 1, make_batch({"hello"}));
    EXPECT_EQ(r.error_code, 0) << r.error_message;
    EXPECT_EQ(fetch(c, "fresh", 1, 0).values(), std::vector<std::string>{"hello"});
    // An illegal name is refused, never created.
    auto bad = metadata(c, std::vector<std::string>{"bad name!"}, true);
    EXPECT_EQ(bad.topics.at(0).error_code, code(errc::invalid_topic_exception));
}

TEST(auto_create, ProduceToAMissingTopicCreatesIt) {
    auto broker = start_broker({{"auto.create.topics.enable", "true"}});
    raw_connection c(broker->port());
    auto first = produce(c, "born", 0, make_batch({"v0"}));
    // Kafka's answer while the topic is being made: retriable, nothing appended.
    EXPECT_TRUE(first.error_code == code(errc::unknown_topic_or_partition) ||
                first.error_code == code(errc::leader_not_available))
        << name_of(first.error_code);
    native::produce_response::partition r;
    ASSERT_TRUE(eventually([&] {
        r = produce(c, "born", 0, make_batch({"v1"}));
        return r.error_code == 0;
    })) << name_of(r.error_code);
    EXPECT_EQ(r.base_offset, 0);
    EXPECT_EQ(fetch(c, "born", 0, 0).values(), std::vector<std::string>{"v1"});
}

TEST_F(end_to_end, CreateTopicsRefusesWhatItCannotCreate) {
    raw_connection c(broker_->port());
    ASSERT_EQ(create_topic(c, "taken").error_code, 0);
    auto dup = create_topic(c, "taken");
    EXPECT_EQ(dup.error_code, code(errc::topic_already_exists)) << dup.error_message;

    for (const std::string& bad : {std::string(""), std::string("."), std::string(".."), std::string("has space"),
                                  std::string("slash/y"), std::string("star*"), std::string(250, 'n')}) {
        SCOPED_TRACE("name '" + bad + "'");
        auto r = create_topic(c, bad);
        EXPECT_EQ(r.error_code, code(errc::invalid_topic_exception)) << name_of(r.error_code) << ": " << r.error_message;
    }
    auto longest = create_topic(c, std::string(249, 'o'));
    EXPECT_EQ(longest.error_code, 0) << longest.error_message;

    auto rf = create_topic(c, "wide", 1, 2);
    EXPECT_EQ(rf.error_code, code(errc::invalid_replication_factor)) << name_of(rf.error_code) << ": " << rf.error_message;
    auto parts = create_topic(c, "empty", 0);
    EXPECT_EQ(parts.error_code, code(errc::invalid_partitions)) << name_of(parts.error_code);
    auto unknown = create_topic(c, "odd", 1, 1, {{"no.such.config", "1"}});
    EXPECT_EQ(unknown.error_code, code(errc::invalid_config)) << name_of(unknown.error_code);
    auto invalid = create_topic(c, "odd", 1, 1, {{"retention.ms", "soon"}});
    EXPECT_EQ(invalid.error_code, code(errc::invalid_config)) << name_of(invalid.error_code);
    auto too_small = create_topic(c, "odd", 1, 1, {{"segment.bytes", "1"}});
    EXPECT_EQ(too_small.error_code, code(errc::invalid_config)) << name_of(too_small.error_code);

    // Nothing refused was created.
    auto all = metadata(c, std::nullopt);
    std::set<std::string> names;
    for (const auto& t : all.topics) names.insert(t.name);
    EXPECT_EQ(names, (std::set<std::string>{"taken", std::string(249, 'o')}));
}

TEST_F(end_to_end, LongPollingFetchReturnsAsSoonAsAnotherConnectionProduces) {
    raw_connection consumer(broker_->port());
    raw_connection producer(broker_->port());
    ASSERT_EQ(create_topic(producer, "waiting").error_code, 0);

    native::fetch_request req;
    req.max_wait_ms = 5000;
    req.min_bytes = 1;
    req.topics.push_back({"waiting", {{0, -1, 0, 1048576}}});
    const auto sent_at = clock_type::now();
    const int32_t id = consumer.send_request(native::api_key::fetch, req);
    // The fetch is parked: no answer while nothing is there.
    EXPECT_FALSE(consumer.read_reply(300ms).has_value());

    const auto produced_at = clock_type::now();
    ASSERT_EQ(produce(producer, "waiting", 0, make_batch({"wake", "up"})).error_code, 0);
    auto reply = consumer.read_reply(6s);
    const auto answered_at = clock_type::now();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->correlation_id, id);
    auto r = reply->as<native::fetch_response>();
    ASSERT_EQ(r.topics.size(), 1u);
    const auto& p = r.topics[0].partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.high_watermark, 2);
    auto records = record_batch::decode_records(p.records);
    ASSERT_TRUE(records);
    ASSERT_EQ(records->size(), 2u);
    EXPECT_EQ((*records)[0].value, "wake");
    EXPECT_LT(answered_at - produced_at, 2000ms) << "the fetch waited on after data arrived";
    EXPECT_LT(answered_at - sent_at, 4000ms);
}

TEST_F(end_to_end, LongPollingFetchReturnsEmptyAfterMaxWait) {
    raw_connection c(broker_->port());
    ASSERT_EQ(create_topic(c, "quiet").error_code, 0);
    ASSERT_EQ(produce(c, "quiet", 0, make_batch({"old"})).error_code, 0);
    const auto start = clock_type::now();
    auto f = fetch(c, "quiet", 0, 1, /*max_wait_ms=*/1500, /*min_bytes=*/1, 10s);
    const auto took = clock_type::now() - start;
    EXPECT_EQ(f.error_code, 0);
    EXPECT_TRUE(f.batches.empty());
    EXPECT_EQ(f.high_watermark, 1);
    EXPECT_GE(took, 1400ms);
    EXPECT_LT(took, 4500ms);
    // max_wait 0 answers at once.
    const auto again = clock_type::now();
    EXPECT_TRUE(fetch(c, "quiet", 0, 1, 0).batches.empty());
    EXPECT_LT(clock_type::now() - again, 1000ms);
}

TEST_F(end_to_end, ClientProducerAndConsumerRoundTrip) {
    raw_connection c(broker_->port());
    ASSERT_EQ(create_topic(c, "round", 3).error_code, 0);

    auto p = client::producer::create({{"bootstrap.servers", broker_->bootstrap()},
                                       {"acks", "all"},
                                       {"linger.ms", "5"},
                                       {"delivery.timeout.ms", "30000"},
                                       {"request.timeout.ms", "10000"}});
    ASSERT_TRUE(p) << p.error().message;
    std::vector<std::future<client::delivery_report>> reports;
    for (int i = 0; i < 60; ++i) {
        client::producer_record r;
        r.topic = "round";
        r.key = "key-" + std::to_string(i % 7);
        r.value = "value-" + std::to_string(i);
        reports.push_back((*p)->send(std::move(r)));
    }
    ASSERT_TRUE((*p)->flush(30s).ok());
    std::map<int32_t, int64_t> next_offset;
    for (int i = 0; i < 60; ++i) {
        auto rep = reports[i].get();
        ASSERT_TRUE(rep.error.ok()) << rep.error.message;
        // Keyed records go where a Kafka client would put them, in order.
        EXPECT_EQ(rep.partition, client::partition_for_key("key-" + std::to_string(i % 7), 3));
        EXPECT_EQ(rep.offset, next_offset[rep.partition]++);
    }
    (*p)->close();

    auto consumer = client::consumer::create({{"bootstrap.servers", broker_->bootstrap()},
                                              {"auto.offset.reset", "earliest"},
                                              {"fetch.max.wait.ms", "200"}});
    ASSERT_TRUE(consumer) << consumer.error().message;
    (*consumer)->assign({{"round", 0}, {"round", 1}, {"round", 2}});
    std::set<std::string> values;
    const auto deadline = clock_type::now() + 30s;
    while (values.size() < 60 && clock_type::now() < deadline) {
        auto polled = (*consumer)->poll(500ms);
        ASSERT_TRUE(polled) << polled.error().message;
        for (const auto& r : *polled) {
            EXPECT_EQ(r.partition, client::partition_for_key(*r.key, 3));
            values.insert(*r.value);
        }
    }
    EXPECT_EQ(values.size(), 60u);
    auto ends = (*consumer)->end_offsets({{"round", 0}, {"round", 1}, {"round", 2}});
    ASSERT_TRUE(ends) << ends.error().message;
    int64_t total = 0;
    for (const auto& [tp, off] : *ends) total += off;
    EXPECT_EQ(total, 60);
    (*consumer)->close();
}

}  // namespace
}  // namespace gregor::integration
