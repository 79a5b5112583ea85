// The znode layout and JSON of ZK-mode Kafka: paths, encoders against Kafka's field names and
// versions, decoders against JSON as Kafka writes it, tolerance of unknown fields, and
// malformed content reported as a value.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

#include "coordination/zk_paths.h"

namespace gregor::coordination {
namespace {

using nlohmann::json;
namespace zp = zk_paths;

TEST(ZkPaths, LayoutIsKafkas) {
    EXPECT_EQ(zp::controller_path(), "/controller");
    EXPECT_EQ(zp::controller_epoch_path(), "/controller_epoch");
    EXPECT_EQ(zp::broker_path(3), "/brokers/ids/3");
    EXPECT_EQ(zp::topic_path("orders"), "/brokers/topics/orders");
    EXPECT_EQ(zp::partition_state_path("orders", 7), "/brokers/topics/orders/partitions/7/state");
    EXPECT_EQ(zp::topic_config_path("orders"), "/config/topics/orders");
    EXPECT_EQ(zp::config_change_path_prefix(), "/config/changes/config_change_");
    EXPECT_EQ(zp::delete_topic_path("orders"), "/admin/delete_topics/orders");
    EXPECT_EQ(zp::isr_change_path_prefix(), "/isr_change_notification/isr_change_");
    EXPECT_EQ(zp::reassign_partitions_path(), "/admin/reassign_partitions");
    EXPECT_EQ(zp::cluster_id_path(), "/cluster/id");
}

TEST(ZkPaths, PersistentPathsListParentsFirst) {
    const auto paths = zp::persistent_paths();
    for (size_t i = 0; i < paths.size(); ++i) {
        const auto parent = paths[i].substr(0, paths[i].rfind('/'));
        if (parent.empty()) continue;
        const auto it = std::find(paths.begin(), paths.end(), parent);
        ASSERT_NE(it, paths.end()) << paths[i];
        EXPECT_LT(it - paths.begin(), static_cast<long>(i)) << paths[i];
    }
}

broker_info sample_broker() {
    broker_info b;
    b.id = 2;
    b.host = "10.0.0.2";
    b.port = 9092;
    b.rack = "rack-a";
    b.endpoints = {{"PLAINTEXT", "PLAINTEXT", "10.0.0.2", 9092}, {"INTERNAL", "PLAINTEXT", "broker-2", 19092}};
    return b;
}

TEST(BrokerZnode, EncodesVersion5AsKafka) {
    const auto j = json::parse(zp::encode_broker(sample_broker(), 1700000000123));
    EXPECT_EQ(j["version"], 5);
    EXPECT_EQ(j["host"], "10.0.0.2");
    EXPECT_EQ(j["port"], 9092);
    EXPECT_EQ(j["jmx_port"], -1);
    EXPECT_EQ(j["timestamp"], "1700000000123");  // a string, as Kafka writes it
    EXPECT_EQ(j["endpoints"], json::parse(R"(["PLAINTEXT://10.0.0.2:9092","INTERNAL://broker-2:19092"])"));
    EXPECT_EQ(j["listener_security_protocol_map"],
              json::parse(R"({"PLAINTEXT":"PLAINTEXT","INTERNAL":"PLAINTEXT"})"));
    EXPECT_EQ(j["rack"], "rack-a");
    EXPECT_EQ(j["features"], json::object());
}

TEST(BrokerZnode, RackIsOmittedWhenUnset) {
    auto b = sample_broker();
    b.rack.reset();
    const auto j = json::parse(zp::encode_broker(b, 1));
    EXPECT_FALSE(j.contains("rack"));
    auto back = zp::decode_broker(2, zp::encode_broker(b, 1));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_FALSE(back->rack.has_value());
}

TEST(BrokerZnode, RoundTrips) {
    auto back = zp::decode_broker(2, zp::encode_broker(sample_broker(), 5));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, sample_broker());
}

TEST(BrokerZnode, DecodesWhatKafkaWrites) {
    const std::string kafka =
        R"({"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","SSL":"SSL"},)"
        R"("endpoints":["PLAINTEXT://kafka-1:9092","SSL://kafka-1:9093"],"jmx_port":9999,)"
        R"("host":"kafka-1","timestamp":"1636461021134","port":9092,"version":5})";
    auto b = zp::decode_broker(1, kafka);
    ASSERT_TRUE(b.ok()) << b.status().message();
    EXPECT_EQ(b->id, 1);
    EXPECT_EQ(b->host, "kafka-1");
    EXPECT_EQ(b->port, 9092);
    ASSERT_EQ(b->endpoints.size(), 2u);
    EXPECT_EQ(b->endpoints[1], (endpoint{"SSL", "SSL", "kafka-1", 9093}));
}

TEST(BrokerZnode, Version1HasOnlyHostAndPort) {
    auto b = zp::decode_broker(4, R"({"version":1,"host":"old","port":9092,"jmx_port":-1,"timestamp":"1"})");
    ASSERT_TRUE(b.ok()) << b.status().message();
    ASSERT_EQ(b->endpoints.size(), 1u);
    EXPECT_EQ(b->endpoints[0], (endpoint{"PLAINTEXT", "PLAINTEXT", "old", 9092}));
}

TEST(BrokerZnode, UnknownFieldsAreIgnored) {
    auto b = zp::decode_broker(
        1, R"({"version":9,"host":"h","port":1,"endpoints":["PLAINTEXT://h:1"],"shiny":{"new":[1]}})");
    ASSERT_TRUE(b.ok()) << b.status().message();
    EXPECT_EQ(b->endpoints.size(), 1u);
}

TEST(BrokerZnode, MalformedIsAnErrorValue) {
    for (const char* bad : {"", "not json", "[1,2]", R"({"endpoints":"PLAINTEXT://h:1"})",
                            R"({"endpoints":["h:1"]})", R"({"endpoints":["PLAINTEXT://h:notaport"]})",
                            R"({"endpoints":[7]})", R"({"version":1})", R"({"endpoints":["PLAINTEXT://h:1")"}) {
        auto b = zp::decode_broker(1, bad);
        EXPECT_EQ(b.code(), zk_errc::malformed_data) << bad;
    }
}

TEST(Endpoint, Ipv6HostsAreBracketed) {
    const endpoint e{"PLAINTEXT", "PLAINTEXT", "::1", 9092};
    EXPECT_EQ(zp::endpoint_string(e), "PLAINTEXT://[::1]:9092");
    auto back = zp::parse_endpoint("PLAINTEXT://[::1]:9092");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, e);
}

TEST(ControllerZnode, EncodesVersion2WithBrokerId) {
    const auto j = json::parse(zp::encode_controller(3, 42));
    EXPECT_EQ(j["version"], 2);
    EXPECT_EQ(j["brokerid"], 3);
    EXPECT_EQ(j["timestamp"], "42");
    EXPECT_EQ(j["kraftControllerEpoch"], -1);
    auto id = zp::decode_controller(zp::encode_controller(3, 42));
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*id, 3);
}

TEST(ControllerZnode, DecodesKafkaVersion1) {
    auto id = zp::decode_controller(R"({"version":1,"brokerid":0,"timestamp":"1636461021401"})");
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*id, 0);
    EXPECT_EQ(zp::decode_controller(R"({"version":1,"brokerid":"0"})").code(), zk_errc::malformed_data);
    EXPECT_EQ(zp::decode_controller(R"({"version":1,"brokerid":4294967296})").code(),
              zk_errc::malformed_data);
}

TEST(ControllerEpochZnode, IsAPlainInteger) {
    EXPECT_EQ(zp::encode_controller_epoch(17), "17");
    auto e = zp::decode_controller_epoch("17");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(*e, 17);
    for (const char* bad : {"", "x", "1x", "+1", " 1", "99999999999"}) {
        EXPECT_EQ(zp::decode_controller_epoch(bad).code(), zk_errc::malformed_data) << bad;
    }
}

TEST(TopicZnode, EncodesVersion3WithTopicId) {
    topic_assignment a;
    a.topic_id = "S8QQvC0zQ-GvXxnI1sVNfw";
    a.partitions = {{0, {1, 2, 3}}, {1, {2, 3, 1}}, {10, {3, 1, 2}}};
    const std::string text = zp::encode_topic_assignment(a);
    const auto j = json::parse(text);
    EXPECT_EQ(j["version"], 3);
    EXPECT_EQ(j["partitions"], json::parse(R"({"0":[1,2,3],"1":[2,3,1],"10":[3,1,2]})"));
    EXPECT_EQ(j["adding_replicas"], json::object());
    EXPECT_EQ(j["removing_replicas"], json::object());
    EXPECT_EQ(j["topic_id"], "S8QQvC0zQ-GvXxnI1sVNfw");
    auto back = zp::decode_topic_assignment(text);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, a);
}

TEST(TopicZnode, DecodesOlderVersionsWithoutTopicId) {
    auto a = zp::decode_topic_assignment(R"({"version":1,"partitions":{"1":[0],"0":[2]}})");
    ASSERT_TRUE(a.ok()) << a.status().message();
    EXPECT_TRUE(a->topic_id.empty());
    EXPECT_EQ(a->partitions, (std::map<int32_t, std::vector<int32_t>>{{0, {2}}, {1, {0}}}));
}

TEST(TopicZnode, MalformedIsAnErrorValue) {
    for (const char* bad : {R"({"version":3})", R"({"partitions":{"a":[1]}})", R"({"partitions":{"-1":[1]}})",
                            R"({"partitions":{"0":["1"]}})", R"({"partitions":[]})",
                            R"({"partitions":{"0":[1]},"topic_id":5})"}) {
        EXPECT_EQ(zp::decode_topic_assignment(bad).code(), zk_errc::malformed_data) << bad;
    }
}

TEST(PartitionStateZnode, EncodesAsKafka) {
    partition_state s{.leader = 2, .leader_epoch = 5, .isr = {2, 3}, .controller_epoch = 4, .zk_version = 9};
    const auto j = json::parse(zp::encode_partition_state(s));
    EXPECT_EQ(j, json::parse(R"({"controller_epoch":4,"leader":2,"version":1,"leader_epoch":5,"isr":[2,3]})"));
    EXPECT_FALSE(j.contains("zk_version"));
    auto back = zp::decode_partition_state(zp::encode_partition_state(s), 9);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
}

TEST(PartitionStateZnode, OfflineLeaderIsMinusOne) {
    auto s = zp::decode_partition_state(R"({"controller_epoch":1,"leader":-1,"version":1,"leader_epoch":3,"isr":[1]})", 4);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->leader, kNoLeader);
    EXPECT_EQ(s->zk_version, 4);
}

