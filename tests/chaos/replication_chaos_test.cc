// Replication under faults (issue 6): three real gregor-server processes on a real ZooKeeper, a
// topic with replication factor 3 and min.insync.replicas=2, the verifiable producer writing
// with acks=all (and retries, so it carries on across failovers) and the verifiable consumer
// reading, while a test kills, stops, cuts off or restarts what a real cluster loses. After
// healing, every test checks the same things (verify()):
//   - every acknowledged value is in the log at the partition and offset it was acknowledged at;
//   - a consumer's offsets never went backwards, and what it read during the fault is still there;
//   - every replica's log (its segment files, batch by batch: offsets, CRC, leader epoch) is the
//     leader's up to the high watermark.
// Two controls have no fault: with replication factor 1 (it shows the harness itself works,
// replication or not) and with replication factor 3 (every replica holds the leader's log).
//
// Sessions are 6 s unless a case needs the ISR to shrink before a session could expire;
// replica.lag.time.max.ms is 3 s. Every wait has a deadline, and a failure in the fault part
// of a test still heals the cluster and runs the checks, whose messages say what was lost.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "coordination/zk_paths.h"
#include "tests/chaos/network_namespace.h"
#include "tests/chaos/replica_logs.h"
#include "tests/chaos/tool_process.h"
#include "tests/chaos/verifiable_history.h"
#include "tests/integration/cluster_test_support.h"
#include "tests/support/zookeeper_server.h"

#ifndef GREGOR_VERIFIABLE_PRODUCER
#error "GREGOR_VERIFIABLE_PRODUCER must name the gregor-verifiable-producer binary"
#endif
#ifndef GREGOR_VERIFIABLE_CONSUMER
#error "GREGOR_VERIFIABLE_CONSUMER must name the gregor-verifiable-consumer binary"
#endif

namespace gregor::chaos {
namespace {

namespace fs = std::filesystem;
namespace zk_paths = coordination::zk_paths;
using namespace std::chrono_literals;
using integration::await_condition;
using integration::cluster;
using integration::cluster_options;
using test_support::raw_connection;
using test_support::zookeeper_server;

constexpr int32_t kPartitions = 3;
constexpr auto kLagTime = 3000ms;  // replica.lag.time.max.ms
// A session long enough that a follower stopped or cut off leaves the ISR through the leader's
// lag check before its session could expire (so the controller never sees it die). 10 s is the
// longest the test ZooKeeper grants (20 ticks of 500 ms).
constexpr auto kFollowerSession = 10000ms;
// How long the ISR may take to drop a follower that stopped fetching: the lag time, the
// leader's check interval (half of it, as Kafka's), and 1.5 s for the ZooKeeper write. The
// follower's fault must end within its session, so there is little room for more.
constexpr auto kIsrShrinkLimit = kLagTime * 2;
// How long writes may take to show they go on without the follower, within the same budget.
constexpr auto kWritesWithoutFollowerLimit = 2000ms;
constexpr auto kProducerRate = 100;  // records per second

std::string ids_of(const std::vector<int32_t>& ids) {
    std::string out = "[";
    for (int32_t id : ids) out += (out.size() > 1 ? "," : "") + std::to_string(id);
    return out + "]";
}

// What verify() found, for a test's own checks on top.
struct final_state {
    std::map<int32_t, int64_t> high_watermarks;  // partition -> high watermark
    std::map<int32_t, replica_log> leader_logs;  // partition -> the leader's log
    log_contents log;                            // what a full read returned
};

class replication_chaos : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "gregor-chaos-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }

    void TearDown() override {
        // Tools first: they talk to the brokers.
        fault_consumer_.reset();
        producer_.reset();
        if (netns_ && netns_->is_cut()) netns_->heal();
        cluster_.reset();
        zookeeper_.reset();
        netns_.reset();
        if (HasFailure()) {
            std::cerr << "---- tool output kept in " << dir_.string() << "\n";
        } else if (std::getenv("GREGOR_KEEP_TEST_DIRS") == nullptr) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
    }

