// Partition reassignment as an operator does it, bin/gregor-reassign-partitions.sh against three
// real gregor-server processes (one ZooKeeper chroot per test): a partition moves from brokers
// {1,2} to {2,3} while a producer keeps writing with acks=all; afterwards every broker's Metadata
// shows the new replicas, the new leader serves every acknowledged record at its offset, broker
// 3's log holds the leader's batches byte for byte (replica_logs), and broker 1 has deleted its
// copy. Bad input is refused by the tool (unknown topic, partition, broker, malformed files) and,
// per partition, by the brokers (AlterPartitionReassignments through the admin client). Every
// wait polls with a deadline.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "tests/chaos/replica_logs.h"
#include "tests/integration/cluster_test_support.h"
#include "tests/support/local_host.h"
#include "tests/support/raw_connection.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using gregor::errc;
using gregor::status;
using gregor::topic_partition;
using gregor::integration::await_condition;
using gregor::integration::cluster;
using gregor::test_support::run_command;
using gregor::test_support::run_result;

class reassign_partitions_cli : public ::testing::Test {
protected:
    fs::path dir;
    std::unique_ptr<cluster> brokers;

    void SetUp() override {
        std::string tmpl = (fs::path(::testing::TempDir()) / "gregor_reassign_cli_XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
        std::ofstream(dir / "admin.properties") << "default.api.timeout.ms=15000\n";
        // Sessions as long as the test ZooKeeper grants: a broker stopped for a test step stays
        // registered through it.
        gregor::integration::cluster_options o;
        o.session_timeout = 10000ms;
        brokers = std::make_unique<cluster>(o);
    }
    void TearDown() override {
        brokers.reset();
        if (std::getenv("GREGOR_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir);
    }

    std::string bootstrap() { return brokers->broker(1).bootstrap() + "," + brokers->broker(2).bootstrap(); }

    // bin/gregor-reassign-partitions.sh with `args`, as a user runs it.
    run_result tool(const std::string& args) {
        return run_command("GREGOR_BUILD_DIR='" + std::string(GREGOR_BUILD_DIR) + "' '" + GREGOR_SOURCE_DIR +
                               "/bin/gregor-reassign-partitions.sh' --bootstrap-server " + bootstrap() +
                               " --command-config '" + (dir / "admin.properties").string() + "' " + args,
                           dir, "", 90);
    }
    std::string write(const std::string& name, const std::string& text) {
        const fs::path path = dir / name;
        std::ofstream(path) << text;
        return "'" + path.string() + "'";
    }

    // A topic whose partition p is on the brokers assignment[p], once every broker knows it.
    void create(const std::string& topic, const std::vector<std::vector<int32_t>>& assignment) {
        gregor::native::create_topics_request::topic spec;
        spec.name = topic;
        for (size_t p = 0; p < assignment.size(); ++p) {
            spec.assignments.push_back({static_cast<int32_t>(p), assignment[p]});
        }
        const auto created = brokers->create_topic(spec);
        ASSERT_EQ(created.error_code, 0) << created.error_message;
        ASSERT_EQ(brokers->await_leaders_everywhere(topic, static_cast<int32_t>(assignment.size()), 30s).size(),
                  assignment.size())
            << brokers->describe(topic);
    }

    std::unique_ptr<gregor::client::admin> admin_client() {
        auto a = gregor::client::admin::create({{"bootstrap.servers", bootstrap()}, {"default.api.timeout.ms", "15000"}});
        if (!a) throw std::runtime_error(a.error().message);
        return std::move(*a);
    }

    // The replicas of topic-partition in `id`'s Metadata; empty when it does not answer or know it.
    std::vector<int32_t> replicas_in(int32_t id, const std::string& topic, int32_t partition) {
        try {
            for (const auto& t : brokers->metadata_from(id, std::vector<std::string>{topic}).topics) {
                for (const auto& p : t.partitions) {
                    if (p.partition == partition) return p.replicas;
                }
            }
        } catch (const std::exception&) {
        }
        return {};
    }
};

// Sends records one after another with acks=all until stopped, remembering the offset each
// acknowledged value got.
class acked_producer {
public:
    acked_producer(const std::string& bootstrap, std::string topic) : topic_(std::move(topic)) {
        auto p = gregor::client::producer::create({{"bootstrap.servers", bootstrap},
                                                  {"acks", "all"},
                                                  {"max.in.flight.requests.per.connection", "1"},
                                                  {"linger.ms", "0"}});
        if (!p) throw std::runtime_error(p.error().message);
        producer_ = std::move(*p);
        thread_ = std::thread([this] { run(); });
    }
    ~acked_producer() { stop(); }

    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    size_t acknowledged() {
        std::lock_guard lock(mu_);
        return acked_.size();
    }
    std::map<int64_t, std::string> acked() {
        std::lock_guard lock(mu_);
        return acked_;
    }
    std::vector<std::string> errors() {
        std::lock_guard lock(mu_);
        return errors_;
    }

private:
    void run() {
        for (int n = 0; !stopping_; ++n) {
            gregor::client::producer_record r;
            r.topic = topic_;
            r.partition = 0;
            r.value = "value-" + std::to_string(n);
            const auto report = producer_->send(r).get();
            std::lock_guard lock(mu_);
            if (report.error.ok()) {
                acked_[report.offset] = *r.value;
            } else {
                errors_.push_back(*r.value + ": " + report.error.message);
            }
        }
    }

    std::string topic_;
    std::unique_ptr<gregor::client::producer> producer_;
    std::atomic<bool> stopping_{false};
    std::mutex mu_;
    std::map<int64_t, std::string> acked_;
    std::vector<std::string> errors_;
    std::thread thread_;
};

// Everything the partition's leader serves from offset 0 up to (not including) `end`.
std::map<int64_t, std::string> read_from_start(const std::string& bootstrap, const topic_partition& tp, int64_t end) {
    auto c = gregor::client::consumer::create({{"bootstrap.servers", bootstrap}, {"auto.offset.reset", "earliest"}});
    if (!c) throw std::runtime_error(c.error().message);
    (*c)->assign({tp});
    EXPECT_TRUE((*c)->seek(tp, 0).ok());
    std::map<int64_t, std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while ((out.empty() || out.rbegin()->first + 1 < end) && std::chrono::steady_clock::now() < deadline) {
        auto records = (*c)->poll(500ms);
        if (!records) continue;
        for (const auto& r : *records) out[r.offset] = r.value.value_or("");
    }
    return out;
}

TEST_F(reassign_partitions_cli, MovesAPartitionWhileAProducerWritesWithAcksAll) {
    create("moving", {{1, 2}});
    const topic_partition tp{"moving", 0};
    acked_producer producer(bootstrap(), "moving");
    ASSERT_TRUE(await_condition([&] { return producer.acknowledged() >= 200; }, 60s))
        << "the producer got no acknowledgements: " << (producer.errors().empty() ? "" : producer.errors().front());

    // Broker 3 is stopped while the move starts, so that the move cannot finish before the
    // producer has written through it: the new replica then has those records to catch up on.
    brokers->pause(3);
    const std::string move =
        write("move.json", R"({"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[2,3]}]})");
    auto r = tool("--execute --reassignment-json-file " + move);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out,
              "Current partition replica assignment\n\n"
              R"({"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]})"
              "\n\nSave this to use as the --reassignment-json-file option during rollback\n"
              "Successfully started partition reassignment for moving-0\n");
    const std::string in_progress =
        "Status of partition reassignment:\nReassignment of partition moving-0 is still in progress.\n";
    r = tool("--verify --reassignment-json-file " + move);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, in_progress);
    const size_t acked_at_start = producer.acknowledged();
    EXPECT_TRUE(await_condition([&] { return producer.acknowledged() >= acked_at_start + 100; }, 60s))
        << "no writes while the move is under way: " << (producer.errors().empty() ? "" : producer.errors().front());
    brokers->resume(3);

    const std::string completed = "Status of partition reassignment:\nReassignment of partition moving-0 is completed.\n";
    run_result verified;
    const bool done = await_condition(
        [&] {
            verified = tool("--verify --reassignment-json-file " + move);
            return verified.exit_code == 0 && verified.out == completed;
        },
        90s);
    ASSERT_TRUE(done) << "last --verify: " << verified.out << verified.err << brokers->describe("moving");
    // Writes go on under the new leader.
    const size_t acked_at_end = producer.acknowledged();
    EXPECT_TRUE(await_condition([&] { return producer.acknowledged() >= acked_at_end + 100; }, 60s));
    producer.stop();
    EXPECT_TRUE(producer.errors().empty()) << producer.errors().size() << " records failed, the first: "
                                           << producer.errors().front();

    for (const int32_t id : brokers->ids()) {
        EXPECT_TRUE(await_condition([&] { return replicas_in(id, "moving", 0) == std::vector<int32_t>{2, 3}; }, 30s))
            << "broker " << id << " reports replicas of moving-0 other than 2,3\n" << brokers->describe("moving");
    }

    // The new leader serves every acknowledged value at the offset it was acknowledged at.
    const auto acked = producer.acked();
    ASSERT_FALSE(acked.empty());
    const int64_t end = acked.rbegin()->first + 1;
    const auto served = read_from_start(bootstrap(), tp, end);
    size_t missing = 0;
    for (const auto& [offset, value] : acked) {
        const auto it = served.find(offset);
        if (it == served.end() || it->second != value) {
            if (++missing <= 5) {
                ADD_FAILURE() << "offset " << offset << ": acknowledged " << value << ", served "
                              << (it == served.end() ? "nothing" : it->second);
            }
        }
    }
    EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged records";

    // Broker 3 copied the whole log: its batches are the leader's, byte for byte (CRCs), up to
    // the last acknowledged offset.
    const int32_t leader = brokers->leader_in(2, "moving", 0);
    ASSERT_TRUE(leader == 2 || leader == 3) << brokers->describe("moving");
    auto log_of = [&](int32_t id) {
        return gregor::chaos::read_replica_log(id, brokers->broker(id).log_dir() / tp.dir_name());
    };
    EXPECT_TRUE(await_condition([&] { return log_of(3).end_offset() >= end; }, 30s))
        << "broker 3's log ends at " << log_of(3).end_offset() << ", the last acknowledged offset is " << end - 1;
    const int32_t follower = leader == 2 ? 3 : 2;
    const auto differences = gregor::chaos::compare_replicas(tp.dir_name(), {log_of(leader), log_of(follower)}, end);
    EXPECT_TRUE(differences.empty()) << differences.front();

    // Broker 1 is no longer a replica: StopReplica deleted its copy.
    auto has_copy = [&] {
        for (const auto& entry : fs::directory_iterator(brokers->broker(1).log_dir())) {
            if (entry.path().filename().string().starts_with(tp.dir_name())) return true;
        }
        return false;
    };
    EXPECT_TRUE(await_condition([&] { return !has_copy(); }, 30s))
        << "broker 1 still has " << (brokers->broker(1).log_dir() / tp.dir_name());
}

