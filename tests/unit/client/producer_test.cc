// The producer against fake brokers: routing to leaders, partitioning, batching, acks, retries
// through leader changes and dead brokers, ordering, timeouts, and what close() leaves behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>

#include "client/murmur2.h"
#include "client/producer.h"
#include "tests/unit/client/fake_cluster.h"

namespace gregor::client {
namespace {

using namespace std::chrono_literals;
using test::fake_cluster;
using test::hook_action;

properties props(const fake_cluster& c, properties extra = {}) {
    extra.emplace("bootstrap.servers", c.bootstrap());
    extra.emplace("retry.backoff.ms", "20");
    extra.emplace("request.timeout.ms", "5000");
    return extra;
}

std::unique_ptr<producer> make(const fake_cluster& c, properties extra = {}) {
    auto p = producer::create(props(c, std::move(extra)));
    EXPECT_TRUE(p) << p.error().message;
    return std::move(*p);
}

producer_record rec(std::string topic, std::string value,
                    std::optional<std::string> key = std::nullopt) {
    producer_record r;
    r.topic = std::move(topic);
    r.value = std::move(value);
    r.key = std::move(key);
    return r;
}

delivery_report wait(std::future<delivery_report>& f) {
    if (f.wait_for(20s) != std::future_status::ready) {
        ADD_FAILURE() << "no delivery report within 20 s";
        return {};
    }
    return f.get();
}

TEST(producer, KeylessRecordsGoRoundRobinAndGetTheirOffsets) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 3);
    auto p = make(cluster);
    std::vector<std::future<delivery_report>> fs;
    for (int i = 0; i < 7; ++i) fs.push_back(p->send(rec("t", "v" + std::to_string(i))));
    std::vector<int32_t> parts;
    std::map<int32_t, std::vector<int64_t>> offsets;
    for (auto& f : fs) {
        auto r = wait(f);
        ASSERT_TRUE(r.error.ok()) << r.error.message;
        EXPECT_EQ(r.topic, "t");
        parts.push_back(r.partition);
        offsets[r.partition].push_back(r.offset);
    }
    EXPECT_EQ(parts, (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0}));
    EXPECT_EQ(offsets[0], (std::vector<int64_t>{0, 1, 2}));
    EXPECT_EQ(offsets[1], (std::vector<int64_t>{0, 1}));
    auto stored = cluster.records({"t", 0});
    ASSERT_EQ(stored.size(), 3u);
    EXPECT_EQ(stored[0].value, "v0");
    EXPECT_EQ(stored[1].value, "v3");
    EXPECT_EQ(stored[2].value, "v6");
}

TEST(producer, KeyedRecordsLandWhereKafkaPutsThem) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 6);
    auto p = make(cluster);
    for (int i = 0; i < 20; ++i) {
        const std::string key = "user-" + std::to_string(i);
        auto f = p->send(rec("t", "x", key));
        auto r = wait(f);
        ASSERT_TRUE(r.error.ok()) << r.error.message;
        EXPECT_EQ(r.partition, to_positive(murmur2(key)) % 6) << key;
    }
}

TEST(producer, RecordsKeepKeysHeadersTimestampsAndNulls) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    auto p = make(cluster);
    producer_record r;
    r.topic = "t";
    r.key = "k";
    r.timestamp = 1234567;
    r.headers = {{"h1", std::string("a")}, {"h2", std::nullopt}};
    auto f1 = p->send(r);
    producer_record tomb;
    tomb.topic = "t";
    tomb.partition = 0;
    auto f2 = p->send(tomb);
    auto r1 = wait(f1);
    auto r2 = wait(f2);
    ASSERT_TRUE(r1.error.ok());
    ASSERT_TRUE(r2.error.ok());
    EXPECT_EQ(r1.timestamp, 1234567);
    auto stored = cluster.records({"t", 0});
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[0].key, "k");
    EXPECT_FALSE(stored[0].value);
    EXPECT_EQ(stored[0].timestamp, 1234567);
    EXPECT_EQ(stored[0].headers, r.headers);
    EXPECT_FALSE(stored[1].key);
    EXPECT_FALSE(stored[1].value);
}