    static cluster_options options(std::chrono::milliseconds session = 6000ms) {
        cluster_options o;
        o.session_timeout = session;
        o.properties["replica.lag.time.max.ms"] = std::to_string(kLagTime.count());
        // Leadership moves only through the faults of the test.
        o.properties["auto.leader.rebalance.enable"] = "false";
        return o;
    }

    void start_cluster(cluster_options o = options()) { cluster_ = std::make_unique<cluster>(std::move(o)); }
    cluster& c() { return *cluster_; }

    // The topic under test: kPartitions partitions, replication factor 3 (spread by the
    // controller, or as `assignment` says) and min.insync.replicas=2; with replication factor
    // 1, min.insync.replicas=1. Returns when every broker knows a leader for every partition.
    void create_topic(int16_t replication_factor, const std::map<int32_t, std::vector<int32_t>>& assignment = {}) {
        native::create_topics_request::topic t;
        t.name = topic_;
        if (assignment.empty()) {
            t.num_partitions = kPartitions;
            t.replication_factor = replication_factor;
        } else {
            for (const auto& [p, replicas] : assignment) t.assignments.push_back({p, replicas});
        }
        t.configs.push_back({"min.insync.replicas", replication_factor >= 3 ? "2" : "1"});
        auto created = c().create_topic(t);
        ASSERT_EQ(created.error_code, 0) << errc_name(static_cast<errc>(created.error_code)) << ": "
                                         << created.error_message;
        ASSERT_EQ(c().await_leaders_everywhere(topic_, kPartitions, 30s).size(), size_t{kPartitions})
            << c().describe(topic_);
        for (int32_t p = 0; p < kPartitions; ++p) replicas_[p] = replicas_of(p);
    }

    std::string bootstrap() {
        std::string out;
        for (int32_t id : c().ids()) out += (out.empty() ? "" : ",") + c().broker(id).bootstrap();
        return out;
    }

    // The verifiable producer, acks=all, retrying across failovers for as long as a record may
    // take (delivery.timeout.ms); one request in flight per broker, so a partition's records
    // keep their order through retries.
    void start_producer() {
        const fs::path config = dir_ / "producer.properties";
        std::ofstream(config) << "retries=2147483647\n"
                                 "retry.backoff.ms=100\n"
                                 "request.timeout.ms=15000\n"
                                 "delivery.timeout.ms=60000\n"
                                 "max.in.flight.requests.per.connection=1\n"
                                 "linger.ms=5\n";
        producer_ = std::make_unique<tool_process>(
            GREGOR_VERIFIABLE_PRODUCER,
            std::vector<std::string>{"--bootstrap-server", bootstrap(), "--topic", topic_, "--acks", "-1",
                                     "--throughput", std::to_string(kProducerRate), "--producer.config",
                                     config.string()},
            dir_, "producer");
    }

    std::unique_ptr<tool_process> start_consumer(const std::string& name) {
        return std::make_unique<tool_process>(
            GREGOR_VERIFIABLE_CONSUMER,
            std::vector<std::string>{"--bootstrap-server", bootstrap(), "--topic", topic_, "--verbose",
                                     "--reset-policy", "earliest"},
            dir_, name);
    }

    // Starts the producer and a consumer that reads throughout the fault, and waits for the
    // first acknowledgements (the cluster takes writes before the fault).
    void start_traffic() {
        start_producer();
        fault_consumer_ = start_consumer("fault-consumer");
        ASSERT_TRUE(await_more_acks(50, 30s)) << "no writes before the fault: " << producer_state();
    }

    int64_t acks_so_far() {
        produced_.catch_up(producer_->lines());
        return static_cast<int64_t>(produced_.acks().size());
    }

    // Waits for `n` acknowledgements more than there are now.
    bool await_more_acks(int64_t n, std::chrono::milliseconds limit) {
        const int64_t target = acks_so_far() + n;
        return await_condition([&] { return acks_so_far() >= target || !producer_->running(); }, limit) &&
               acks_so_far() >= target;
    }

    std::string producer_state() {
        acks_so_far();
        return std::to_string(produced_.acks().size()) + " acknowledged, send errors: " + produced_.error_summary() +
               (producer_->running() ? "" : " (the producer has exited)") + "; producer stderr:\n" +
               producer_->error_output();
    }

