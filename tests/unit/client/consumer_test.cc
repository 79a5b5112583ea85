// The consumer against fake brokers: positions from seeks and auto.offset.reset, records
// decoded from fetched batches (below-position records skipped), long polling, leader changes
// and OFFSET_OUT_OF_RANGE.
#include <gtest/gtest.h>

#include <thread>

#include "client/consumer.h"
#include "tests/unit/client/fake_cluster.h"

namespace gregor::client {
namespace {

using namespace std::chrono_literals;
using test::fake_cluster;
using test::make_batch;

const topic_partition kP0{"t", 0};
const topic_partition kP1{"t", 1};

std::unique_ptr<consumer> make(const fake_cluster& c, properties extra = {}) {
    extra.emplace("bootstrap.servers", c.bootstrap());
    extra.emplace("retry.backoff.ms", "20");
    extra.emplace("fetch.max.wait.ms", "100");
    auto r = consumer::create(extra);
    EXPECT_TRUE(r) << r.error().message;
    return std::move(*r);
}

// Polls until `n` records came or 20 s passed.
std::vector<consumer_record> poll_n(consumer& c, size_t n) {
    std::vector<consumer_record> out;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
        auto r = c.poll(200ms);
        EXPECT_TRUE(r) << r.error().message;
        if (!r) break;
        out.insert(out.end(), r->begin(), r->end());
    }
    return out;
}

TEST(consumer, FromBeginningReturnsEveryRecordWithItsFields) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.append(kP0, make_batch(0, 3, true, 5000));
    cluster.append(kP0, make_batch(3, 2, false, 6000));
    auto c = make(cluster, {{"auto.offset.reset", "earliest"}});
    c->assign({kP0});
    auto recs = poll_n(*c, 5);
    ASSERT_EQ(recs.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        const auto& r = recs[static_cast<size_t>(i)];
        EXPECT_EQ(r.topic, "t");
        EXPECT_EQ(r.partition, 0);
        EXPECT_EQ(r.offset, i);
        EXPECT_EQ(r.value, "v" + std::to_string(i));
        ASSERT_EQ(r.headers.size(), 1u);
        EXPECT_EQ(r.headers[0].value, "x" + std::to_string(i));
    }
    EXPECT_EQ(recs[0].key, "k0");
    EXPECT_FALSE(recs[3].key);
    EXPECT_EQ(recs[0].timestamp, 5000);
    EXPECT_EQ(recs[4].timestamp, 6001);
    EXPECT_EQ(recs[0].ts_type, timestamp_type::create_time);
    auto pos = c->position(kP0, 5s);
    ASSERT_TRUE(pos);
    EXPECT_EQ(*pos, 5);
}

TEST(consumer, SeekIntoABatchSkipsTheRecordsBeforeIt) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.append(kP0, make_batch(0, 10));
    auto c = make(cluster);
    c->assign({kP0});
    ASSERT_TRUE(c->seek(kP0, 7).ok());
    auto recs = poll_n(*c, 3);
    ASSERT_EQ(recs.size(), 3u);
    EXPECT_EQ(recs[0].offset, 7);
    EXPECT_EQ(recs[0].value, "v7");
    EXPECT_EQ(recs[2].offset, 9);
}

TEST(consumer, LatestByDefaultThenLongPollSeesNewRecords) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.append(kP0, make_batch(0, 4));
    auto c = make(cluster, {{"fetch.max.wait.ms", "5000"}});
    c->assign({kP0});
    auto pos = c->position(kP0, 10s);
    ASSERT_TRUE(pos) << pos.error().message;
    EXPECT_EQ(*pos, 4);
    std::thread later([&] {
        // The consumer's fetch is parked in the broker's long poll by now or soon after.
        cluster.wait_for_requests(native::api_key::fetch, 1, 10s);
        cluster.append(kP0, make_batch(4, 1));
    });
    auto recs = poll_n(*c, 1);
    later.join();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].offset, 4);
}

TEST(consumer, SeekToBeginningEndAndTimestampUseListOffsets) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.append(kP0, make_batch(0, 5, false, 1000));  // timestamps 1000..1004
    auto c = make(cluster);
    c->assign({kP0});
    ASSERT_TRUE(c->seek_to_end().ok());
    EXPECT_EQ(*c->position(kP0, 10s), 5);
    ASSERT_TRUE(c->seek_to_beginning({kP0}).ok());
    EXPECT_EQ(*c->position(kP0, 10s), 0);
    ASSERT_TRUE(c->seek_to_timestamp(1003).ok());
    EXPECT_EQ(*c->position(kP0, 10s), 3);
    ASSERT_TRUE(c->seek_to_timestamp(99999).ok());  // nothing that recent: the end
    EXPECT_EQ(*c->position(kP0, 10s), 5);
    auto begin = c->beginning_offsets({kP0}, 10s);
    auto end = c->end_offsets({kP0}, 10s);
    ASSERT_TRUE(begin);
    ASSERT_TRUE(end);
    EXPECT_EQ(begin->at(kP0), 0);
    EXPECT_EQ(end->at(kP0), 5);
    auto times = c->offsets_for_times({{kP0, 1002}}, 10s);
    ASSERT_TRUE(times);
    EXPECT_EQ(times->at(kP0).offset, 2);
    EXPECT_EQ(times->at(kP0).timestamp, 1002);
}

