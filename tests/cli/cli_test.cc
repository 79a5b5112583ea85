// The user's path from Kafka's quickstart, through the bin/ scripts, against a real ZooKeeper
// and a real gregor-server: start both with bin/zookeeper-server-start.sh and
// bin/gregor-server-start.sh (-daemon, on free ports, PID files and logs in a temp directory),
// create a topic, write lines with the console producer, read them back with the console
// consumer, describe and delete, run the perf and verifiable tools; stop both with the stop
// scripts (which stop only what their PID files name). Every command is bounded by timeout(1)
// and every wait by a deadline.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/local_host.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using gregor::test_support::free_port;
using gregor::test_support::run_command;
using gregor::test_support::run_result;
using gregor::test_support::slurp;

class cli : public ::testing::Test {
protected:
    static inline fs::path dir;
    static inline uint16_t zk_port = 0, broker_port = 0;
    static inline bool cluster_up = false;
    static inline std::string setup_error;

    // Runs `command` (a shell line, from the repository root) with the run/log/build
    // directories of this test, `input` on stdin, bounded by `timeout` seconds.
    static run_result sh(const std::string& command, const std::string& input = "", int timeout = 120) {
        return run_command("cd '" + std::string(GREGOR_SOURCE_DIR) + "' && GREGOR_BUILD_DIR='" +
                               GREGOR_BUILD_DIR + "' GREGOR_RUN_DIR='" + (dir / "run").string() +
                               "' GREGOR_LOG_DIR='" + (dir / "logs").string() + "' " + command,
                           dir, input, timeout);
    }

    static std::string bs() { return "--bootstrap-server 127.0.0.1:" + std::to_string(broker_port); }

    static void SetUpTestSuite() {
        std::string tmpl = (fs::path(::testing::TempDir()) / "gregor_cli_XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            setup_error = "mkdtemp failed";
            return;
        }
        dir = tmpl;
        zk_port = free_port();
        broker_port = free_port();
        {
            std::ofstream zk(dir / "zookeeper.properties");
            zk << "dataDir=" << (dir / "zk").string() << "\nclientPort=" << zk_port
               << "\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n"
                  "4lw.commands.whitelist=ruok,srvr,stat\ntickTime=500\n";
            std::ofstream b(dir / "server.properties");
            b << "broker.id=1\nlisteners=PLAINTEXT://127.0.0.1:" << broker_port
              << "\nlog.dirs=" << (dir / "data").string() << "\nzookeeper.connect=127.0.0.1:"
              << zk_port << "\nnum.partitions=1\ndefault.replication.factor=1\n"
                            "auto.create.topics.enable=false\nzookeeper.session.timeout.ms=6000\n";
        }
        auto zk = sh("bin/zookeeper-server-start.sh -daemon '" + (dir / "zookeeper.properties").string() + "'");
        if (zk.exit_code != 0) {
            setup_error = "zookeeper-server-start.sh failed: " + zk.err;
            return;
        }
        auto broker = sh("bin/gregor-server-start.sh -daemon '" + (dir / "server.properties").string() + "'");
        if (broker.exit_code != 0) {
            setup_error = "gregor-server-start.sh failed: " + broker.err;
            return;
        }
        // Up once the broker answers Metadata naming itself as the controller (then it can
        // create topics). The JVM and the broker start in a few seconds; allow 60.
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline) {
            auto r = sh("bin/gregor-topics.sh " + bs() + " --list", "", 10);
            if (r.exit_code == 0) {
                cluster_up = true;
                return;
            }
            // Nothing to wait on across processes but the broker's port: poll it.
            std::this_thread::sleep_for(200ms);
        }
        setup_error = "the broker did not answer within 60 s; its log:\n" +
                      slurp(dir / "logs" / "gregor-server-server.out");
    }

    static void TearDownTestSuite() {
        sh("bin/gregor-server-stop.sh", "", 90);
        sh("bin/zookeeper-server-stop.sh", "", 60);
        if (std::getenv("GREGOR_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir);
    }

    void SetUp() override { ASSERT_TRUE(cluster_up) << setup_error; }

    static void create(const std::string& topic, int partitions) {
        auto r = sh("bin/gregor-topics.sh " + bs() + " --create --topic " + topic + " --partitions " +
                    std::to_string(partitions) + " --replication-factor 1");
        ASSERT_EQ(r.exit_code, 0) << r.err;
        ASSERT_EQ(r.out, "Created topic " + topic + ".\n");
    }
};

TEST_F(cli, QuickstartCreateProduceConsume) {
    create("test-events", 1);
    auto d = sh("bin/gregor-topics.sh " + bs() + " --describe --topic test-events");
    ASSERT_EQ(d.exit_code, 0) << d.err;
    auto lines = d.lines();
    ASSERT_EQ(lines.size(), 2u) << d.out;
    EXPECT_TRUE(std::regex_match(lines[0], std::regex("Topic: test-events\t(TopicId: \\S+\t)?"
                                                      "PartitionCount: 1\tReplicationFactor: 1\tConfigs: .*")))
        << lines[0];
    EXPECT_EQ(lines[1], "\tTopic: test-events\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1");

    auto p = sh("bin/gregor-console-producer.sh " + bs() + " --topic test-events",
                "This is my first event\nThis is my second event\n");
    ASSERT_EQ(p.exit_code, 0) << p.err;
    auto c = sh("bin/gregor-console-consumer.sh " + bs() +
                " --topic test-events --from-beginning --max-messages 2");
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_EQ(c.out, "This is my first event\nThis is my second event\n");
    EXPECT_EQ(c.err, "Processed a total of 2 messages\n");
}

TEST_F(cli, KeyedRecordsWithPrintProperties) {
    create("keyed", 3);
    auto p = sh("bin/gregor-console-producer.sh " + bs() +
                    " --topic keyed --property parse.key=true --property key.separator=: "
                    "--producer-property acks=all",
                "a:1\nb:2\na:3\n");
    ASSERT_EQ(p.exit_code, 0) << p.err;
    auto c = sh("bin/gregor-console-consumer.sh " + bs() +
                " --topic keyed --from-beginning --max-messages 3 --property print.key=true"
                " --property print.partition=true --property print.offset=true");
    ASSERT_EQ(c.exit_code, 0) << c.err;
    // Both "a" records share a partition (murmur2 of the key), in order.
    std::string a_partition;
    std::vector<std::string> a_values;
    const std::regex line("Partition:(\\d)\tOffset:(\\d+)\t(\\w)\t(\\d)");
    for (const auto& l : c.lines()) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(l, m, line)) << l;
        if (m[3] == "a") {
            if (a_partition.empty()) a_partition = m[1];
            EXPECT_EQ(m[1], a_partition);
            a_values.push_back(m[4]);
        }
    }
    EXPECT_EQ(a_values, (std::vector<std::string>{"1", "3"}));
}