TEST_F(reassign_partitions_cli, ToolRefusesUnknownTopicsPartitionsAndBrokers) {
    create("orders", {{1, 2}});
    struct bad_case {
        std::string json;
        std::string error;
    };
    const bad_case cases[] = {
        {R"({"version":1,"partitions":[{"topic":"nosuch","partition":0,"replicas":[1,2]}]})",
         "Error: Topic nosuch not found.\n"},
        {R"({"version":1,"partitions":[{"topic":"orders","partition":7,"replicas":[1,2]}]})",
         "Error: Unable to find partition: orders-7\n"},
        {R"({"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[2,42]}]})",
         "Error: Unknown broker id 42\n"},
        {R"({"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[]}]})",
         "Error: Partition replica list cannot be empty\n"},
        {R"({"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[3,3]}]})",
         "Error: Partition replica lists may not contain duplicate entries: orders-0 contains multiple entries for 3\n"},
        {R"({"version":2,"partitions":[]})", "Error: Not supported version field value 2\n"},
        {R"({"version":1,"partitions":[{"topic":"orders","replicas":[1]}]})",
         "Error: No such field exists: `partition`\n"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.json);
        auto r = tool("--execute --reassignment-json-file " + write("bad.json", c.json));
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_EQ(r.err, c.error);
        EXPECT_EQ(r.out, "");
    }
    auto r = tool("--execute");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "Error: Missing required argument \"[reassignment-json-file]\"\n");
    // Nothing was moved.
    EXPECT_EQ(replicas_in(1, "orders", 0), (std::vector<int32_t>{1, 2}));
    r = tool("--verify --reassignment-json-file " +
             write("none.json", R"({"partitions":[{"topic":"orders","partition":0,"replicas":[2,3]}]})"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "Status of partition reassignment:\nThere is no active reassignment of partition orders-0, "
                     "but replica set is 1,2 rather than 2,3.\n");
}