TEST(PartitionStateZnode, MalformedIsAnErrorValue) {
    for (const char* bad : {R"({"leader":1,"leader_epoch":0,"controller_epoch":1})",
                            R"({"leader":"1","leader_epoch":0,"controller_epoch":1,"isr":[1]})",
                            R"({"leader":1,"leader_epoch":0,"controller_epoch":1,"isr":1})", "null"}) {
        EXPECT_EQ(zp::decode_partition_state(bad, 0).code(), zk_errc::malformed_data) << bad;
    }
}

TEST(TopicConfigZnode, EncodesVersion1) {
    const topic_config c{{"cleanup.policy", "delete"}, {"retention.ms", "1000"}};
    EXPECT_EQ(json::parse(zp::encode_topic_config(c)),
              json::parse(R"({"version":1,"config":{"cleanup.policy":"delete","retention.ms":"1000"}})"));
    auto back = zp::decode_topic_config(zp::encode_topic_config(c));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c);
    EXPECT_EQ(json::parse(zp::encode_topic_config({})), json::parse(R"({"version":1,"config":{}})"));
}

TEST(TopicConfigZnode, NumbersWrittenByHandAreReadAsText) {
    auto c = zp::decode_topic_config(R"({"version":1,"config":{"retention.ms":1000,"x":true}})");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->at("retention.ms"), "1000");
    EXPECT_EQ(c->at("x"), "true");
    EXPECT_EQ(zp::decode_topic_config(R"({"version":1,"config":{"a":{"b":1}}})").code(),
              zk_errc::malformed_data);
    EXPECT_EQ(zp::decode_topic_config(R"({"version":1})").code(), zk_errc::malformed_data);
}

