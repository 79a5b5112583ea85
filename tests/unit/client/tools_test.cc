// The client tools (admin-cli/gregor-*) run as a user runs them, against the in-process fake
// cluster: their flags, their exact output lines (Kafka's formats) and their exit statuses.
// The tests in tests/cli/ do the same against real brokers.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/local_host.h"
#include "tests/unit/client/fake_cluster.h"

namespace gregor::test {
namespace {

namespace fs = std::filesystem;

using test_support::run_command;
using test_support::run_result;
using test_support::slurp;

class client_tools : public ::testing::Test {
protected:
    fake_cluster cluster{2};
    fs::path dir;

    void SetUp() override {
        std::string tmpl = (fs::path(::testing::TempDir()) / "gregor_tools_XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }

    // Runs admin-cli/<tool> with `args` (shell words, already quoted where needed), `input` on
    // stdin; bounded by `timeout` (seconds) through timeout(1).
    run_result run(const std::string& tool, const std::string& args, const std::string& input = "",
                   int timeout = 60) {
        return run_command("'" + std::string(GREGOR_TOOL_DIR) + "/" + tool + "' " + args, dir, input,
                           timeout);
    }
    std::string bs() const { return "--bootstrap-server " + cluster.bootstrap(); }
};

TEST_F(client_tools, TopicsCreateListDescribeDelete) {
    auto r = run("gregor-topics", bs() + " --create --topic orders --partitions 3 "
                                         "--replication-factor 1 --config retention.ms=1000");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "Created topic orders.\n");

    r = run("gregor-topics", bs() + " --create --topic orders");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "Error while executing topic command : Topic 'orders' already exists.\n");

    r = run("gregor-topics", bs() + " --create --topic orders --if-not-exists");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");

    cluster.create_topic("audit", 2, {1, 2});
    r = run("gregor-topics", bs() + " --list");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "audit\norders\n");

    r = run("gregor-topics", bs() + " --describe --topic orders");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The fake gives created topics leader 1 (its default partition_log).
    EXPECT_EQ(r.out,
              "Topic: orders\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=1000\n"
              "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n"
              "\tTopic: orders\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\n"
              "\tTopic: orders\tPartition: 2\tLeader: 1\tReplicas: 1\tIsr: 1\n");

    r = run("gregor-topics", bs() + " --delete --topic orders");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    r = run("gregor-topics", bs() + " --list");
    EXPECT_EQ(r.out, "audit\n");

    r = run("gregor-topics", bs() + " --delete --topic orders");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "Error while executing topic command : Topic 'orders' does not exist as expected\n");
    r = run("gregor-topics", bs() + " --delete --topic orders --if-exists");
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(client_tools, TopicsDescribeEveryTopicAndReportOptions) {
    cluster.create_topic("a", 2, {1, -1});
    cluster.create_topic("b", 1, {2});
    auto r = run("gregor-topics", bs() + " --describe");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "Topic: a\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: \n"
              "\tTopic: a\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n"
              "\tTopic: a\tPartition: 1\tLeader: none\tReplicas: 1\tIsr: \n"
              "Topic: b\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: \n"
              "\tTopic: b\tPartition: 0\tLeader: 2\tReplicas: 2\tIsr: 2\n");
    r = run("gregor-topics", bs() + " --describe --unavailable-partitions");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "\tTopic: a\tPartition: 1\tLeader: none\tReplicas: 1\tIsr: \n");
    r = run("gregor-topics", bs() + " --describe --under-replicated-partitions");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "\tTopic: a\tPartition: 1\tLeader: none\tReplicas: 1\tIsr: \n");
    // --topic is a regular expression.
    r = run("gregor-topics", bs() + " --describe --topic 'b|c'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines().size(), 2u);
    r = run("gregor-topics", bs() + " --describe --topic nope");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "Error while executing topic command : Topic 'nope' does not exist as expected\n");
}

TEST_F(client_tools, TopicsDescribeLeaderThatIsNotALiveBrokerAsNoneAndUnavailable) {
    cluster.create_topic("a", 2, {1, 2});
    cluster.kill(2);
    cluster.forget_broker(2);  // its partition state still names it, as before the controller acts
    const std::string via_1 = "--bootstrap-server " + cluster.address(1);
    auto r = run("gregor-topics", via_1 + " --describe --topic a");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "Topic: a\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: \n"
              "\tTopic: a\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n"
              "\tTopic: a\tPartition: 1\tLeader: none\tReplicas: 2\tIsr: 2\n");
    r = run("gregor-topics", via_1 + " --describe --unavailable-partitions");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "\tTopic: a\tPartition: 1\tLeader: none\tReplicas: 2\tIsr: 2\n");
}