    // ---- partition state, as ZooKeeper has it
    std::optional<coordination::partition_state> state(int32_t p) { return c().partition_state(topic_, p); }
    int32_t leader_of(int32_t p) {
        auto st = state(p);
        return st ? st->leader : -1;
    }
    std::vector<int32_t> isr_of(int32_t p) {
        auto st = state(p);
        return st ? st->isr : std::vector<int32_t>{};
    }
    std::vector<int32_t> replicas_of(int32_t p) {
        auto a = c().zk().assignment(topic_);
        if (!a) return {};
        auto it = a->partitions.find(p);
        return it == a->partitions.end() ? std::vector<int32_t>{} : it->second;
    }
    std::vector<int32_t> partitions_led_by(int32_t broker) {
        std::vector<int32_t> out;
        for (int32_t p = 0; p < kPartitions; ++p) {
            if (leader_of(p) == broker) out.push_back(p);
        }
        return out;
    }
    std::string isr_picture() {
        std::string out;
        for (int32_t p = 0; p < kPartitions; ++p) {
            auto st = state(p);
            out += topic_ + "-" + std::to_string(p) + ": replicas " + ids_of(replicas_[p]);
            out += st ? ", leader " + std::to_string(st->leader) + ", epoch " + std::to_string(st->leader_epoch) +
                            ", isr " + ids_of(st->isr)
                      : ", no state";
            out += "\n";
        }
        return out;
    }

    // Waits for a leader of `p` other than `old` (and not -1); returns it, or -1.
    int32_t await_new_leader(int32_t p, int32_t old, std::chrono::milliseconds limit) {
        int32_t found = -1;
        await_condition(
            [&] {
                found = leader_of(p);
                return found >= 0 && found != old;
            },
            limit);
        return found >= 0 && found != old ? found : -1;
    }

    bool await_isr_everywhere(const std::function<bool(int32_t, const std::vector<int32_t>&)>& accept,
                              std::chrono::milliseconds limit) {
        return await_condition(
            [&] {
                for (int32_t p = 0; p < kPartitions; ++p) {
                    if (!accept(p, isr_of(p))) return false;
                }
                return true;
            },
            limit);
    }
    bool in_isr_everywhere(int32_t broker, std::chrono::milliseconds limit) {
        return await_isr_everywhere(
            [&](int32_t, const std::vector<int32_t>& isr) {
                return std::find(isr.begin(), isr.end(), broker) != isr.end();
            },
            limit);
    }
    bool out_of_isr_everywhere(int32_t broker, std::chrono::milliseconds limit) {
        return await_isr_everywhere(
            [&](int32_t, const std::vector<int32_t>& isr) {
                return std::find(isr.begin(), isr.end(), broker) == isr.end();
            },
            limit);
    }

    // The session that registered `broker`, to tell afterwards whether it lived through a fault.
    int64_t registration_session(int32_t broker) {
        auto node = c().zk().zk().get(zk_paths::broker_path(broker));
        return node ? node->stat.ephemeral_owner : 0;
    }

    // The leader's high watermark (ListOffsets latest: consumers read below it); -1 when the
    // leader does not answer.
    int64_t high_watermark(int32_t p) {
        const int32_t leader = leader_of(p);
        if (leader < 0 || !c().up(leader)) return -1;
        try {
            raw_connection conn(c().broker(leader).host(), c().broker(leader).port(), true, 2s);
            auto r = integration::list_offset(conn, topic_, p, native::kLatestTimestamp);
            return r.error_code == 0 ? r.offset : -1;
        } catch (const std::exception&) {
            return -1;
        }
    }

    // Partition `p`'s log on each replica, the leader's first.
    std::vector<replica_log> replica_logs(int32_t p) {
        std::vector<int32_t> order = replicas_[p];
        const int32_t leader = leader_of(p);
        std::stable_partition(order.begin(), order.end(), [&](int32_t id) { return id == leader; });
        std::vector<replica_log> out;
        for (int32_t id : order) {
            out.push_back(read_replica_log(id, c().broker(id).log_dir() / (topic_ + "-" + std::to_string(p))));
        }
        return out;
    }