TEST(producer, LingerGathersRecordsIntoOneRequest) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    auto p = make(cluster, {{"linger.ms", "200"}});
    std::vector<std::future<delivery_report>> fs;
    for (int i = 0; i < 10; ++i) fs.push_back(p->send(rec("t", "v")));
    for (auto& f : fs) ASSERT_TRUE(wait(f).error.ok());
    auto seen = cluster.produces();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].record_counts, std::vector<int32_t>{10});
}

TEST(producer, BatchSizeSplitsBatches) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    auto p = make(cluster, {{"linger.ms", "60000"}, {"batch.size", "500"}});
    std::vector<std::future<delivery_report>> fs;
    for (int i = 0; i < 10; ++i) fs.push_back(p->send(rec("t", std::string(100, 'x'))));
    ASSERT_TRUE(p->flush(20s).ok());
    int total = 0;
    for (const auto& s : cluster.produces()) {
        for (int32_t n : s.record_counts) {
            EXPECT_LE(n, 4);  // 500 bytes hold at most four 100-byte records
            total += n;
        }
    }
    EXPECT_EQ(total, 10);
    EXPECT_GE(cluster.produces().size(), 3u);
}

TEST(producer, FlushSendsWithoutWaitingForLinger) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 2);
    auto p = make(cluster, {{"linger.ms", "600000"}});
    auto f = p->send(rec("t", "v"));
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(p->flush(20s).ok());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_EQ(f.wait_for(0s), std::future_status::ready);  // callbacks ran before flush returned
    EXPECT_TRUE(f.get().error.ok());
}

TEST(producer, RoutesEachPartitionToItsLeader) {
    fake_cluster cluster(2);
    cluster.create_topic("t", 2, {1, 2});  // p0 on broker 1, p1 on broker 2
    auto p = make(cluster);
    auto f0 = p->send(rec("t", "a"));
    auto f1 = p->send(rec("t", "b"));
    EXPECT_TRUE(wait(f0).error.ok());
    EXPECT_TRUE(wait(f1).error.ok());
    for (const auto& s : cluster.produces()) {
        for (const auto& tp : s.partitions) EXPECT_EQ(s.node, tp.partition + 1);
    }
}

TEST(producer, RetriesOnNotLeaderAfterRefreshingMetadata) {
    fake_cluster cluster(2);
    cluster.create_topic("t", 1, {1});
    auto p = make(cluster);
    auto first = p->send(rec("t", "before"));
    ASSERT_TRUE(wait(first).error.ok());
    // Leadership moves to broker 2; broker 1 now answers NOT_LEADER_OR_FOLLOWER.
    cluster.set_leader({"t", 0}, 2);
    auto f = p->send(rec("t", "after"));
    auto r = wait(f);
    ASSERT_TRUE(r.error.ok()) << r.error.message;
    EXPECT_EQ(r.offset, 1);
    auto seen = cluster.produces();
    ASSERT_GE(seen.size(), 3u);
    EXPECT_EQ(seen[1].node, 1);  // refused
    EXPECT_EQ(seen.back().node, 2);
}

TEST(producer, DeadLeaderConnectionIsRetriedOnTheNewLeader) {
    fake_cluster cluster(2);
    cluster.create_topic("t", 1, {1});
    auto p = make(cluster);
    auto first = p->send(rec("t", "before"));
    ASSERT_TRUE(wait(first).error.ok());
    cluster.kill(1);
    cluster.forget_broker(1);
    cluster.set_leader({"t", 0}, 2);
    auto f = p->send(rec("t", "after"));
    auto r = wait(f);
    ASSERT_TRUE(r.error.ok()) << r.error.message;
    EXPECT_EQ(cluster.records({"t", 0}).back().value, "after");
}