TEST(consumer, OutOfRangeResetsToEarliest) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.append(kP0, make_batch(0, 2));
    auto c = make(cluster, {{"auto.offset.reset", "earliest"}});
    c->assign({kP0});
    ASSERT_TRUE(c->seek(kP0, 1000).ok());
    auto recs = poll_n(*c, 2);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].offset, 0);
}

TEST(consumer, OutOfRangeWithResetNoneIsAnError) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.append(kP0, make_batch(0, 2));
    auto c = make(cluster, {{"auto.offset.reset", "none"}});
    c->assign({kP0});
    // No position at all: poll says so.
    auto first = c->poll(5s);
    ASSERT_FALSE(first);
    EXPECT_EQ(first.code(), errc::offset_out_of_range);
    EXPECT_EQ(first.error().message, "Undefined offset with no reset policy for partitions: [t-0]");
    ASSERT_TRUE(c->seek(kP0, 50).ok());
    result<std::vector<consumer_record>> r = std::vector<consumer_record>{};
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (r && std::chrono::steady_clock::now() < deadline) r = c->poll(200ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::offset_out_of_range);
    EXPECT_NE(r.error().message.find("out of range for partition t-0"), std::string::npos);
}

TEST(consumer, FollowsTheLeaderAfterNotLeader) {
    fake_cluster cluster(2);
    cluster.create_topic("t", 1, {1});
    cluster.append(kP0, make_batch(0, 2));
    auto c = make(cluster, {{"auto.offset.reset", "earliest"}});
    c->assign({kP0});
    ASSERT_EQ(poll_n(*c, 2).size(), 2u);
    cluster.set_leader(kP0, 2);
    cluster.append(kP0, make_batch(2, 2));
    auto recs = poll_n(*c, 2);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].offset, 2);
}

TEST(consumer, ReadsSeveralPartitionsOnSeveralBrokers) {
    fake_cluster cluster(2);
    cluster.create_topic("t", 2, {1, 2});
    cluster.append(kP0, make_batch(0, 3));
    cluster.append(kP1, make_batch(100, 4));
    auto c = make(cluster, {{"auto.offset.reset", "earliest"}});
    c->assign({kP0, kP1});
    auto recs = poll_n(*c, 7);
    ASSERT_EQ(recs.size(), 7u);
    int p0 = 0, p1 = 0;
    for (const auto& r : recs) (r.partition == 0 ? p0 : p1)++;
    EXPECT_EQ(p0, 3);
    EXPECT_EQ(p1, 4);
}

TEST(consumer, MaxPollRecordsLimitsEachPoll) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.append(kP0, make_batch(0, 10));
    auto c = make(cluster, {{"auto.offset.reset", "earliest"}, {"max.poll.records", "3"}});
    c->assign({kP0});
    size_t total = 0;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (total < 10 && std::chrono::steady_clock::now() < deadline) {
        auto r = c->poll(200ms);
        ASSERT_TRUE(r);
        EXPECT_LE(r->size(), 3u);
        total += r->size();
    }
    EXPECT_EQ(total, 10u);
}

TEST(consumer, CorruptBatchIsReported) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    cluster.append(kP0, make_batch(0, 2));
    cluster.corrupt(kP0, 0);
    auto c = make(cluster, {{"auto.offset.reset", "earliest"}});
    c->assign({kP0});
    result<std::vector<consumer_record>> r = std::vector<consumer_record>{};
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (r && r->empty() && std::chrono::steady_clock::now() < deadline) r = c->poll(200ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::corrupt_message);
}

TEST(consumer, WakeupEndsABlockedPoll) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 1);
    auto c = make(cluster);
    c->assign({kP0});
    std::thread t([&] {
        cluster.wait_for_requests(native::api_key::metadata, 1, 10s);
        c->wakeup();
    });
    const auto start = std::chrono::steady_clock::now();
    auto r = c->poll(60s);
    t.join();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

TEST(consumer, SeekOnUnassignedPartitionIsRefused) {
    fake_cluster cluster(1);
    auto c = make(cluster);
    auto s = c->seek({"nope", 0}, 1);
    EXPECT_EQ(s.code, errc::invalid_request);
    EXPECT_EQ(s.message, "No current assignment for partition nope-0");
}

TEST(consumer, PartitionsForAnswersAndUnknownTopicIsAnError) {
    fake_cluster cluster(1);
    cluster.create_topic("t", 4);
    auto c = make(cluster);
    auto parts = c->partitions_for("t", 10s);
    ASSERT_TRUE(parts) << parts.error().message;
    EXPECT_EQ(parts->size(), 4u);
    auto missing = c->partitions_for("nope", 10s);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.code(), errc::unknown_topic_or_partition);
}

TEST(consumer, DeadBrokerMakesTheFetchMoveOn) {
    fake_cluster cluster(2);
    cluster.create_topic("t", 1, {1});
    cluster.append(kP0, make_batch(0, 1));
    auto c = make(cluster, {{"auto.offset.reset", "earliest"}, {"request.timeout.ms", "2000"}});
    c->assign({kP0});
    ASSERT_EQ(poll_n(*c, 1).size(), 1u);
    cluster.kill(1);
    cluster.forget_broker(1);
    cluster.set_leader(kP0, 2);
    cluster.append(kP0, make_batch(1, 1));
    auto recs = poll_n(*c, 1);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].offset, 1);
}

}  // namespace
}  // namespace gregor::client