    // Undoes whatever a fault left behind: the network cut, stopped and dead brokers.
    void heal_everything() {
        if (netns_ && netns_->is_cut()) netns_->heal();
        for (int32_t id : c().ids()) {
            if (!c().broker(id).running()) {
                c().start(id);
            } else if (!c().up(id)) {
                c().resume(id);
            }
        }
    }

    // After the fault: heals the cluster, lets the writes run on, stops them, waits for the
    // replicas to settle and checks what the file's header promises. Returns what it read.
    final_state verify() {
        final_state out;
        heal_everything();
        EXPECT_EQ(c().await_leaders_everywhere(topic_, kPartitions, 30s).size(), size_t{kPartitions})
            << "not every partition has a leader after healing\n" << c().describe(topic_);
        const bool full_isr = await_isr_everywhere(
            [&](int32_t p, const std::vector<int32_t>& isr) {
                return std::set<int32_t>(isr.begin(), isr.end()) ==
                       std::set<int32_t>(replicas_[p].begin(), replicas_[p].end());
            },
            40s);
        EXPECT_TRUE(full_isr) << "the ISR did not grow back to every replica within 40 s of healing:\n"
                              << isr_picture();
        EXPECT_TRUE(await_more_acks(50, 30s)) << "writes did not resume after healing: " << producer_state();

        const int stopped = producer_->stop(90s);
        EXPECT_EQ(stopped, 0) << "the producer did not stop cleanly: " << producer_state();
        produced_.catch_up(producer_->lines());
        EXPECT_TRUE(produced_.shut_down()) << "no shutdown_complete from the producer";
        EXPECT_TRUE(produced_.unparsed().empty()) << "producer lines that are no event:\n"
                                                  << lines_of(produced_.unparsed());
        EXPECT_GT(produced_.acks().size(), 0u);
        ::testing::Test::RecordProperty("acknowledged", std::to_string(produced_.acks().size()));
        ::testing::Test::RecordProperty("send_errors", std::to_string(produced_.send_errors()));

        // With the writes stopped, every replica catches up to the leader's end and the high
        // watermark reaches it.
        std::string settling;
        const bool settled = await_condition(
            [&] {
                settling.clear();
                bool all = true;
                for (int32_t p = 0; p < kPartitions; ++p) {
                    const int64_t hw = high_watermark(p);
                    std::set<int64_t> ends;
                    std::string line = topic_ + "-" + std::to_string(p) + ": high watermark " + std::to_string(hw);
                    for (const auto& r : replica_logs(p)) {
                        ends.insert(r.end_offset());
                        line += ", broker " + std::to_string(r.broker_id) + " ends at " + std::to_string(r.end_offset());
                    }
                    settling += line + "\n";
                    all = all && hw >= 0 && ends.size() == 1 && *ends.begin() == hw;
                }
                return all;
            },
            30s);
        EXPECT_TRUE(settled) << "the replicas did not settle on the leader's log within 30 s of the last write:\n"
                             << settling << isr_picture();

        for (int32_t p = 0; p < kPartitions; ++p) {
            const int64_t hw = high_watermark(p);
            out.high_watermarks[p] = std::max<int64_t>(hw, 0);
            auto logs = replica_logs(p);
            out.leader_logs[p] = logs.front();
            const auto differences = compare_replicas(topic_ + "-" + std::to_string(p), logs, hw);
            EXPECT_TRUE(differences.empty()) << lines_of(differences);
        }

        // A full read, from the start of every partition up to its high watermark.
        auto final_read = start_consumer("final-read");
        consumer_history read;
        auto reached = [&](tool_process& t, consumer_history& h) {
            h.catch_up(t.lines());
            for (const auto& [p, hw] : out.high_watermarks) {
                auto it = h.next_offsets().find(p);
                if (hw > 0 && (it == h.next_offsets().end() || it->second < hw)) return false;
            }
            return true;
        };
        EXPECT_TRUE(await_condition([&] { return reached(*final_read, read) || !final_read->running(); }, 45s) &&
                    reached(*final_read, read))
            << "a full read did not reach every high watermark within 45 s; it read up to "
            << ::testing::PrintToString(read.next_offsets()) << " of " << ::testing::PrintToString(out.high_watermarks)
            << "; its stderr:\n" << final_read->error_output();
        EXPECT_EQ(final_read->stop(30s), 0) << final_read->error_output();
        read.catch_up(final_read->lines());
        out.log = contents_of(read);

        const auto lost = missing_acknowledgements(topic_, produced_.acks(), out.log);
        EXPECT_TRUE(lost.empty()) << lines_of(lost);
        const auto backwards = offsets_going_backwards(topic_, read);
        EXPECT_TRUE(backwards.empty()) << "in the full read:\n" << lines_of(backwards);

        // The consumer that read during the fault.
        consumer_history during;
        EXPECT_TRUE(await_condition([&] { return reached(*fault_consumer_, during) || !fault_consumer_->running(); },
                                    20s))
            << "the consumer that read during the fault did not reach every high watermark within 20 s of healing; "
            << "it read up to " << ::testing::PrintToString(during.next_offsets()) << "; its stderr:\n"
            << fault_consumer_->error_output();
        EXPECT_EQ(fault_consumer_->stop(30s), 0) << fault_consumer_->error_output();
        during.catch_up(fault_consumer_->lines());
        EXPECT_TRUE(during.shut_down()) << "no shutdown_complete from the consumer";
        const auto went_back = offsets_going_backwards(topic_, during);
        EXPECT_TRUE(went_back.empty()) << "in the consumer that read during the fault:\n" << lines_of(went_back);
        const auto vanished = records_not_in_log(topic_, during, out.log);
        EXPECT_TRUE(vanished.empty()) << lines_of(vanished);
        return out;
    }