// --generate proposes, for every partition of the topics named, as many replicas as it has now,
// all on the listed brokers; it changes nothing.
TEST_F(reassign_partitions_cli, GenerateProposesAnAssignmentOverTheListedBrokers) {
    create("orders", {{1, 2}, {2, 1}, {1, 2}});
    const std::string topics = write("topics.json", R"({"version":1,"topics":[{"topic":"orders"}]})");
    auto r = tool("--generate --topics-to-move-json-file " + topics + " --broker-list 2,3");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = r.lines();
    ASSERT_EQ(lines.size(), 5u) << r.out;
    EXPECT_EQ(lines[0], "Current partition replica assignment");
    EXPECT_EQ(lines[1], R"({"version":1,"partitions":[)"
                        R"({"topic":"orders","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},)"
                        R"({"topic":"orders","partition":1,"replicas":[2,1],"log_dirs":["any","any"]},)"
                        R"({"topic":"orders","partition":2,"replicas":[1,2],"log_dirs":["any","any"]}]})");
    EXPECT_EQ(lines[2], "");
    EXPECT_EQ(lines[3], "Proposed partition reassignment configuration");
    const auto proposal = nlohmann::json::parse(lines[4]);
    EXPECT_EQ(proposal["version"], 1);
    ASSERT_EQ(proposal["partitions"].size(), 3u) << lines[4];
    for (size_t p = 0; p < 3; ++p) {
        const auto& entry = proposal["partitions"][p];
        EXPECT_EQ(entry["topic"], "orders");
        EXPECT_EQ(entry["partition"], p);
        auto replicas = entry["replicas"].get<std::vector<int32_t>>();
        std::sort(replicas.begin(), replicas.end());
        EXPECT_EQ(replicas, (std::vector<int32_t>{2, 3})) << entry.dump();
    }
    r = tool("--generate --topics-to-move-json-file " + topics + " --broker-list 3");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "Error: Replication factor: 2 larger than available brokers: 1.\n");
    r = tool("--generate --topics-to-move-json-file " +
             write("unknown.json", R"({"version":1,"topics":[{"topic":"nosuch"}]})") + " --broker-list 1,2");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "Error: Topic nosuch not found.\n");

    // The proposal is a reassignment file --execute takes as it is.
    r = tool("--execute --reassignment-json-file " + write("proposal.json", lines[4]));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.ends_with("Successfully started partition reassignments for orders-0,orders-1,orders-2\n"))
        << r.out;
}