TEST_F(client_tools, TopicsDescribeMinIsrFiltersReadTheTopicsMinInsyncReplicas) {
    for (const auto* create : {"--topic m --partitions 2 --config min.insync.replicas=1",
                               "--topic n --partitions 1 --config min.insync.replicas=2"}) {
        auto c = run("gregor-topics", bs() + " --create " + create);
        ASSERT_EQ(c.exit_code, 0) << c.err;
    }
    cluster.set_leader({"m", 1}, -1);
    auto r = run("gregor-topics", bs() + " --describe --at-min-isr-partitions");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "\tTopic: m\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n");
    // Under the minimum: a partition without a leader, or with fewer in-sync replicas.
    r = run("gregor-topics", bs() + " --describe --under-min-isr-partitions");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "\tTopic: m\tPartition: 1\tLeader: none\tReplicas: 1\tIsr: \n"
              "\tTopic: n\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n");
}

TEST_F(client_tools, TopicsPartitionFiltersExcludeEachOther) {
    const std::pair<const char*, const char*> pairs[] = {
        {"--under-replicated-partitions", "--unavailable-partitions"},
        {"--under-min-isr-partitions", "--at-min-isr-partitions"},
        {"--unavailable-partitions", "--topics-with-overrides"},
        {"--at-min-isr-partitions", "--unavailable-partitions"},
    };
    const std::string expected[] = {
        "Option \"[under-replicated-partitions]\" can't be used with option "
        "\"[unavailable-partitions]\"",
        "Option \"[under-min-isr-partitions]\" can't be used with option \"[at-min-isr-partitions]\"",
        "Option \"[unavailable-partitions]\" can't be used with option \"[topics-with-overrides]\"",
        "Option \"[at-min-isr-partitions]\" can't be used with option \"[unavailable-partitions]\"",
    };
    for (size_t i = 0; i < std::size(pairs); ++i) {
        auto r = run("gregor-topics", bs() + " --describe " + pairs[i].first + " " + pairs[i].second);
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(r.err, "Error while executing topic command : " + expected[i] + "\n");
    }
    auto r = run("gregor-topics", bs() + " --list --under-min-isr-partitions");
    EXPECT_EQ(r.err, "Error while executing topic command : Option \"[under-min-isr-partitions]\" "
                     "can't be used with option \"[list]\"\n");
}

TEST_F(client_tools, ClusterPrintsBrokersAndMarksTheController) {
    fake_cluster three(3);
    three.set_controller(2);
    auto r = run("gregor-cluster", "--bootstrap-server " + three.address(3));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Addresses are padded to the longest (ports may differ in width).
    size_t width = 0;
    for (int32_t n = 1; n <= 3; ++n) width = std::max(width, three.address(n).size());
    auto addr = [&](int32_t n) {
        return three.address(n) + std::string(width - three.address(n).size(), ' ');
    };
    EXPECT_EQ(r.out, "Controller: 2\nBrokers:\n"
                     "  1  " + addr(1) + "  rack: -\n"
                     "  2  " + addr(2) + "  rack: -  (controller)\n"
                     "  3  " + addr(3) + "  rack: -\n");
    EXPECT_EQ(r.err, "");

    three.set_controller(-1);
    r = run("gregor-cluster", "--bootstrap-server " + three.address(1));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines().at(0), "Controller: none");
    EXPECT_EQ(r.out.find("(controller)"), std::string::npos) << r.out;
}

TEST_F(client_tools, ClusterFailsWithOneLineWhenNoServerAnswers) {
    {
        std::ofstream f(dir / "admin.properties");
        f << "default.api.timeout.ms=1500\n";
    }
    const std::string unreachable = "127.0.0.1:" + std::to_string(test_support::free_port());
    const auto start = std::chrono::steady_clock::now();
    auto r = run("gregor-cluster", "--bootstrap-server " + unreachable + " --command-config '" +
                                       (dir / "admin.properties").string() + "'",
                 "", 30);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("Error: no cluster metadata from " + unreachable + ": ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

    r = run("gregor-cluster", "");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "Error: Missing required argument \"[bootstrap-server]\"\n");
}

TEST_F(client_tools, TopicsArgumentErrorsAreOneLine) {
    auto r = run("gregor-topics", bs() + " --list --create --topic x");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "Error while executing topic command : Command must include exactly one action: "
                     "--list, --describe, --create, --alter or --delete\n");
    r = run("gregor-topics", "--list");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "Error while executing topic command : --bootstrap-server must be specified\n");
    r = run("gregor-topics", bs() + " --create --topic x --partitions 0");
    EXPECT_EQ(r.err, "Error while executing topic command : The partitions must be greater than 0\n");
    r = run("gregor-topics", bs() + " --list --config a=b");
    EXPECT_EQ(r.err, "Error while executing topic command : Option \"[config]\" can't be used with "
                     "option \"[list]\"\n");
    r = run("gregor-topics", bs() + " --create --topic x --config nokey");
    EXPECT_NE(r.err.find("all configs to be added must be in the format \"key=val\""), std::string::npos);
    cluster.create_topic("x", 1);
    r = run("gregor-topics", bs() + " --alter --topic x --partitions 4");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run("gregor-topics", bs() + " --describe --topic x");
    EXPECT_NE(r.out.find("PartitionCount: 4"), std::string::npos) << r.out;
    r = run("gregor-topics", bs() + " --alter --topic x --partitions 2");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("can only grow"), std::string::npos) << r.err;
    r = run("gregor-topics", "--help");
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--bootstrap-server"), std::string::npos);
}