    fs::path dir_;
    const std::string topic_ = "chaos";
    // Declared before cluster_, which may use them (destroyed after it).
    std::unique_ptr<network_namespace> netns_;
    std::unique_ptr<zookeeper_server> zookeeper_;  // a private one, for the tests that need it
    std::unique_ptr<cluster> cluster_;
    std::map<int32_t, std::vector<int32_t>> replicas_;
    std::unique_ptr<tool_process> producer_, fault_consumer_;
    producer_history produced_;
};

// Runs the fault part of a test: a fatal failure in it (an ASSERT) ends only the fault, so that
// verify() still heals the cluster and reports what became of the data.
void fault(const std::function<void()>& steps) { steps(); }

TEST_F(replication_chaos, WithoutReplicationAndWithoutFaultsTheHarnessFindsEveryRecord) {
    start_cluster();
    ASSERT_NO_FATAL_FAILURE(create_topic(1));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    ASSERT_TRUE(await_more_acks(200, 30s)) << producer_state();
    const auto final = verify();
    int64_t total = 0;
    for (const auto& [p, hw] : final.high_watermarks) total += hw;
    EXPECT_EQ(total, static_cast<int64_t>(produced_.acks().size()))
        << "without faults and retries every record is acknowledged once";
}

TEST_F(replication_chaos, WithoutFaultsEveryReplicaHoldsTheLeadersLog) {
    start_cluster();
    ASSERT_NO_FATAL_FAILURE(create_topic(3));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    ASSERT_TRUE(await_more_acks(200, 30s)) << producer_state();
    verify();
}

TEST_F(replication_chaos, LeaderKilledFiveTimesInARow) {
    start_cluster();
    ASSERT_NO_FATAL_FAILURE(create_topic(3));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    fault([&] {
        for (int round = 1; round <= 5; ++round) {
            SCOPED_TRACE("round " + std::to_string(round));
            const int32_t leader = leader_of(0);
            ASSERT_GE(leader, 0) << isr_picture();
            c().kill(leader);
            ASSERT_GE(await_new_leader(0, leader, c().session_timeout() + 10s), 0)
                << "no new leader of " << topic_ << "-0 after broker " << leader << " was killed\n" << isr_picture();
            EXPECT_TRUE(await_more_acks(20, 30s)) << "no writes after the failover: " << producer_state();
            c().start(leader);
            ASSERT_TRUE(in_isr_everywhere(leader, 30s))
                << "broker " << leader << " did not rejoin the ISR within 30 s of its restart\n" << isr_picture();
        }
    });
    verify();
}

TEST_F(replication_chaos, ControllerKilledWhileLeadingPartitions) {
    start_cluster();
    ASSERT_NO_FATAL_FAILURE(create_topic(3));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    fault([&] {
        const int32_t controller = c().await_controller([](int32_t) { return true; }, 20s);
        ASSERT_GE(controller, 0) << c().describe(topic_);
        const auto led = partitions_led_by(controller);
        ASSERT_FALSE(led.empty()) << "the controller leads no partition of " << topic_ << "\n" << isr_picture();
        c().kill(controller);
        EXPECT_GE(c().await_controller([&](int32_t id) { return id != controller; }, c().session_timeout() + 10s), 0)
            << "no new controller after broker " << controller << " was killed\n" << c().describe(topic_);
        for (int32_t p : led) {
            ASSERT_GE(await_new_leader(p, controller, 20s), 0)
                << "no new leader of " << topic_ << "-" << p << " after the controller died\n" << isr_picture();
        }
        EXPECT_TRUE(await_more_acks(20, 30s)) << "no writes after the failover: " << producer_state();
        c().start(controller);
        EXPECT_TRUE(in_isr_everywhere(controller, 30s))
            << "broker " << controller << " did not rejoin the ISR within 30 s of its restart\n" << isr_picture();
    });
    verify();
}

TEST_F(replication_chaos, LeaderPausedPastItsSessionAcknowledgesNothingUnderItsOldEpoch) {
    start_cluster();
    ASSERT_NO_FATAL_FAILURE(create_topic(3));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    const int32_t old_leader = leader_of(0);
    std::vector<int32_t> led;
    std::map<int32_t, int64_t> elected_at;    // partition -> ms since the epoch, by ZooKeeper's clock
    std::map<int32_t, int32_t> new_epoch;     // partition -> the new leader's epoch
    fault([&] {
        ASSERT_GE(old_leader, 0) << isr_picture();
        led = partitions_led_by(old_leader);
        c().pause(old_leader);
        for (int32_t p : led) {
            ASSERT_GE(await_new_leader(p, old_leader, c().session_timeout() + 10s), 0)
                << "no new leader of " << topic_ << "-" << p << " while broker " << old_leader << " is stopped\n"
                << isr_picture();
            auto node = c().zk().zk().get(zk_paths::partition_state_path(topic_, p));
            ASSERT_TRUE(node.ok());
            auto st = zk_paths::decode_partition_state(node->data, node->stat.version);
            ASSERT_TRUE(st.ok());
            elected_at[p] = node->stat.mtime;
            new_epoch[p] = st->leader_epoch;
        }
        EXPECT_TRUE(await_more_acks(20, 30s)) << "no writes on the new leaders: " << producer_state();
        // Back, still believing it leads until it hears otherwise: whatever it takes now must
        // not be acknowledged.
        c().resume(old_leader);
        EXPECT_TRUE(await_more_acks(50, 30s)) << producer_state();
        EXPECT_TRUE(in_isr_everywhere(old_leader, 30s))
            << "broker " << old_leader << " did not rejoin the ISR within 30 s of SIGCONT\n" << isr_picture();
    });
    const auto final = verify();

    // Acknowledgements heard after the new leader's election. The old leader, back from its
    // pause, may still answer a request it completed before it stopped: such a record is
    // committed and the new leader holds it (counted, not a fault). Whatever it takes under its
    // old epoch since must not be acknowledged; it would show here as a value the log does not
    // hold at that offset, its place taken by the new epoch's records.
    int64_t committed_before_election = 0;
    for (const auto& [p, epoch] : new_epoch) {
        const partition_contents& records = final.log.count(p) ? final.log.at(p) : partition_contents{};
        const auto& leader_log = final.leader_logs.at(p);
        std::vector<std::string> late;
        for (const auto& a : produced_.acks()) {
            if (a.partition != p || a.timestamp <= elected_at[p]) continue;
            auto held = records.find(a.offset);
            const auto* batch = leader_log.batch_at(a.offset);
            if (held == records.end() || held->second != a.value) {
                late.push_back("value \"" + a.value + "\" acknowledged at " + topic_ + "-" + std::to_string(p) +
                               "/" + std::to_string(a.offset) + " at " + std::to_string(a.timestamp) +
                               " ms, after the election of epoch " + std::to_string(epoch) + " at " +
                               std::to_string(elected_at[p]) + " ms; the log holds " +
                               (held == records.end() ? std::string("nothing") : "\"" + held->second.value_or("null") + "\"") +
                               " there" + (batch ? ", in batch " + describe(*batch) : std::string()));
            } else if (batch != nullptr && batch->leader_epoch < epoch) {
                ++committed_before_election;
            }
        }
        EXPECT_TRUE(late.empty()) << "broker " << old_leader
                                  << " acknowledged under its old epoch after the new leader's election:\n"
                                  << lines_of(late);
    }
    ::testing::Test::RecordProperty("old_epoch_records_acknowledged_after_election",
                                    std::to_string(committed_before_election));
}

// The follower under test leads nothing, so that stopping or cutting it off touches only the
// ISR of the partitions it follows.
std::map<int32_t, std::vector<int32_t>> never_leading(int32_t follower, const std::vector<int32_t>& others) {
    std::map<int32_t, std::vector<int32_t>> out;
    for (int32_t p = 0; p < kPartitions; ++p) {
        const int32_t first = others[static_cast<size_t>(p) % others.size()];
        const int32_t second = others[(static_cast<size_t>(p) + 1) % others.size()];
        out[p] = {first, second, follower};
    }
    return out;
}

TEST_F(replication_chaos, FollowerPausedLeavesTheIsrAndRejoinsAfterCatchingUp) {
    start_cluster(options(kFollowerSession));
    const int32_t follower = 3;
    ASSERT_NO_FATAL_FAILURE(create_topic(3, never_leading(follower, {1, 2})));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    const int64_t session = registration_session(follower);
    fault([&] {
        c().pause(follower);
        const auto stopped_at = std::chrono::steady_clock::now();
        const bool shrunk = out_of_isr_everywhere(follower, kIsrShrinkLimit);
        ::testing::Test::RecordProperty(
            "isr_shrink_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - stopped_at)
                                                .count()));
        EXPECT_TRUE(shrunk) << "broker " << follower << " stayed in the ISR " << kIsrShrinkLimit.count()
                            << " ms after it stopped fetching\n" << isr_picture();
        // Two in-sync replicas are enough for acks=all with min.insync.replicas=2.
        if (shrunk) {
            EXPECT_TRUE(await_more_acks(20, kWritesWithoutFollowerLimit))
                << "no writes while the follower is stopped: " << producer_state();
        }
        c().resume(follower);
        EXPECT_TRUE(in_isr_everywhere(follower, 30s))
            << "broker " << follower << " did not rejoin the ISR within 30 s of SIGCONT\n" << isr_picture();
    });
    verify();
    EXPECT_EQ(registration_session(follower), session)
        << "broker " << follower << "'s session expired: the pause outlasted it, so the controller, not the leader's "
        << "lag check, may have taken it out of the ISR";
}