TEST(ConfigChangeZnode, NamesTheEntityPath) {
    EXPECT_EQ(json::parse(zp::encode_config_change("orders")),
              json::parse(R"({"version":2,"entity_path":"topics/orders"})"));
    auto v2 = zp::decode_config_change(zp::encode_config_change("orders"));
    ASSERT_TRUE(v2.ok());
    EXPECT_EQ(*v2, "topics/orders");
    auto v1 = zp::decode_config_change(R"({"version":1,"entity_type":"topics","entity_name":"orders"})");
    ASSERT_TRUE(v1.ok());
    EXPECT_EQ(*v1, "topics/orders");
}

TEST(IsrChangeZnode, ListsPartitions) {
    const std::vector<topic_partition> parts{{"a", 0}, {"b", 3}};
    EXPECT_EQ(json::parse(zp::encode_isr_change(parts)),
              json::parse(R"({"version":1,"partitions":[{"topic":"a","partition":0},{"topic":"b","partition":3}]})"));
    auto back = zp::decode_isr_change(zp::encode_isr_change(parts));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, parts);
    EXPECT_EQ(zp::decode_isr_change(R"({"version":1,"partitions":[{"topic":"a"}]})").code(),
              zk_errc::malformed_data);
}

TEST(ReassignmentZnode, IsKafkasVersion1List) {
    const partition_reassignments r{{{"a", 0}, {3, 1, 2}}, {{"b", 2}, {4}}};
    EXPECT_EQ(json::parse(zp::encode_reassignment(r)),
              json::parse(R"({"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[3,1,2]},)"
                          R"({"topic":"b","partition":2,"replicas":[4]}]})"));
    auto back = zp::decode_reassignment(zp::encode_reassignment(r));
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ(back->at(0), (std::pair<topic_partition, std::vector<int32_t>>{{"a", 0}, {3, 1, 2}}));
    EXPECT_EQ(back->at(1), (std::pair<topic_partition, std::vector<int32_t>>{{"b", 2}, {4}}));
}