TEST_F(client_tools, ConsoleProducerSendsEachLineThenConsoleConsumerPrintsThem) {
    cluster.create_topic("t", 1);
    auto r = run("gregor-console-producer", bs() + " --topic t", "one\ntwo\nthree\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto stored = cluster.records({"t", 0});
    ASSERT_EQ(stored.size(), 3u);
    EXPECT_EQ(stored[2].value, "three");
    EXPECT_FALSE(stored[0].key);

    r = run("gregor-console-consumer", bs() + " --topic t --from-beginning --max-messages 3");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "one\ntwo\nthree\n");
    EXPECT_EQ(r.err, "Processed a total of 3 messages\n");
}

TEST_F(client_tools, ConsoleProducerParsesKeysAndHeaders) {
    cluster.create_topic("t", 1);
    auto r = run("gregor-console-producer",
                 bs() + " --topic t --property parse.key=true --property key.separator=: "
                        "--property parse.headers=true --property 'headers.delimiter=|' "
                        "--producer-property acks=all",
                 "h1:a,h2:b|k1:v1\nh3:c|k2:v:2\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto stored = cluster.records({"t", 0});
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[0].key, "k1");
    EXPECT_EQ(stored[0].value, "v1");
    ASSERT_EQ(stored[0].headers.size(), 2u);
    EXPECT_EQ(stored[0].headers[1].key, "h2");
    EXPECT_EQ(stored[0].headers[1].value, "b");
    EXPECT_EQ(stored[1].value, "v:2");
}

TEST_F(client_tools, ConsoleProducerFailsOnALineWithoutItsKeySeparator) {
    cluster.create_topic("t", 1);
    auto r = run("gregor-console-producer",
                 bs() + " --topic t --property parse.key=true --property key.separator=:",
                 "k:v\nno separator\n");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("No key separator found on line number 2: 'no separator'"), std::string::npos)
        << r.err;
    EXPECT_EQ(cluster.records({"t", 0}).size(), 1u);  // what came before is still sent
}

TEST_F(client_tools, ConsoleProducerExitsNonZeroWhenRecordsAreNotAcknowledged) {
    auto r = run("gregor-console-producer",
                 bs() + " --topic missing --producer-property max.block.ms=300", "a\n");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("Topic missing not present in metadata after 300 ms."), std::string::npos)
        << r.err;
}

TEST_F(client_tools, ConsoleConsumerPrintsFieldsInKafkasOrder) {
    cluster.create_topic("t", 2);
    cluster.append({"t", 1}, make_batch(0, 2, true, 1700000000000));
    auto r = run("gregor-console-consumer",
                 bs() + " --topic t --partition 1 --offset earliest --max-messages 2"
                        " --property print.timestamp=true --property print.partition=true"
                        " --property print.offset=true --property print.headers=true"
                        " --property print.key=true --property key.separator=' | '");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "CreateTime:1700000000000 | Partition:1 | Offset:0 | h:x0 | k0 | v0\n"
              "CreateTime:1700000000001 | Partition:1 | Offset:1 | h:x1 | k1 | v1\n");
    EXPECT_EQ(r.err, "Processed a total of 2 messages\n");
}

TEST_F(client_tools, ConsoleConsumerFromAnOffsetAndTimeout) {
    cluster.create_topic("t", 1);
    cluster.append({"t", 0}, make_batch(0, 5));
    auto r = run("gregor-console-consumer",
                 bs() + " --topic t --partition 0 --offset 3 --timeout-ms 500");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "v3\nv4\n");
    EXPECT_NE(r.err.find("TimeoutException"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Processed a total of 2 messages\n"), std::string::npos);
    // Without --from-beginning: only what arrives later (nothing here).
    r = run("gregor-console-consumer", bs() + " --topic t --timeout-ms 300");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("Processed a total of 0 messages"), std::string::npos);
}

TEST_F(client_tools, ConsoleConsumerArgumentErrors) {
    auto r = run("gregor-console-consumer", bs() + " --topic t --offset 3");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "The partition is required when offset is specified.\n");
    r = run("gregor-console-consumer", bs() + " --topic t --partition 0 --offset -5");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "The provided offset value '-5' is incorrect. Valid values are 'earliest', "
                     "'latest', or a non-negative long.\n");
    r = run("gregor-console-consumer", bs());
    EXPECT_EQ(r.err, "Exactly one of --include/--topic is required. \n");
}

