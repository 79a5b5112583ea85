// A gregor-server's life as a process: SIGTERM is a clean shutdown (exit 0, clean-shutdown
// marker, a restart without recovery and with the data intact); SIGKILL in the middle of
// producing is recovered at the next start with every acknowledged record readable and offsets
// continuing densely; ZooKeeper down at start-up is waited for (and said so in the log);
// ZooKeeper going away does not stop produce and fetch on the partitions the broker leads;
// an invalid config value refuses start-up naming key and value; an unknown key is a warning;
// a second broker with a live broker's id does not take its place: it exits non-zero, naming the
// id, once the conflict has outlasted the session timeout.
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/broker_test_support.h"
#include "tests/support/shared_zookeeper.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::integration {
namespace {

namespace fs = std::filesystem;
using test_support::broker_options;
using test_support::eventually;
using test_support::shared_zookeeper;
using test_support::zookeeper_server;
using clock_type = std::chrono::steady_clock;

// What a clean shutdown leaves in each log directory (as Kafka's .kafka_cleanshutdown).
constexpr const char* kCleanShutdownMarker = ".gregor_cleanshutdown";

int16_t code(errc e) { return static_cast<int16_t>(e); }

// Every record of a partition, fetched from offset 0 up to the high watermark.
fetched fetch_all(raw_connection& c, const std::string& topic, int32_t partition) {
    fetched all;
    int64_t next = 0;
    for (int rounds = 0; rounds < 10000; ++rounds) {
        auto f = fetch(c, topic, partition, next);
        if (f.error_code != 0) throw std::runtime_error("fetch at " + std::to_string(next) + ": " + f.error_message);
        all.high_watermark = f.high_watermark;
        all.log_start_offset = f.log_start_offset;
        if (f.batches.empty()) break;
        for (auto& b : f.batches) {
            next = record_batch::batch_view(b).last_offset() + 1;
            all.batches.push_back(std::move(b));
        }
        if (next >= f.high_watermark) break;
    }
    return all;
}

TEST(lifecycle, SigtermShutsDownCleanlyAndTheRestartNeedsNoRecovery) {
    auto broker = start_broker({{"log.segment.bytes", "4096"}});
    {
        raw_connection c(broker->port());
        ASSERT_EQ(create_topic(c, "durable", 2).error_code, 0);
        for (int i = 0; i < 40; ++i) {
            auto r = produce(c, "durable", i % 2, make_batch({"v" + std::to_string(i), std::string(200, 'p')}));
            ASSERT_EQ(r.error_code, 0) << r.error_message;
        }
    }
    // At the signal: one connection idle, one with a long-polling fetch in flight. The fetch is
    // finished (answered) before the broker goes.
    raw_connection idle(broker->port());
    raw_connection polling(broker->port());
    native::fetch_request poll;
    poll.max_wait_ms = 1500;
    poll.topics.push_back({"durable", {{0, -1, 40, 1048576}}});  // the log end
    const int32_t poll_id = polling.send_request(native::api_key::fetch, poll);
    ASSERT_FALSE(polling.read_reply(200ms).has_value()) << "the fetch at the log end did not wait";
    EXPECT_EQ(broker->terminate(), 0);
    auto answered = polling.read_reply(1s);
    ASSERT_TRUE(answered.has_value()) << "the in-flight fetch was dropped at shutdown";
    EXPECT_EQ(answered->correlation_id, poll_id);
    EXPECT_TRUE(answered->error.ok());
    EXPECT_TRUE(polling.wait_closed(1s));
    EXPECT_TRUE(idle.wait_closed(1s));
    EXPECT_TRUE(fs::exists(broker->log_dir() / kCleanShutdownMarker));
    const std::string stop_output = broker->output_since_start();
    EXPECT_NE(stop_output.find("shut down cleanly"), std::string::npos);

    broker->start();
    const std::string start_output = broker->output_since_start();
    EXPECT_EQ(start_output.find("recovered"), std::string::npos) << "a clean restart ran recovery:\n" << start_output;
    // The marker vouches for one start only.
    EXPECT_FALSE(fs::exists(broker->log_dir() / kCleanShutdownMarker));

    raw_connection c(broker->port());
    for (int32_t p = 0; p < 2; ++p) {
        await_served(c, "durable", p);
        auto all = fetch_all(c, "durable", p);
        EXPECT_EQ(all.high_watermark, 40);
        std::vector<std::string> expected;
        for (int i = p; i < 40; i += 2) {
            expected.push_back("v" + std::to_string(i));
            expected.push_back(std::string(200, 'p'));
        }
        EXPECT_EQ(all.values(), expected);
        auto more = produce(c, "durable", p, make_batch({"after"}));
        EXPECT_EQ(more.error_code, 0);
        EXPECT_EQ(more.base_offset, 40);
    }
}

TEST(lifecycle, TopicConfigOverridesApplyFromCreationAndAcrossARestart) {
    auto broker = start_broker();
    auto max_message_bytes = [&](raw_connection& c) {
        native::describe_configs_request req;
        req.resources.push_back({native::kResourceTopic, "strict", std::vector<std::string>{"max.message.bytes"}});
        auto r = c.call(native::api_key::describe_configs, req).as<native::describe_configs_response>();
        const auto& configs = r.resources.at(0).configs;
        return configs.empty() ? std::string("<none>") : configs[0].value.value_or("<null>");
    };
    const auto big = std::string(4096, 'B');
    {
        raw_connection c(broker->port());
        ASSERT_EQ(create_topic(c, "strict", 1, 1, {{"max.message.bytes", "2048"}}).error_code, 0);
        EXPECT_TRUE(eventually([&] { return max_message_bytes(c) == "2048"; })) << max_message_bytes(c);
        // In force in the log, not only in DescribeConfigs.
        EXPECT_EQ(produce(c, "strict", 0, make_batch({big})).error_code, code(errc::message_too_large));
        EXPECT_EQ(produce(c, "strict", 0, make_batch({"small"})).error_code, 0);
    }
    ASSERT_EQ(broker->terminate(), 0);
    broker->start();
    raw_connection c(broker->port());
    await_served(c, "strict", 0);
    EXPECT_TRUE(eventually([&] { return max_message_bytes(c) == "2048"; })) << max_message_bytes(c);
    EXPECT_EQ(produce(c, "strict", 0, make_batch({big})).error_code, code(errc::message_too_large));
    EXPECT_EQ(fetch(c, "strict", 0, 0).values(), std::vector<std::string>{"small"});
}

TEST(lifecycle, SigkillMidProduceIsRecoveredWithEveryAckedRecord) {
    // The killed process's ZooKeeper session holds broker.id until it expires: keep that short.
    auto broker = start_broker({{"log.segment.bytes", "16384"}, {"zookeeper.session.timeout.ms", "2000"}});
    {
        raw_connection c(broker->port());
        ASSERT_EQ(create_topic(c, "crash").error_code, 0);
    }
    struct acked_batch {
        int64_t base_offset;
        std::vector<std::string> values;
    };
    std::mutex mu;
    std::vector<acked_batch> acked;  // guarded by mu
    std::atomic<bool> stop{false};
    std::string producer_end;
    std::thread producer([&] {
        try {
            raw_connection c(broker->port());
            for (int i = 0; !stop; ++i) {
                std::vector<std::string> values;
                for (int j = 0; j < 5; ++j) values.push_back("r" + std::to_string(i) + "." + std::to_string(j));
                auto r = produce(c, "crash", 0, make_batch(values), 1);
                if (r.error_code != 0) {
                    producer_end = "error " + r.error_message;
                    return;
                }
                std::lock_guard lock(mu);
                acked.push_back({r.base_offset, std::move(values)});
            }
            producer_end = "stopped";
        } catch (const std::exception& e) {
            producer_end = e.what();  // the connection died with the broker
        }
    });
    // Kill it while batches are flowing, a few segments in.
    const bool flowing = eventually(
        [&] {
            std::lock_guard lock(mu);
            return acked.size() >= 600;
        },
        60s);
    broker->kill();
    stop = true;
    producer.join();
    ASSERT_TRUE(flowing) << "the producer did not get going: " << producer_end;
    ASSERT_NE(producer_end, "stopped");

    broker->start();
    EXPECT_NE(broker->output_since_start().find("recovered"), std::string::npos)
        << "no recovery after SIGKILL:\n" << broker->output_since_start();
    raw_connection c(broker->port());
    await_served(c, "crash", 0);
    auto all = fetch_all(c, "crash", 0);
    auto records = all.records();
    // Offsets dense from 0.
    for (size_t i = 0; i < records.size(); ++i) {
        ASSERT_EQ(records[i].offset, static_cast<int64_t>(i)) << "a gap or a repeat in the recovered log";
    }
    EXPECT_EQ(all.high_watermark, static_cast<int64_t>(records.size()));
    // Every acknowledged record is there, at the offset it was acknowledged with.
    ASSERT_FALSE(acked.empty());
    const int64_t acked_end = acked.back().base_offset + static_cast<int64_t>(acked.back().values.size());
    ASSERT_GE(static_cast<int64_t>(records.size()), acked_end);
    for (const auto& b : acked) {
        for (size_t j = 0; j < b.values.size(); ++j) {
            const auto& r = records[static_cast<size_t>(b.base_offset) + j];
            ASSERT_EQ(r.value, b.values[j]) << "at offset " << r.offset;
        }
    }
    // New records follow on at the end of the recovered log.
    auto next = produce(c, "crash", 0, make_batch({"after-crash"}));
    ASSERT_EQ(next.error_code, 0) << next.error_message;
    EXPECT_EQ(next.base_offset, static_cast<int64_t>(records.size()));
    EXPECT_EQ(fetch(c, "crash", 0, next.base_offset).values(next.base_offset), std::vector<std::string>{"after-crash"});
}

TEST(lifecycle, ZookeeperDownAtStartIsWaitedForThenTheBrokerRegisters) {
    zookeeper_server zk;
    zk.stop();
    broker_options o;
    o.zookeeper_connect = zk.connect_string() + "/late";
    broker_process broker(o, broker_process::ready_level::serving);
    // It stays up and says why it is not in the cluster yet.
    EXPECT_TRUE(broker.wait_for_output("not reachable; retrying", 20s)) << broker.output_since_start();
    ASSERT_TRUE(broker.running());
    {
        raw_connection c(broker.port());
        auto m = metadata(c, std::nullopt);
        EXPECT_EQ(m.controller_id, -1);
        EXPECT_TRUE(m.brokers.empty());
    }

    zk.restart();
    broker.wait_ready(broker_process::ready_level::registered, 30s);
    raw_connection c(broker.port());
    auto t = create_topic(c, "late-topic");
    ASSERT_EQ(t.error_code, 0) << t.error_message;
    auto r = produce(c, "late-topic", 0, make_batch({"finally"}));
    EXPECT_EQ(r.error_code, 0) << r.error_message;
    EXPECT_EQ(fetch(c, "late-topic", 0, 0).values(), std::vector<std::string>{"finally"});
}

TEST(lifecycle, ZookeeperStoppedWhileRunningTheBrokerKeepsServingItsPartitions) {
    zookeeper_server zk;
    broker_options o;
    o.zookeeper_connect = zk.connect_string() + "/lost";
    broker_process broker(o);
    raw_connection c(broker.port());
    ASSERT_EQ(create_topic(c, "steady", 2).error_code, 0);
    ASSERT_EQ(produce(c, "steady", 0, make_batch({"before"})).error_code, 0);

    zk.stop();
    // Keep producing and fetching until the broker has noticed ZooKeeper is gone, and after.
    int64_t expected_end = 1;
    bool noticed = false;
    const auto deadline = clock_type::now() + 30s;
    while (clock_type::now() < deadline) {
        noticed = broker.output_since_start().find("not reachable; retrying") != std::string::npos;
        auto r = produce(c, "steady", 0, make_batch({"during-" + std::to_string(expected_end)}), noticed ? -1 : 1);
        ASSERT_EQ(r.error_code, 0) << r.error_message;
        ASSERT_EQ(r.base_offset, expected_end);
        ++expected_end;
        if (noticed) break;
        // Paced by a long-poll at the log end, so the loop waits on the broker, not on a sleep.
        auto f = fetch(c, "steady", 1, 0, /*max_wait_ms=*/200);
        ASSERT_EQ(f.error_code, 0) << f.error_message;
    }
    ASSERT_TRUE(noticed) << "the broker never said ZooKeeper was unreachable";
    ASSERT_TRUE(broker.running());
    auto all = fetch_all(c, "steady", 0);
    EXPECT_EQ(all.high_watermark, expected_end);
    EXPECT_EQ(all.values().front(), "before");
    EXPECT_EQ(list_offset(c, "steady", 0, native::kLatestTimestamp).offset, expected_end);
    // Other connections are accepted and served too.
    raw_connection other(broker.port());
    auto r = produce(other, "steady", 1, make_batch({"p1"}));
    EXPECT_EQ(r.error_code, 0) << r.error_message;
    EXPECT_EQ(fetch(other, "steady", 1, 0).values(), std::vector<std::string>{"p1"});

    // When ZooKeeper returns, so does the cluster: topics can be created again.
    zk.restart();
    native::create_topics_response::topic t;
    EXPECT_TRUE(eventually([&] {
        t = create_topic(c, "after-outage", 1, 1, {}, 5000);
        return t.error_code == 0 || t.error_code == code(errc::topic_already_exists);
    }, 45s)) << t.error_message;
}

TEST(lifecycle, InvalidConfigValueRefusesToStartNamingKeyAndValue) {
    struct probe {
        std::map<std::string, std::string> properties, overrides;
        std::string key, value;
    };
    for (const auto& p : {probe{{{"num.partitions", "abc"}}, {}, "num.partitions", "abc"},
                          probe{{}, {{"socket.request.max.bytes", "12x"}}, "socket.request.max.bytes", "12x"},
                          probe{{{"auto.create.topics.enable", "maybe"}}, {}, "auto.create.topics.enable", "maybe"},
                          probe{{{"log.segment.bytes", "-5"}}, {}, "log.segment.bytes", "-5"}}) {
        SCOPED_TRACE(p.key + "=" + p.value);
        broker_options o;
        o.zookeeper_connect = shared_zookeeper::isolated_connect();
        o.properties = p.properties;
        o.overrides = p.overrides;
        broker_process broker(o, broker_process::ready_level::started);
        auto exit_code = broker.wait_exit(20s);
        ASSERT_TRUE(exit_code.has_value()) << "still running with " << p.key << "=" << p.value;
        EXPECT_NE(*exit_code, 0);
        const std::string err = broker.error_output_since_start();
        EXPECT_NE(err.find(p.key), std::string::npos) << "stderr: " << err;
        EXPECT_NE(err.find("'" + p.value + "'"), std::string::npos) << "stderr: " << err;
        EXPECT_FALSE(fs::exists(broker.log_dir())) << "it got as far as creating its log directory";
    }
}

TEST(lifecycle, UnknownConfigKeyIsAWarningAndTheBrokerStarts) {
    auto broker = start_broker({{"no.such.setting", "42"}, {"log.flush.interval.messagez", "1"}});
    const std::string out = broker->output_since_start();
    EXPECT_NE(out.find("no.such.setting"), std::string::npos) << out;
    EXPECT_NE(out.find("log.flush.interval.messagez"), std::string::npos) << out;
    raw_connection c(broker->port());
    EXPECT_EQ(create_topic(c, "fine").error_code, 0);
}

TEST(lifecycle, SecondBrokerWithTheSameIdDoesNotTakeOver) {
    const std::string zk = shared_zookeeper::isolated_connect();
    auto first = start_broker({}, 7, zk);
    {
        raw_connection c(first->port());
        ASSERT_EQ(create_topic(c, "owned").error_code, 0);
        ASSERT_EQ(produce(c, "owned", 0, make_batch({"mine"})).error_code, 0);
    }
    broker_options o;
    o.broker_id = 7;
    o.zookeeper_connect = zk;
    broker_process second(o, broker_process::ready_level::started);
    // It says why it waits, and gives up once the conflict has outlasted the session timeout
    // (6 s, broker_process's default): by then it cannot be an earlier session of its own.
    EXPECT_TRUE(second.wait_for_output("is already registered by another broker", 20s)) << second.output_since_start();
    const auto exit_code = second.wait_exit(16s);
    ASSERT_TRUE(exit_code.has_value()) << "the second broker 7 still runs:\n" << second.output_since_start();
    EXPECT_NE(*exit_code, 0);
    EXPECT_NE(second.output_since_start().find("broker.id 7 is already registered by another broker"),
              std::string::npos)
        << second.output_since_start();

    // The first stays the registered broker 7 and the controller, and keeps serving.
    ASSERT_TRUE(first->running());
    raw_connection c(first->port());
    auto m = metadata(c, std::nullopt);
    ASSERT_EQ(m.brokers.size(), 1u);
    EXPECT_EQ(m.brokers[0].node_id, 7);
    EXPECT_EQ(m.brokers[0].port, first->port());
    EXPECT_EQ(m.controller_id, 7);
    auto r = produce(c, "owned", 0, make_batch({"still mine"}));
    EXPECT_EQ(r.error_code, 0) << r.error_message;
    EXPECT_EQ(r.base_offset, 1);
    EXPECT_EQ(fetch(c, "owned", 0, 0).values(), (std::vector<std::string>{"mine", "still mine"}));
}

}  // namespace
}  // namespace gregor::integration
