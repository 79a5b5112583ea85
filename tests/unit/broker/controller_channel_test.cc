// The controller's requests to other brokers (controller_channel_manager) against fake brokers:
// what arrives is what the controller decided, in the order it decided it, even across refused
// and broken connections; a broker that leaves the live set loses its queue; ControlledShutdown
// answers come back as values.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "broker/cluster/controller_channel_manager.h"
#include "broker/cluster/controller_requests.h"
#include "tests/unit/client/fake_cluster.h"

namespace gregor::broker {
namespace {

using namespace std::chrono_literals;
using test::fake_cluster;
using test::hook_action;

// What the fake brokers received from the channel, decoded.
struct received {
    int32_t node;
    native::api_key key;
    coordination::leader_and_isr_request leader_and_isr;
    coordination::metadata_update update;
    coordination::stop_replica_request stop;
};

struct controller_channel_test : ::testing::Test {
    fake_cluster cluster{2};
    std::mutex mu;
    std::condition_variable cv;
    std::vector<received> seen;
    // Broker 1 closes the connection on this many requests before it answers.
    int refusals_left = 0;
    bool stall = false;
    int stalled = 0;  // requests broker 1 left unanswered

    void SetUp() override {
        cluster.set_hook([this](int32_t node, const native::request_header& h, std::span<std::byte> body) {
            std::lock_guard lock(mu);
            if (node == 1 && refusals_left > 0) {
                --refusals_left;
                return hook_action::close();
            }
            if (node == 1 && stall) {
                ++stalled;
                cv.notify_all();
                return hook_action::stall();
            }
            received r{node, static_cast<native::api_key>(h.api_key), {}, {}, {}};
            std::vector<std::byte> reply;
            switch (r.key) {
            case native::api_key::leader_and_isr:
                r.leader_and_isr = from_native(native::decode<native::leader_and_isr_request>(body).value());
                reply = native::encode_response(h.correlation_id, {}, native::leader_and_isr_response{});
                break;
            case native::api_key::update_metadata:
                r.update = from_native(native::decode<native::update_metadata_request>(body).value());
                reply = native::encode_response(h.correlation_id, {}, native::update_metadata_response{});
                break;
            case native::api_key::stop_replica:
                r.stop = from_native(native::decode<native::stop_replica_request>(body).value());
                reply = native::encode_response(h.correlation_id, {}, native::stop_replica_response{});
                break;
            default:
                return hook_action::pass();
            }
            seen.push_back(std::move(r));
            cv.notify_all();
            return hook_action::reply(std::move(reply));
        });
    }

    coordination::broker_info broker(int32_t id) {
        coordination::broker_info b;
        b.id = id;
        b.host = "127.0.0.1";
        b.port = 1;  // wrong on purpose: the named listener's endpoint must be used
        b.endpoints.push_back({"REPLICATION", "PLAINTEXT", "127.0.0.1", cluster.port(id)});
        return b;
    }

    static channel_options options() {
        channel_options o;
        o.listener = "REPLICATION";
        o.request_timeout = 5000ms;
        o.retry_backoff = 10ms;
        return o;
    }

    // Waits until `n` requests were seen; false at the deadline.
    bool await_seen(size_t n) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, 20s, [&] { return seen.size() >= n; });
    }
};

coordination::leader_and_isr_request leadership(int32_t epoch, const std::string& topic) {
    coordination::leader_and_isr_request r;
    r.controller_id = 9;
    r.controller_epoch = epoch;
    coordination::partition_info p;
    p.tp = {topic, 0};
    p.topic_id = "AAAAAAAAAAAAAAAAAAAAAA";
    p.replicas = {1, 2};
    p.state = {1, 4, {1, 2}, epoch, 7};
    r.partitions.push_back(p);
    return r;
}

