// The producer's batching at its boundaries, with time passed in: linger.ms, batch.size, a
// record larger than a batch, retry order, delivery timeouts.
#include <gtest/gtest.h>

#include <utility>

#include "client/record_accumulator.h"

namespace gregor::client {
namespace {

using namespace std::chrono_literals;
namespace rb = record_batch;

const topic_partition kP0{"t", 0};
const topic_partition kP1{"t", 1};
const auto kT0 = steady_clock::time_point(std::chrono::hours(1));

struct acc_fixture : ::testing::Test {
    record_accumulator acc{1024, 10ms};

    record_accumulator::append_result add(const topic_partition& tp, size_t value_size = 10,
                                          steady_clock::time_point at = kT0) {
        return acc.append(tp, 1000, std::nullopt, std::string(value_size, 'x'), {}, {}, 0, at);
    }
    std::vector<std::unique_ptr<producer_batch>> drain(steady_clock::time_point at,
                                                       bool flush = false) {
        return acc.drain(at, flush, [](const producer_batch&) { return true; });
    }
};

TEST_F(acc_fixture, FirstRecordStartsABatch) {
    auto r = add(kP0);
    EXPECT_TRUE(r.new_batch);
    EXPECT_FALSE(r.batch_full);
    r = add(kP0);
    EXPECT_FALSE(r.new_batch);
    EXPECT_EQ(acc.batch_count(), 1u);
}

TEST_F(acc_fixture, BatchIsNotReadyBeforeLingerAndReadyAtIt) {
    add(kP0);
    EXPECT_TRUE(drain(kT0 + 9ms).empty());
    EXPECT_EQ(acc.next_ready_time(kT0 + 9ms, false), kT0 + 10ms);
    auto out = drain(kT0 + 10ms);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0]->closed());
    EXPECT_TRUE(acc.empty());
}

TEST_F(acc_fixture, FlushMakesABatchReadyBeforeLinger) {
    add(kP0);
    EXPECT_EQ(drain(kT0, /*flush=*/true).size(), 1u);
}

TEST_F(acc_fixture, RecordThatWouldPassBatchSizeStartsTheNextBatch) {
    // Fill the first batch close to 1024 bytes.
    const size_t overhead = record_size_upper_bound(std::nullopt, std::string(), {});
    add(kP0, 400);
    add(kP0, 400);
    auto r = add(kP0, 1024 - 400 * 2 - overhead);  // cannot fit with headers and varints
    EXPECT_TRUE(r.new_batch);
    EXPECT_TRUE(r.batch_full);  // the previous batch was closed for good
    EXPECT_EQ(acc.batch_count(), 2u);
    // The full batch is ready at once; the new one waits for its linger.
    auto out = drain(kT0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]->record_count(), 2u);
    EXPECT_LE(out[0]->size_bytes(), 1024u);
}

TEST_F(acc_fixture, BatchReachingBatchSizeIsFullAndReady) {
    // Keep adding until the batch reports full; it must be drained without waiting.
    bool full = false;
    int n = 0;
    while (!full && n < 1000) {
        full = add(kP0, 50).batch_full;
        ++n;
    }
    ASSERT_TRUE(full);
    auto out = drain(kT0);
    ASSERT_FALSE(out.empty());
    EXPECT_GE(out[0]->size_bytes() + 100, 1024u);
    EXPECT_LE(out[0]->size_bytes(), 1024u + 100);
}

TEST_F(acc_fixture, RecordLargerThanBatchSizeGetsABatchOfItsOwn) {
    add(kP0, 10);
    auto r = add(kP0, 5000);
    EXPECT_TRUE(r.new_batch);
    EXPECT_TRUE(r.batch_full);
    auto out = drain(kT0);  // the small one is followed, the big one is full: both ready
    ASSERT_EQ(out.size(), 1u);  // one batch per partition per drain
    EXPECT_EQ(out[0]->record_count(), 1u);
    out = drain(kT0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_GT(out[0]->size_bytes(), 5000u);
}

TEST_F(acc_fixture, DrainGivesOneBatchPerPartition) {
    add(kP0);
    add(kP1);
    auto out = drain(kT0 + 10ms);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0]->tp, kP0);
    EXPECT_EQ(out[1]->tp, kP1);
}

TEST_F(acc_fixture, DrainStartsFromAnotherPartitionEachTime) {
    // Room for one batch per drain: the partitions take turns instead of P0 always winning.
    for (int i = 0; i < 3; ++i) {
        add(kP0, 5000);
        add(kP1, 5000);
    }
    std::vector<int32_t> order;
    for (int i = 0; i < 4; ++i) {
        bool taken = false;
        auto out = acc.drain(kT0, false, [&](const producer_batch&) { return !std::exchange(taken, true); });
        ASSERT_EQ(out.size(), 1u);
        order.push_back(out[0]->tp.partition);
    }
    EXPECT_EQ(order, (std::vector<int32_t>{0, 1, 0, 1}));
}