TEST_F(cli, TopicCommandErrorsAndIdempotentFlags) {
    create("dup", 1);
    auto again = sh("bin/gregor-topics.sh " + bs() + " --create --topic dup");
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_EQ(again.lines().size(), 0u);
    EXPECT_NE(again.err.find("Error while executing topic command : "), std::string::npos) << again.err;
    EXPECT_EQ(std::count(again.err.begin(), again.err.end(), '\n'), 1);
    EXPECT_EQ(sh("bin/gregor-topics.sh " + bs() + " --create --topic dup --if-not-exists").exit_code, 0);
    EXPECT_EQ(sh("bin/gregor-topics.sh " + bs() + " --delete --topic dup").exit_code, 0);
    EXPECT_EQ(sh("bin/gregor-topics.sh " + bs() + " --delete --topic dup").exit_code, 1);
    EXPECT_EQ(sh("bin/gregor-topics.sh " + bs() + " --delete --topic dup --if-exists").exit_code, 0);
    auto missing = sh("bin/gregor-console-producer.sh " + bs() +
                          " --topic never-created --producer-property max.block.ms=1000",
                      "x\n");
    EXPECT_NE(missing.exit_code, 0);
}

TEST_F(cli, PerfToolsPrintKafkasLines) {
    create("perf", 2);
    auto p = sh("bin/gregor-producer-perf-test.sh --topic perf --num-records 20000 --record-size 100 "
                "--throughput -1 --producer-props bootstrap.servers=127.0.0.1:" +
                std::to_string(broker_port));
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_TRUE(std::regex_match(
        p.lines().back(),
        std::regex(R"(20000 records sent, [0-9.]+ records/sec \([0-9.]+ MB/sec\), [0-9.]+ ms avg )"
                   R"(latency, [0-9.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.)")))
        << p.out;
    auto c = sh("bin/gregor-consumer-perf-test.sh " + bs() + " --topic perf --messages 20000");
    ASSERT_EQ(c.exit_code, 0) << c.err;
    auto lines = c.lines();
    ASSERT_EQ(lines.size(), 2u) << c.out;
    EXPECT_NE(lines[1].find(", 20000, "), std::string::npos) << lines[1];
}

