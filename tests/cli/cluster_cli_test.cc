// The cluster as an operator sees it through bin/gregor-topics.sh --describe (leaders,
// replicas, ISR; the partition filters) and bin/gregor-cluster.sh (live brokers, controller),
// against real gregor-server processes sharing one ZooKeeper chroot per test. Broker 1 starts
// first and so is the controller. Every wait polls the tool's output with a deadline: the
// controller acts on a broker's death once its ZooKeeper session (6 s in tests) expires.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/broker_process.h"
#include "tests/support/local_host.h"
#include "tests/support/shared_zookeeper.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using gregor::test_support::broker_options;
using gregor::test_support::broker_process;
using gregor::test_support::run_command;
using gregor::test_support::run_result;
using gregor::test_support::shared_zookeeper;

class cluster_cli : public ::testing::Test {
protected:
    fs::path dir;
    std::string zookeeper = shared_zookeeper::isolated_connect();

    void SetUp() override {
        std::string tmpl = (fs::path(::testing::TempDir()) / "gregor_cluster_cli_XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
        // A dead broker makes a tool call last until this timeout (default 60 s): keep each
        // attempt of a poll short.
        std::ofstream(dir / "admin.properties") << "default.api.timeout.ms=15000\n";
    }
    void TearDown() override {
        if (std::getenv("GREGOR_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir);
    }

    std::unique_ptr<broker_process> start_broker(int32_t id,
                                                 std::map<std::string, std::string> properties = {}) {
        broker_options o;
        o.broker_id = id;
        o.zookeeper_connect = zookeeper;
        o.properties = std::move(properties);
        o.properties.emplace("auto.create.topics.enable", "false");
        return std::make_unique<broker_process>(std::move(o));
    }

    // bin/<script> with `args` (shell words), as a user runs it, bounded by `timeout` seconds.
    run_result script(const std::string& name, const std::string& args, int timeout = 90) {
        return run_command("GREGOR_BUILD_DIR='" + std::string(GREGOR_BUILD_DIR) + "' '" +
                               GREGOR_SOURCE_DIR + "/bin/" + name + "' " + args,
                           dir, "", timeout);
    }
    run_result topics(const broker_process& via, const std::string& args) {
        return script("gregor-topics.sh",
                      "--bootstrap-server " + via.bootstrap() + admin_config() + " " + args);
    }
    run_result cluster(const broker_process& via) {
        return script("gregor-cluster.sh", "--bootstrap-server " + via.bootstrap() + admin_config());
    }
    std::string admin_config() const {
        return " --command-config '" + (dir / "admin.properties").string() + "'";
    }

    // Runs `run` until `done` holds for its result or `within` passes; the last result.
    static run_result poll(const std::function<run_result()>& run,
                           const std::function<bool(const run_result&)>& done,
                           std::chrono::seconds within = 60s) {
        const auto deadline = std::chrono::steady_clock::now() + within;
        for (;;) {
            auto r = run();
            if (done(r) || std::chrono::steady_clock::now() >= deadline) return r;
            // The state to wait for lives in other processes: poll their answers.
            std::this_thread::sleep_for(200ms);
        }
    }
    static std::function<bool(const run_result&)> prints(const std::string& out) {
        return [out](const run_result& r) { return r.exit_code == 0 && r.out == out; };
    }

    // Creates `topic` with one replica per partition on the brokers listed ("1,2,1": partition
    // 0 on broker 1, ...), and waits until the controller has given every partition its leader.
    void create(const broker_process& via, const std::string& topic, const std::string& assignment) {
        auto r = topics(via, "--create --topic " + topic + " --replica-assignment " + assignment);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        std::string want;
        int partition = 0;
        for (size_t start = 0; start <= assignment.size(); ++partition) {
            size_t comma = std::min(assignment.find(',', start), assignment.size());
            want += partition_line(topic, partition, assignment.substr(start, comma - start));
            start = comma + 1;
        }
        r = poll([&] { return topics(via, "--describe --topic " + topic); },
                 [&](const run_result& d) { return d.exit_code == 0 && d.out.ends_with(want); });
        ASSERT_TRUE(r.out.ends_with(want))
            << "expected the partition lines\n" << want << "got\n" << r.out << r.err;
    }

    // A healthy single-replica partition as --describe prints it.
    static std::string partition_line(const std::string& topic, int partition,
                                      const std::string& broker) {
        return "\tTopic: " + topic + "\tPartition: " + std::to_string(partition) +
               "\tLeader: " + broker + "\tReplicas: " + broker + "\tIsr: " + broker + "\n";
    }
};

TEST_F(cluster_cli, DescribeShowsLeaderReplicasAndIsrOfEachPartition) {
    auto b1 = start_broker(1);
    auto b2 = start_broker(2);
    create(*b1, "orders", "1,2,2,1");
    auto r = topics(*b1, "--describe --topic orders");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = r.lines();
    ASSERT_EQ(lines.size(), 5u) << r.out;
    const std::regex header("Topic: orders\t(TopicId: \\S+\t)?PartitionCount: 4\tReplicationFactor: 1\t"
                            "Configs: .*");
    EXPECT_TRUE(std::regex_match(lines[0], header)) << lines[0];
    EXPECT_EQ(r.out.substr(lines[0].size() + 1),
              partition_line("orders", 0, "1") + partition_line("orders", 1, "2") +
                  partition_line("orders", 2, "2") + partition_line("orders", 3, "1"));
}

// A broker that is not the controller learns brokers and leaders from the controller's
// UpdateMetadata, and answers as the controller does.
TEST_F(cluster_cli, EveryBrokerDescribesTheSameCluster) {
    auto b1 = start_broker(1);
    auto b2 = start_broker(2);
    create(*b1, "orders", "2,1");
    const auto description = topics(*b1, "--describe --topic orders");
    ASSERT_EQ(description.exit_code, 0) << description.err;
    auto r = poll([&] { return topics(*b2, "--describe --topic orders"); }, prints(description.out));
    EXPECT_EQ(r.out, description.out) << r.err;
    const auto brokers = cluster(*b1);
    ASSERT_EQ(brokers.exit_code, 0) << brokers.err;
    r = poll([&] { return cluster(*b2); }, prints(brokers.out));
    EXPECT_EQ(r.out, brokers.out) << r.err;
}

// The console clients bootstrap from one broker and still reach every partition's leader:
// the producer knows only broker 1, the consumer only broker 3, and each broker leads one.
TEST_F(cluster_cli, ConsoleClientsReachEveryLeaderFromAnyBootstrapBroker) {
    auto b1 = start_broker(1);
    auto b2 = start_broker(2);
    auto b3 = start_broker(3);
    create(*b1, "orders", "1,2,3");
    std::string input;
    for (int i = 0; i < 30; ++i) input += "k" + std::to_string(i) + ":v" + std::to_string(i) + "\n";
    {
        std::ofstream(dir / "records.txt") << input;
    }
    auto r = script("gregor-console-producer.sh",
                    "--bootstrap-server " + b1->bootstrap() +
                        " --topic orders --property parse.key=true --property key.separator=: < '" +
                        (dir / "records.txt").string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = script("gregor-console-consumer.sh", "--bootstrap-server " + b3->bootstrap() +
                                                 " --topic orders --from-beginning --max-messages 30"
                                                 " --timeout-ms 30000 --property print.partition=true");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> values, partitions;
    for (const auto& line : r.lines()) {
        const auto tab = line.find('\t');
        ASSERT_NE(tab, std::string::npos) << line;
        partitions.insert(line.substr(0, tab));
        values.insert(line.substr(tab + 1));
    }
    EXPECT_EQ(values.size(), 30u) << r.out;
    EXPECT_EQ(partitions, (std::set<std::string>{"Partition:0", "Partition:1", "Partition:2"})) << r.out;
}

TEST_F(cluster_cli, UnavailablePartitionsAreExactlyThoseLedByAKilledBroker) {
    auto b1 = start_broker(1);
    auto b2 = start_broker(2);
    create(*b1, "orders", "1,2,1,2");
    create(*b1, "audit", "1,1");
    auto r = topics(*b1, "--describe --unavailable-partitions");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");

    b2->kill();
    const std::regex offline("\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2\tIsr: [0-9,]*\n"
                             "\tTopic: orders\tPartition: 3\tLeader: none\tReplicas: 2\tIsr: [0-9,]*\n");
    r = poll([&] { return topics(*b1, "--describe --unavailable-partitions"); },
             [&](const run_result& d) { return d.exit_code == 0 && std::regex_match(d.out, offline); });
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::regex_match(r.out, offline)) << r.out;
    // The same partitions, in the whole description, and nothing else lost its leader.
    r = topics(*b1, "--describe --topic orders");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines().size(), 5u) << r.out;
    EXPECT_EQ(r.lines()[1] + "\n", partition_line("orders", 0, "1"));
    EXPECT_EQ(r.lines()[3] + "\n", partition_line("orders", 2, "1"));
    EXPECT_EQ(topics(*b1, "--describe --unavailable-partitions --topic audit").out, "");
}

TEST_F(cluster_cli, UnderReplicatedPartitionsPrintsNothingOnAHealthyCluster) {
    auto b1 = start_broker(1);
    auto b2 = start_broker(2);
    create(*b1, "orders", "1,2,1");
    auto r = topics(*b1, "--describe --under-replicated-partitions");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
}

TEST_F(cluster_cli, ClusterToolNamesEveryLiveBrokerAndTheController) {
    auto b1 = start_broker(1);
    auto b2 = start_broker(2, {{"broker.rack", "rack-b"}});
    // Addresses are padded to the longest (ports may differ in width), racks on the
    // controller's line to the longest before its mark.
    const size_t width = std::max(b1->bootstrap().size(), b2->bootstrap().size());
    auto address = [&](const broker_process& b) {
        return b.bootstrap() + std::string(width - b.bootstrap().size(), ' ');
    };
    const std::string both = "Controller: 1\nBrokers:\n"
                             "  1  " + address(*b1) + "  rack: -       (controller)\n"
                             "  2  " + address(*b2) + "  rack: rack-b\n";
    auto r = poll([&] { return cluster(*b1); }, prints(both));
    EXPECT_EQ(r.out, both) << r.err;

    b2->kill();
    const std::string alone =
        "Controller: 1\nBrokers:\n  1  " + b1->bootstrap() + "  rack: -  (controller)\n";
    r = poll([&] { return cluster(*b1); }, prints(alone));
    EXPECT_EQ(r.out, alone) << r.err;
}

TEST_F(cluster_cli, ClusterToolShowsTheNewControllerAfterTheOldOneDies) {
    auto b1 = start_broker(1);
    auto b2 = start_broker(2);
    b1->kill();
    const std::string after =
        "Controller: 2\nBrokers:\n  2  " + b2->bootstrap() + "  rack: -  (controller)\n";
    auto r = poll([&] { return cluster(*b2); }, prints(after));
    EXPECT_EQ(r.out, after) << r.err;
}

TEST_F(cluster_cli, ClusterToolFailsCleanlyWhenNoServerAnswers) {
    std::ofstream(dir / "quick.properties") << "default.api.timeout.ms=2000\n";
    const std::string unreachable = "127.0.0.1:" + std::to_string(gregor::test_support::free_port());
    const auto start = std::chrono::steady_clock::now();
    auto r = script("gregor-cluster.sh", "--bootstrap-server " + unreachable + " --command-config '" +
                                             (dir / "quick.properties").string() + "'",
                    30);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("Error: no cluster metadata from " + unreachable + ": ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