TEST_F(client_tools, ProducerPerfTestPrintsKafkasFinalLine) {
    cluster.create_topic("perf", 2, {1, 2});
    auto r = run("gregor-producer-perf-test",
                 "--topic perf --num-records 2000 --record-size 100 --throughput -1 "
                 "--producer-props bootstrap.servers=" + cluster.bootstrap() + " acks=1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::regex final_line(
        R"(2000 records sent, [0-9.]+ records/sec \([0-9.]+ MB/sec\), [0-9.]+ ms avg latency, )"
        R"([0-9.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.)");
    auto lines = r.lines();
    ASSERT_FALSE(lines.empty());
    EXPECT_TRUE(std::regex_match(lines.back(), final_line)) << lines.back();
    EXPECT_EQ(cluster.log_end({"perf", 0}) + cluster.log_end({"perf", 1}), 2000);
    auto stored = cluster.records({"perf", 0});
    ASSERT_FALSE(stored.empty());
    EXPECT_TRUE(std::regex_match(*stored[0].value, std::regex("[A-Z]{100}")));
}

TEST_F(client_tools, ConsumerPerfTestPrintsHeaderAndFigures) {
    cluster.create_topic("perf", 2, {1, 2});
    cluster.append({"perf", 0}, make_batch(0, 30));
    cluster.append({"perf", 1}, make_batch(0, 20));
    auto r = run("gregor-consumer-perf-test", bs() + " --topic perf --messages 50 --timeout 5000");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = r.lines();
    ASSERT_EQ(lines.size(), 2u) << r.out;
    EXPECT_EQ(lines[0], "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, "
                        "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
    const std::regex figures(
        R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, [0-9.]+, )"
        R"([0-9.inf]+, 50, [0-9.inf]+, \d+, \d+, [0-9.inf]+, [0-9.inf]+)");
    EXPECT_TRUE(std::regex_match(lines[1], figures)) << lines[1];
}

TEST_F(client_tools, VerifiableProducerPrintsJsonPerRecord) {
    cluster.create_topic("t", 2, {1, 2});
    auto r = run("gregor-verifiable-producer", bs() + " --topic t --max-messages 5 --acks -1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = r.lines();
    ASSERT_EQ(lines.size(), 8u) << r.out;
    auto first = nlohmann::json::parse(lines[0]);
    EXPECT_EQ(first["name"], "startup_complete");
    std::set<std::string> values;
    for (size_t i = 1; i <= 5; ++i) {
        auto j = nlohmann::json::parse(lines[i]);
        EXPECT_EQ(j["name"], "producer_send_success") << lines[i];
        EXPECT_EQ(j["topic"], "t");
        EXPECT_TRUE(j["key"].is_null());
        EXPECT_TRUE(j["timestamp"].is_number());
        EXPECT_GE(j["offset"].get<int64_t>(), 0);
        values.insert(j["value"].get<std::string>());
    }
    EXPECT_EQ(values, (std::set<std::string>{"0", "1", "2", "3", "4"}));
    EXPECT_EQ(nlohmann::json::parse(lines[6])["name"], "shutdown_complete");
    auto data = nlohmann::json::parse(lines[7]);
    EXPECT_EQ(data["name"], "tool_data");
    EXPECT_EQ(data["sent"], 5);
    EXPECT_EQ(data["acked"], 5);
    EXPECT_EQ(data["target_throughput"], -1);
}

TEST_F(client_tools, VerifiableProducerReportsSendErrors) {
    cluster.create_topic("t", 1, {-1});  // no leader
    auto r = run("gregor-verifiable-producer",
                 bs() + " --topic t --max-messages 1 --acks 1 --producer.config " +
                     (dir / "p.properties").string(),
                 "");
    // The config file is missing: refused before anything is sent.
    EXPECT_EQ(r.exit_code, 1);
    {
        std::ofstream f(dir / "p.properties");
        f << "# short timeouts\ndelivery.timeout.ms=600\nrequest.timeout.ms=500\nlinger.ms=0\n";
    }
    r = run("gregor-verifiable-producer",
            bs() + " --topic t --max-messages 1 --acks 1 --producer.config " + (dir / "p.properties").string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = r.lines();
    ASSERT_EQ(lines.size(), 4u) << r.out;
    auto j = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(j["name"], "producer_send_error");
    EXPECT_EQ(j["exception"], "class org.apache.kafka.common.errors.TimeoutException");
    EXPECT_EQ(j["value"], "0");
    EXPECT_EQ(nlohmann::json::parse(lines[3])["acked"], 0);
}

}  // namespace
}  // namespace gregor::test