TEST_F(acc_fixture, TakeCanRefuseABatch) {
    add(kP0);
    add(kP1);
    auto out = acc.drain(kT0 + 10ms, false, [](const producer_batch& b) { return b.tp == kP1; });
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]->tp, kP1);
    EXPECT_EQ(acc.batch_count(), 1u);
}

TEST_F(acc_fixture, ReenqueuedBatchGoesBeforeNewerOnesAndWaitsItsBackoff) {
    add(kP0);
    auto first = drain(kT0 + 10ms);
    ASSERT_EQ(first.size(), 1u);
    add(kP0, 10, kT0 + 11ms);  // a newer batch
    acc.reenqueue(std::move(first[0]), kT0 + 100ms);
    // Not before the backoff, and the newer batch does not jump ahead.
    EXPECT_TRUE(drain(kT0 + 50ms).empty());
    EXPECT_EQ(acc.next_ready_time(kT0 + 50ms, false), kT0 + 100ms);
    auto out = drain(kT0 + 100ms);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]->created, kT0);
    out = drain(kT0 + 100ms);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]->created, kT0 + 11ms);
}

TEST_F(acc_fixture, TwoRetriedBatchesKeepTheirOrder) {
    add(kP0, 5000);  // full at once
    add(kP0, 5000);
    auto a = drain(kT0);
    auto b = drain(kT0);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    const uint64_t sa = a[0]->sequence, sb = b[0]->sequence;
    // Their failures come back newest first.
    acc.reenqueue(std::move(b[0]), kT0 + 1ms);
    acc.reenqueue(std::move(a[0]), kT0 + 1ms);
    auto out1 = drain(kT0 + 1ms);
    auto out2 = drain(kT0 + 1ms);
    ASSERT_EQ(out1.size(), 1u);
    ASSERT_EQ(out2.size(), 1u);
    EXPECT_EQ(out1[0]->sequence, sa);
    EXPECT_EQ(out2[0]->sequence, sb);
}

TEST_F(acc_fixture, ExpireTakesBatchesCreatedBeforeTheCutoff) {
    add(kP0, 10, kT0);
    add(kP1, 10, kT0 + 5ms);
    EXPECT_EQ(acc.oldest_batch_created(), kT0);
    auto gone = acc.expire(kT0 + 1ms);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0]->tp, kP0);
    EXPECT_EQ(acc.partitions(), std::vector<topic_partition>{kP1});
}

TEST_F(acc_fixture, ClosedBatchDecodesToTheRecordsAppended) {
    acc.append(kP0, 111, std::string("k"), std::string("v1"), {{"h", std::string("1")}}, {}, 0, kT0);
    acc.append(kP0, 112, std::nullopt, std::nullopt, {}, {}, 0, kT0);
    auto out = drain(kT0, true);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(rb::validate(out[0]->bytes, 1 << 20).ok());
    auto recs = rb::decode_records(out[0]->bytes);
    ASSERT_TRUE(recs);
    ASSERT_EQ(recs->size(), 2u);
    EXPECT_EQ((*recs)[0].key, "k");
    EXPECT_EQ((*recs)[0].value, "v1");
    EXPECT_EQ((*recs)[0].timestamp, 111);
    EXPECT_EQ((*recs)[0].headers.size(), 1u);
    EXPECT_FALSE((*recs)[1].key);
    EXPECT_FALSE((*recs)[1].value);
    EXPECT_EQ((*recs)[1].timestamp, 112);
}

TEST_F(acc_fixture, OpensNewBatchTellsTheStickyPartitionerTheTruth) {
    EXPECT_TRUE(acc.opens_new_batch(kP0, 10));
    add(kP0);
    EXPECT_FALSE(acc.opens_new_batch(kP0, 10));
    EXPECT_TRUE(acc.opens_new_batch(kP0, 2000));
    drain(kT0, true);
    EXPECT_TRUE(acc.opens_new_batch(kP0, 10));
}

TEST(record_accumulator, BatchSizeZeroMeansOneRecordPerBatch) {
    record_accumulator acc(0, 1000ms);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(acc.append(kP0, 1, std::nullopt, std::string("x"), {}, {}, 0, kT0).batch_full);
    }
    EXPECT_EQ(acc.batch_count(), 3u);
}

}  // namespace
}  // namespace gregor::client