TEST_F(cli, VerifiableProducerAcknowledgesEveryValue) {
    create("verify", 2);
    auto r = sh("bin/gregor-verifiable-producer.sh " + bs() + " --topic verify --max-messages 50 --acks -1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    int successes = 0;
    for (const auto& l : r.lines()) {
        auto j = nlohmann::json::parse(l);
        if (j["name"] == "producer_send_success") ++successes;
        if (j["name"] == "tool_data") {
            EXPECT_EQ(j["acked"], 50);
        }
    }
    EXPECT_EQ(successes, 50);
}

TEST_F(cli, VerifiableConsumerReportsEveryRecordItReads) {
    create("verify-consume", 2);
    auto p = sh("bin/gregor-verifiable-producer.sh " + bs() + " --topic verify-consume --max-messages 30 --acks -1");
    ASSERT_EQ(p.exit_code, 0) << p.err;
    std::map<std::string, std::pair<int, int64_t>> acked;  // value -> (partition, offset)
    for (const auto& l : p.lines()) {
        auto j = nlohmann::json::parse(l);
        if (j["name"] == "producer_send_success") acked[j["value"]] = {j["partition"], j["offset"]};
    }
    ASSERT_EQ(acked.size(), 30u) << p.out;

    auto c = sh("bin/gregor-verifiable-consumer.sh " + bs() +
                " --topic verify-consume --max-messages 30 --verbose --group-id ignored");
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_NE(c.err.find("WARN --group-id ignored: Gregor has no consumer groups yet"), std::string::npos) << c.err;
    const auto lines = c.lines();
    ASSERT_GE(lines.size(), 4u) << c.out;
    EXPECT_EQ(nlohmann::json::parse(lines.front())["name"], "startup_complete");
    EXPECT_EQ(nlohmann::json::parse(lines.back())["name"], "shutdown_complete");
    // Kafka's RecordData field order.
    const std::regex record_line(
        R"(\{"timestamp":\d+,"name":"record_data","key":null,"value":"\d+","topic":"verify-consume","partition":[01],"offset":\d+\})");
    std::map<std::string, std::pair<int, int64_t>> read;
    std::map<int, int64_t> summarized;  // partition -> records in records_consumed lines
    std::map<int, int64_t> next_offset;
    int64_t summary_total = 0;
    int assigned = 0;
    for (const auto& l : lines) {
        auto j = nlohmann::json::parse(l);
        if (j["name"] == "partitions_assigned") {
            assigned = static_cast<int>(j["partitions"].size());
        } else if (j["name"] == "record_data") {
            EXPECT_TRUE(std::regex_match(l, record_line)) << l;
            const int partition = j["partition"];
            const int64_t offset = j["offset"];
            EXPECT_EQ(offset, next_offset[partition]) << "offsets in order, none skipped: " << l;
            next_offset[partition] = offset + 1;
            EXPECT_TRUE(read.emplace(j["value"], std::make_pair(partition, offset)).second) << "read twice: " << l;
        } else if (j["name"] == "records_consumed") {
            summary_total += j["count"].get<int64_t>();
            for (const auto& part : j["partitions"]) {
                EXPECT_EQ(part["topic"], "verify-consume");
                EXPECT_EQ(part["maxOffset"].get<int64_t>() - part["minOffset"].get<int64_t>() + 1,
                          part["count"].get<int64_t>())
                    << l;
                summarized[part["partition"]] += part["count"].get<int64_t>();
            }
        }
    }
    EXPECT_EQ(assigned, 2);
    EXPECT_EQ(read, acked) << "every acknowledged value, at its partition and offset, and nothing else";
    EXPECT_EQ(summary_total, 30);
    EXPECT_EQ(summarized[0] + summarized[1], 30);
    EXPECT_EQ(summarized[0], next_offset[0]);
}

TEST_F(cli, VerifiableConsumerStopsCleanlyOnSigterm) {
    create("verify-stop", 1);
    ASSERT_EQ(sh("bin/gregor-verifiable-producer.sh " + bs() + " --topic verify-stop --max-messages 5").exit_code, 0);
    // Runs until stopped: SIGTERM once it has read all five. sh() puts its `cd` and variables
    // in front of the command; `true;` ends that list, so that the consumer alone goes to the
    // background and $! is its PID (the script execs the binary).
    const std::string out = (dir / "consumer.out").string(), err = (dir / "consumer.err").string();
    auto r = sh("true; GREGOR_BUILD_DIR='" + std::string(GREGOR_BUILD_DIR) + "' bin/gregor-verifiable-consumer.sh " +
                bs() + " --topic verify-stop --verbose > '" + out + "' 2> '" + err + "' & pid=$!; " +
                "for i in $(seq 600); do [ \"$(grep -c record_data '" + out + "')\" -ge 5 ] && break; sleep 0.1; done; " +
                "kill -TERM $pid; wait $pid; echo \"exit $?\"; cat '" + out + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = r.lines();
    ASSERT_GE(lines.size(), 3u) << r.out;
    EXPECT_EQ(lines.front(), "exit 0") << slurp(err);
    EXPECT_EQ(nlohmann::json::parse(lines.back())["name"], "shutdown_complete") << r.out;
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                            [](const std::string& l) { return l.find("\"record_data\"") != std::string::npos; }),
              5);
}

TEST_F(cli, VerifiableConsumerWithoutAServerPrintsItsHelp) {
    auto r = sh("bin/gregor-verifiable-consumer.sh --topic t");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("--reset-policy"), std::string::npos) << r.out;
    auto bad = sh("bin/gregor-verifiable-consumer.sh " + bs() + " --topic t --reset-policy sometimes");
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_EQ(bad.err.rfind("verifiable-consumer: error: ", 0), 0u) << bad.err;
}

}  // namespace