// AlterPartitionReassignments answers each partition on its own: the valid move starts though
// others in the same request are refused, each with its reason. A move that cannot finish (its
// new replica is stopped) stays listed, refuses a second request for the same partition, and
// makes --execute ask for --additional; it completes once the replica is back.
TEST_F(reassign_partitions_cli, BrokersAnswerEachPartitionOfAReassignment) {
    create("orders", {{1, 2}, {1, 2}, {2, 1}});
    brokers->pause(3);
    auto admin = admin_client();
    const std::map<topic_partition, std::vector<int32_t>> request = {
        {{"orders", 0}, {2, 3}},     {{"orders", 1}, {}},       {{"orders", 2}, {1, 1}},
        {{"orders", 9}, {1, 2}},     {{"orders", -1}, {1, 2}},  {{"nosuch", 0}, {1, 2}},
        {{"bad/name", 0}, {1, 2}},   {{"orders", 3}, {1}},
    };
    auto answers = admin->alter_partition_reassignments(request);
    ASSERT_TRUE(answers.ok()) << answers.error().message;
    const std::map<topic_partition, errc> expected = {
        {{"orders", 0}, errc::none},
        {{"orders", 1}, errc::invalid_replica_assignment},
        {{"orders", 2}, errc::invalid_replica_assignment},
        {{"orders", 9}, errc::unknown_topic_or_partition},
        {{"orders", -1}, errc::unknown_topic_or_partition},
        {{"nosuch", 0}, errc::unknown_topic_or_partition},
        {{"bad/name", 0}, errc::invalid_topic_exception},
        {{"orders", 3}, errc::unknown_topic_or_partition},
    };
    for (const auto& [tp, code] : expected) {
        ASSERT_TRUE(answers->contains(tp)) << tp.dir_name();
        const status& s = answers->at(tp);
        EXPECT_EQ(s.code, code) << tp.dir_name() << ": " << s.message;
        EXPECT_TRUE(s.ok() || !s.message.empty()) << tp.dir_name() << " was refused without a reason";
    }
    // On the wire: a partition listed twice is refused for both entries, and the answer
    // follows the request entry by entry.
    gregor::native::alter_partition_reassignments_request twice;
    twice.topics.push_back({"orders", {{2, {2, 1}}, {3, {1}}}});
    twice.topics.push_back({"orders", {{2, {1, 2}}}});
    gregor::test_support::raw_connection wire(brokers->broker(2).port());
    const auto reply = wire.call(gregor::native::api_key::alter_partition_reassignments, twice)
                           .as<gregor::native::alter_partition_reassignments_response>();
    ASSERT_EQ(reply.topics.size(), 2u);
    ASSERT_EQ(reply.topics[0].partitions.size(), 2u);
    ASSERT_EQ(reply.topics[1].partitions.size(), 1u);
    EXPECT_EQ(reply.topics[0].partitions[0].partition, 2);
    EXPECT_EQ(reply.topics[0].partitions[0].error_code, static_cast<int16_t>(errc::invalid_request));
    EXPECT_EQ(reply.topics[0].partitions[1].partition, 3);
    EXPECT_EQ(reply.topics[0].partitions[1].error_code, static_cast<int16_t>(errc::unknown_topic_or_partition));
    EXPECT_EQ(reply.topics[1].partitions[0].error_code, static_cast<int16_t>(errc::invalid_request))
        << reply.topics[1].partitions[0].error_message;

    // Broker 3 cannot catch up while stopped: the move stays under way, and a second request
    // for the partition is refused while another partition's starts.
    auto again = admin->alter_partition_reassignments({{{"orders", 0}, {2, 3}}, {{"orders", 1}, {1, 3}}});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->at({"orders", 0}).code, errc::reassignment_in_progress) << again->at({"orders", 0}).message;
    EXPECT_TRUE(again->at({"orders", 1}).ok()) << again->at({"orders", 1}).message;
    auto unknown_broker = admin->alter_partition_reassignments({{{"orders", 2}, {1, 42}}});
    ASSERT_TRUE(unknown_broker.ok());
    EXPECT_EQ(unknown_broker->at({"orders", 2}).code, errc::invalid_replica_assignment);
    EXPECT_NE(unknown_broker->at({"orders", 2}).message.find("42"), std::string::npos)
        << unknown_broker->at({"orders", 2}).message;

    auto listed = admin->list_partition_reassignments();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ(listed->at({"orders", 0}).target_replicas, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(listed->at({"orders", 1}).target_replicas, (std::vector<int32_t>{1, 3}));
    auto filtered = admin->list_partition_reassignments(std::set<topic_partition>{{"orders", 1}, {"orders", 2}});
    ASSERT_TRUE(filtered.ok());
    EXPECT_EQ(filtered->size(), 1u);
    EXPECT_TRUE(filtered->contains({"orders", 1}));

    const std::string move =
        write("move.json", R"({"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[2,3]}]})");
    auto r = tool("--verify --reassignment-json-file " + move);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "Status of partition reassignment:\nReassignment of partition orders-0 is still in progress.\n");
    r = tool("--execute --reassignment-json-file " +
             write("more.json", R"({"version":1,"partitions":[{"topic":"orders","partition":2,"replicas":[1,2]}]})"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(r.err.starts_with("Cannot execute because there is an existing partition assignment.  Use "
                                  "--additional to override this"))
        << r.err;

    brokers->resume(3);
    EXPECT_TRUE(await_condition(
        [&] {
            r = tool("--verify --reassignment-json-file " + move);
            return r.out == "Status of partition reassignment:\nReassignment of partition orders-0 is completed.\n";
        },
        90s))
        << r.out << r.err << brokers->describe("orders");
}

}  // namespace