TEST_F(replication_chaos, TwoLeadersKilledInQuickSuccession) {
    start_cluster();
    ASSERT_NO_FATAL_FAILURE(create_topic(3));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    fault([&] {
        const int32_t first = leader_of(0);
        ASSERT_GE(first, 0) << isr_picture();
        c().kill(first);
        const int32_t second = await_new_leader(0, first, c().session_timeout() + 10s);
        ASSERT_GE(second, 0) << "no new leader of " << topic_ << "-0 after broker " << first << " was killed\n"
                             << isr_picture();
        // At once: the new leader may not have been followed by anyone yet (KIP-101).
        c().kill(second);
        const int32_t third = await_new_leader(0, second, c().session_timeout() + 10s);
        EXPECT_GE(third, 0) << "no leader of " << topic_ << "-0 after brokers " << first << " and " << second
                            << " were killed\n" << isr_picture();
        c().start(first);
        c().start(second);
        EXPECT_TRUE(in_isr_everywhere(first, 30s) && in_isr_everywhere(second, 30s))
            << "brokers " << first << " and " << second << " did not both rejoin the ISR within 30 s\n"
            << isr_picture();
    });
    verify();
}

// Cutting a follower off the network is not the same fault as stopping it: its process keeps
// running, and its connections neither fail nor close but go silent (iptables drops every
// packet), so its fetcher must notice the dead leader connection through its own deadlines and
// connect again once the network is back. The cut is longer than replica.lag.time.max.ms, so
// the leaders must drop it from the ISR, and shorter than the session timeout, so ZooKeeper
// keeps its session and the controller never sees it leave: only the leaders' lag check can
// take it out of the ISR, and only catching up can bring it back, while writes go on with the
// two other replicas (min.insync.replicas=2). A longer cut would turn into a broker failure,
// which the kill tests cover already.
// The cut-off broker runs in a network namespace of its own; ZooKeeper and the other brokers
// listen on the host end of a veth pair, so that it can reach them (and they it) until the cut.
TEST_F(replication_chaos, FollowerCutOffByTheNetworkLeavesTheIsrAndRejoins) {
    if (auto why = network_namespace::unavailable_reason()) {
        GTEST_SKIP() << "cannot cut a broker off the network on this machine: " << *why;
    }
    netns_ = std::make_unique<network_namespace>();
    zookeeper_ = std::make_unique<zookeeper_server>(netns_->host_address());
    const int32_t follower = 3;
    cluster_options o = options(kFollowerSession);
    o.zookeeper_connect = zookeeper_->connect_string() + "/cut";
    o.customize_broker = [&](test_support::broker_options& b) {
        if (b.broker_id == follower) {
            b.host = netns_->inner_address();
            b.network_namespace = netns_->name();
        } else {
            b.host = netns_->host_address();
        }
    };
    start_cluster(o);
    ASSERT_NO_FATAL_FAILURE(create_topic(3, never_leading(follower, {1, 2})));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    const int64_t session = registration_session(follower);
    fault([&] {
        netns_->cut();
        const bool shrunk = out_of_isr_everywhere(follower, kIsrShrinkLimit);
        EXPECT_TRUE(shrunk) << "broker " << follower << " stayed in the ISR " << kIsrShrinkLimit.count()
                            << " ms after it was cut off\n" << isr_picture();
        if (shrunk) {
            EXPECT_TRUE(await_more_acks(20, kWritesWithoutFollowerLimit))
                << "no writes while the follower is cut off: " << producer_state();
        }
        netns_->heal();
        EXPECT_TRUE(in_isr_everywhere(follower, 30s))
            << "broker " << follower << " did not rejoin the ISR within 30 s of the network's return\n"
            << isr_picture();
    });
    verify();
    EXPECT_EQ(registration_session(follower), session)
        << "broker " << follower << "'s session expired during the cut: the test meant a cut shorter than it";
}