TEST_F(controller_channel_test, RequestsArriveWholeAndInOrder) {
    controller_channel_manager channel(options());
    channel.set_live_brokers({broker(1), broker(2)});
    const auto first = leadership(3, "a");
    channel.leader_and_isr(1, first);
    coordination::metadata_update u;
    u.controller_id = 9;
    u.controller_epoch = 3;
    u.live_brokers = {broker(1), broker(2)};
    u.partitions = first.partitions;
    u.deleted_topics = {"old"};
    channel.update_metadata(1, u);
    channel.update_metadata(2, u);
    coordination::stop_replica_request stop{9, 3, true, {{"old", 0}, {"old", 1}}};
    channel.stop_replica(1, stop);
    for (int i = 0; i < 20; ++i) channel.leader_and_isr(1, leadership(3, "t" + std::to_string(i)));
    ASSERT_TRUE(await_seen(24));

    std::lock_guard lock(mu);
    std::vector<received> to_one;
    for (const auto& r : seen) {
        if (r.node == 1) to_one.push_back(r);
    }
    ASSERT_EQ(to_one.size(), 23u);
    EXPECT_EQ(to_one[0].key, native::api_key::leader_and_isr);
    EXPECT_EQ(to_one[0].leader_and_isr.partitions, first.partitions);
    EXPECT_EQ(to_one[0].leader_and_isr.controller_epoch, 3);
    EXPECT_EQ(to_one[1].key, native::api_key::update_metadata);
    EXPECT_EQ(to_one[1].update.live_brokers, u.live_brokers);
    EXPECT_EQ(to_one[1].update.deleted_topics, u.deleted_topics);
    EXPECT_EQ(to_one[2].key, native::api_key::stop_replica);
    EXPECT_TRUE(to_one[2].stop.delete_partitions);
    EXPECT_EQ(to_one[2].stop.partitions, stop.partitions);
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(to_one[3 + i].leader_and_isr.partitions.at(0).tp.topic, "t" + std::to_string(i));
    }
}

TEST_F(controller_channel_test, RetriesOnNewConnectionsUntilTheBrokerAnswers) {
    refusals_left = 3;
    controller_channel_manager channel(options());
    channel.set_live_brokers({broker(1)});
    channel.leader_and_isr(1, leadership(1, "first"));
    channel.leader_and_isr(1, leadership(1, "second"));
    ASSERT_TRUE(await_seen(2));
    std::lock_guard lock(mu);
    EXPECT_EQ(refusals_left, 0);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].leader_and_isr.partitions.at(0).tp.topic, "first");
    EXPECT_EQ(seen[1].leader_and_isr.partitions.at(0).tp.topic, "second");
}

TEST_F(controller_channel_test, ABrokerThatLeavesLosesItsQueue) {
    {
        std::lock_guard lock(mu);
        stall = true;
    }
    controller_channel_manager channel(options());
    channel.set_live_brokers({broker(1)});
    channel.leader_and_isr(1, leadership(1, "stalled"));
    channel.leader_and_isr(1, leadership(1, "queued"));
    {
        // Only once the hook has stalled it may stalling stop, or "stalled" would be answered.
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return stalled == 1; }));
    }
    channel.set_live_brokers({});
    channel.leader_and_isr(1, leadership(1, "not live"));
    {
        std::lock_guard lock(mu);
        stall = false;
    }
    // Back again: only what is sent from now on arrives.
    channel.set_live_brokers({broker(1)});
    channel.leader_and_isr(1, leadership(2, "marker"));
    ASSERT_TRUE(await_seen(1));
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].leader_and_isr.partitions.at(0).tp.topic, "marker");
}

TEST_F(controller_channel_test, ControlledShutdownAnswersAreValues) {
    cluster.set_hook([](int32_t, const native::request_header& h, std::span<std::byte> body) {
        if (h.api_key != static_cast<int16_t>(native::api_key::controlled_shutdown)) return hook_action::pass();
        auto req = native::decode<native::controlled_shutdown_request>(body);
        if (!req || req->broker_id == 5) {
            return hook_action::reply(native::encode_error_response(
                h.correlation_id, {errc::broker_not_available, "Broker 5 is not alive."}));
        }
        native::controlled_shutdown_response r;
        r.remaining.push_back({"solo", 0});
        return hook_action::reply(native::encode_response(h.correlation_id, {}, r));
    });
    controller_channel_manager channel(options());
    auto led = channel.controlled_shutdown({"127.0.0.1", cluster.port(1)}, 3);
    ASSERT_TRUE(led.ok()) << led.error().message;
    EXPECT_EQ(*led, (std::vector<topic_partition>{{"solo", 0}}));
    auto refused = channel.controlled_shutdown({"127.0.0.1", cluster.port(2)}, 5);
    EXPECT_EQ(refused.code(), errc::broker_not_available);
    cluster.kill(2);
    EXPECT_EQ(channel.controlled_shutdown({"127.0.0.1", cluster.port(2)}, 3).code(), errc::network_exception);
}

}  // namespace
}  // namespace gregor::broker