TEST(producer, OrderIsKeptAcrossRetriesWithOneInFlight) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    // The first two produce requests are refused with a retriable error.
    auto refused = std::make_shared<std::atomic<int>>(0);
    cluster.set_hook([refused](int32_t, const native::request_header& h, std::span<std::byte> body) {
        if (h.api_key != static_cast<int16_t>(native::api_key::produce) || *refused >= 2) {
            return hook_action::pass();
        }
        ++*refused;
        auto req = native::decode<native::produce_request>(body);
        native::produce_response resp;
        for (const auto& t : req->topics) {
            native::produce_response::topic rt{t.name, {}};
            for (const auto& pp : t.partitions) {
                native::produce_response::partition rp;
                rp.partition = pp.partition;
                rp.error_code = static_cast<int16_t>(errc::not_enough_replicas);
                rt.partitions.push_back(rp);
            }
            resp.topics.push_back(rt);
        }
        return hook_action::reply(native::encode_response(h.correlation_id, status{}, resp));
    });
    auto p = make(cluster, {{"max.in.flight.requests.per.connection", "1"},
                            {"batch.size", "100"},
                            {"linger.ms", "0"}});
    std::vector<std::future<delivery_report>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(p->send(rec("t", "m" + std::to_string(i))));
    for (auto& f : fs) ASSERT_TRUE(wait(f).error.ok());
    auto stored = cluster.records({"t", 0});
    ASSERT_EQ(stored.size(), 20u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(stored[static_cast<size_t>(i)].value, "m" + std::to_string(i));
    EXPECT_EQ(*refused, 2);
}

TEST(producer, NonRetriableErrorReachesEveryRecordOfTheBatch) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.set_hook([](int32_t, const native::request_header& h, std::span<std::byte> body) {
        if (h.api_key != static_cast<int16_t>(native::api_key::produce)) return hook_action::pass();
        auto req = native::decode<native::produce_request>(body);
        native::produce_response resp;
        resp.topics.push_back({"t", {{0, static_cast<int16_t>(errc::message_too_large),
                                      "the batch is too big", -1, -1, -1}}});
        return hook_action::reply(native::encode_response(h.correlation_id, status{}, resp));
    });
    auto p = make(cluster, {{"linger.ms", "100"}});
    auto a = p->send(rec("t", "a"));
    auto b = p->send(rec("t", "b"));
    for (auto* f : {&a, &b}) {
        auto r = wait(*f);
        EXPECT_EQ(r.error.code, errc::message_too_large);
        EXPECT_EQ(r.error.message, "the batch is too big");
        EXPECT_EQ(r.partition, 0);
    }
    EXPECT_EQ(cluster.request_count(native::api_key::produce), 1);
}

TEST(producer, AcksZeroGetsNoResponseAndReportsOffsetMinusOne) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    auto p = make(cluster, {{"acks", "0"}});
    std::vector<std::future<delivery_report>> fs;
    for (int i = 0; i < 5; ++i) fs.push_back(p->send(rec("t", "v")));
    for (auto& f : fs) {
        auto r = wait(f);
        EXPECT_TRUE(r.error.ok()) << r.error.message;
        EXPECT_EQ(r.offset, -1);
        EXPECT_EQ(r.partition, 0);
    }
    ASSERT_TRUE(cluster.wait_for_requests(native::api_key::produce, 1, 10s));
    for (const auto& s : cluster.produces()) EXPECT_EQ(s.acks, 0);
    // The connection is still usable after unanswered requests.
    auto again = p->send(rec("t", "w"));
    EXPECT_TRUE(wait(again).error.ok());
}

TEST(producer, AcksAllIsSentAsMinusOne) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    auto p = make(cluster, {{"acks", "all"}});
    auto f = p->send(rec("t", "v"));
    ASSERT_TRUE(wait(f).error.ok());
    EXPECT_EQ(cluster.produces().at(0).acks, -1);
}

TEST(producer, SilentBrokerTimesOutWhenRetriesRunOut) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.set_hook([](int32_t, const native::request_header& h, std::span<std::byte>) {
        return h.api_key == static_cast<int16_t>(native::api_key::produce) ? hook_action::stall()
                                                                           : hook_action::pass();
    });
    auto p = make(cluster, {{"retries", "0"}, {"request.timeout.ms", "300"}, {"linger.ms", "0"},
                            {"delivery.timeout.ms", "10000"}});
    auto f = p->send(rec("t", "v"));
    auto r = wait(f);
    EXPECT_EQ(r.error.code, errc::request_timed_out) << r.error.message;
    EXPECT_EQ(cluster.request_count(native::api_key::produce), 1);
}