TEST_F(replication_chaos, ZookeeperRestartedDuringWrites) {
    zookeeper_ = std::make_unique<zookeeper_server>();
    cluster_options o = options();
    o.zookeeper_connect = zookeeper_->connect_string() + "/restarted";
    start_cluster(o);
    ASSERT_NO_FATAL_FAILURE(create_topic(3));
    ASSERT_NO_FATAL_FAILURE(start_traffic());
    fault([&] {
        std::map<int32_t, size_t> seen;
        for (int32_t id : c().ids()) seen[id] = c().broker(id).output_since_start().size();
        zookeeper_->stop();
        for (int32_t id : c().ids()) {
            EXPECT_TRUE(await_condition(
                [&] {
                    return c().broker(id).output_since_start().find("Disconnected from ZooKeeper", seen[id]) !=
                           std::string::npos;
                },
                20s))
                << "broker " << id << " did not notice ZooKeeper going away";
        }
        // The ISR needs no change while every replica keeps up, so writes go on without ZooKeeper.
        EXPECT_TRUE(await_more_acks(50, 15s)) << "no writes while ZooKeeper is down: " << producer_state();
        zookeeper_->restart();
        EXPECT_TRUE(await_condition(
            [&] {
                auto ids = c().ids();
                return c().registered_ids() == std::set<int32_t>(ids.begin(), ids.end());
            },
            30s))
            << c().describe(topic_);
    });
    verify();
}

}  // namespace
}  // namespace gregor::chaos