TEST(ReassignmentZnode, KeepsDuplicatesAndIgnoresLogDirs) {
    // As kafka-reassign-partitions.sh writes it, a partition listed twice by mistake.
    auto r = zp::decode_reassignment(
        R"({"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},)"
        R"({"topic":"a","partition":0,"replicas":[2]}]})");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ(r->at(0).second, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(r->at(1).second, (std::vector<int32_t>{2}));
}

TEST(ReassignmentZnode, MalformedEntriesAreReportedAsValues) {
    for (const char* bad : {R"({"version":1})", R"({"version":1,"partitions":[{"topic":"a","partition":0}]})",
                            R"({"version":1,"partitions":[{"topic":"a","partition":0,"replicas":["1"]}]})",
                            R"({"version":1,"partitions":[7]})", "not json"}) {
        EXPECT_EQ(zp::decode_reassignment(bad).code(), zk_errc::malformed_data) << bad;
    }
}

TEST(ClusterIdZnode, RoundTrips) {
    EXPECT_EQ(json::parse(zp::encode_cluster_id("abc")), json::parse(R"({"version":"1","id":"abc"})"));
    auto id = zp::decode_cluster_id(zp::encode_cluster_id("abc"));
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*id, "abc");
}

TEST(Uuid, IsKafkasUrlSafeBase64Form) {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string id = zp::new_uuid();
        ASSERT_EQ(id.size(), 22u);
        EXPECT_NE(id.front(), '-');
        for (const char c : id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 200u);
}

TEST(ZkStatus, MessageNamesTheCode) {
    const zk_status s(zk_errc::bad_version, "set /x");
    EXPECT_EQ(s.message(), "bad_version: set /x");
    EXPECT_TRUE(zk_status().message().empty());
}

}  // namespace
}  // namespace gregor::coordination