TEST(producer, DeliveryTimeoutExpiresRecordsThatFindNoLeader) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1, {-1});
    auto p = make(cluster, {{"delivery.timeout.ms", "400"}, {"request.timeout.ms", "300"},
                            {"linger.ms", "0"}});
    auto f = p->send(rec("t", "v"));
    auto r = wait(f);
    EXPECT_EQ(r.error.code, errc::request_timed_out);
    EXPECT_NE(r.error.message.find("since batch creation"), std::string::npos) << r.error.message;
}

TEST(producer, UnknownTopicFailsAfterMaxBlock) {
    fake_cluster cluster(1);
    auto p = make(cluster, {{"max.block.ms", "300"}});
    auto f = p->send(rec("missing", "v"));
    auto r = wait(f);
    EXPECT_EQ(r.error.code, errc::request_timed_out);
    EXPECT_EQ(r.error.message, "Topic missing not present in metadata after 300 ms.");
    EXPECT_EQ(r.partition, -1);
}

TEST(producer, TopicCreatedWhileWaitingIsProducedTo) {
    fake_cluster cluster(1);
    auto p = make(cluster, {{"max.block.ms", "20000"}});
    auto f = p->send(rec("late", "v"));
    ASSERT_TRUE(cluster.wait_for_requests(native::api_key::metadata, 1, 10s));
    cluster.create_topic("late", 1);
    auto r = wait(f);
    EXPECT_TRUE(r.error.ok()) << r.error.message;
}

TEST(producer, InvalidExplicitPartitionIsRefused) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 2);
    auto p = make(cluster);
    producer_record r = rec("t", "v");
    r.partition = 5;
    auto f = p->send(r);
    auto rep = wait(f);
    EXPECT_EQ(rep.error.code, errc::unknown_topic_or_partition);
    EXPECT_EQ(rep.error.message, "Invalid partition given with record: 5 is not in the range [0...2).");
}

TEST(producer, RecordLargerThanMaxRequestSizeFailsAtOnce) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    auto p = make(cluster, {{"max.request.size", "1000"}});
    auto f = p->send(rec("t", std::string(2000, 'x')));
    ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
    auto r = f.get();
    EXPECT_EQ(r.error.code, errc::message_too_large);
    EXPECT_EQ(cluster.request_count(native::api_key::produce), 0);
}

TEST(producer, CloseFailsWhatCannotBeDelivered) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1, {-1});  // never a leader
    auto p = make(cluster);
    auto f = p->send(rec("t", "v"));
    p->close(100ms);
    ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
    EXPECT_EQ(f.get().error.code, errc::network_exception);
    auto after = p->send(rec("t", "w"));
    ASSERT_EQ(after.wait_for(0s), std::future_status::ready);
    EXPECT_EQ(after.get().error.code, errc::network_exception);
}

TEST(producer, CallbacksRunOncePerRecordUnderLoad) {
    fake_cluster cluster(2);
    cluster.create_topic("t", 4, {1, 2});
    auto p = make(cluster, {{"linger.ms", "1"}, {"batch.size", "2000"}});
    std::atomic<int> ok{0}, failed{0};
    constexpr int kRecords = 5000;
    for (int i = 0; i < kRecords; ++i) {
        p->send(rec("t", std::string(50, 'a')), [&](const delivery_report& r) {
            (r.error.ok() ? ok : failed)++;
        });
    }
    ASSERT_TRUE(p->flush(30s).ok());
    EXPECT_EQ(ok, kRecords);
    EXPECT_EQ(failed, 0);
    int64_t stored = 0;
    for (int32_t part = 0; part < 4; ++part) stored += cluster.log_end({"t", part});
    EXPECT_EQ(stored, kRecords);
}

TEST(producer, PartitionsForFetchesMetadata) {
    fake_cluster cluster(2);
    cluster.create_topic("t", 3, {2});
    auto p = make(cluster);
    auto parts = p->partitions_for("t");
    ASSERT_TRUE(parts) << parts.error().message;
    ASSERT_EQ(parts->size(), 3u);
    EXPECT_EQ((*parts)[1].leader, 2);
}

TEST(producer, CreateRefusesBadSettings) {
    auto p = producer::create({{"bootstrap.servers", "h:1"}, {"acks", "many"}});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.code(), errc::invalid_config);
}

}  // namespace
}  // namespace gregor::client
