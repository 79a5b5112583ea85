// The native protocol codec against docs/protocol.md: frames byte for byte, every message's
// round trip, and hostile input (truncation, lengths beyond the frame, huge counts) refused
// without allocating for the claimed size.
#include <gtest/gtest.h>

#include "common/wire.h"
#include "protocol/native/messages.h"

namespace gregor::native {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

std::span<std::byte> body_of(std::vector<std::byte>& frame) {
    return std::span(frame).subspan(4 + kRequestHeaderSize);
}

TEST(NativeFrames, RequestFrameIsLengthHeaderBody) {
    metadata_request m;
    m.topics = std::vector<std::string>{"ab"};
    m.allow_auto_topic_creation = true;
    auto f = encode_request(api_key::metadata, 0, 0x01020304, m);
    EXPECT_EQ(f, bytes({0, 0, 0, 17,            // length
                        0, 1, 0, 0,             // api key 1, version 0
                        1, 2, 3, 4,             // correlation id
                        0, 0, 0, 1, 0, 2, 'a', 'b',  // [string] with one "ab"
                        1}));                   // allow_auto_topic_creation
    auto h = decode_request_header(std::span(f).subspan(4));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->api_key, 1);
    EXPECT_EQ(h->api_version, 0);
    EXPECT_EQ(h->correlation_id, 0x01020304);
}

TEST(NativeFrames, ErrorResponseHasNoBody) {
    auto f = encode_error_response(9, {errc::unsupported_version, "no"});
    EXPECT_EQ(f, bytes({0, 0, 0, 10, 0, 0, 0, 9, 0, 35, 0, 2, 'n', 'o'}));
    auto r = decode_response_frame(std::span(f).subspan(4));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->correlation_id, 9);
    EXPECT_EQ(r->error.code, errc::unsupported_version);
    EXPECT_EQ(r->error.message, "no");
    EXPECT_TRUE(r->body.empty());
}

TEST(NativeFrames, NullTopicsMeansAllTopics) {
    metadata_request m;
    auto f = encode_request(api_key::metadata, 0, 1, m);
    EXPECT_EQ(std::vector<std::byte>(f.begin() + 12, f.end()), bytes({0xFF, 0xFF, 0xFF, 0xFF, 0}));
    auto back = decode<metadata_request>(body_of(f));
    ASSERT_TRUE(back.ok());
    EXPECT_FALSE(back->topics.has_value());
}

TEST(NativeMessages, ProduceRoundTripPointsIntoTheFrame) {
    std::vector<std::byte> records(100, std::byte{7});
    produce_request p;
    p.acks = -1;
    p.timeout_ms = 1234;
    p.topics.push_back({"orders", {{3, 7, records}}});
    auto f = encode_request(api_key::produce, 0, 5, p);
    auto back = decode<produce_request>(body_of(f));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->acks, -1);
    EXPECT_EQ(back->timeout_ms, 1234);
    ASSERT_EQ(back->topics.size(), 1u);
    EXPECT_EQ(back->topics[0].name, "orders");
    ASSERT_EQ(back->topics[0].partitions.size(), 1u);
    const auto& part = back->topics[0].partitions[0];
    EXPECT_EQ(part.partition, 3);
    EXPECT_EQ(part.current_leader_epoch, 7);
    ASSERT_EQ(part.records.size(), 100u);
    EXPECT_GE(part.records.data(), f.data());
    EXPECT_LT(part.records.data(), f.data() + f.size()) << "records are not copied";
}

TEST(NativeMessages, OffsetForLeaderEpochRoundTrips) {
    offset_for_leader_epoch_request q;
    q.replica_id = 2;
    q.topics.push_back({"orders", {{0, 5, 4}, {1, -1, 0}}});
    auto f = encode_request(api_key::offset_for_leader_epoch, 0, 9, q);
    auto back = decode<offset_for_leader_epoch_request>(body_of(f));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->replica_id, 2);
    ASSERT_EQ(back->topics.size(), 1u);
    ASSERT_EQ(back->topics[0].partitions.size(), 2u);
    EXPECT_EQ(back->topics[0].partitions[0].current_leader_epoch, 5);
    EXPECT_EQ(back->topics[0].partitions[0].leader_epoch, 4);

    offset_for_leader_epoch_response r;
    r.topics.push_back({"orders", {{0, 0, "", 4, 1042}, {1, 74, "fenced", -1, -1}}});
    auto rf = encode_response(9, status{}, r);
    auto frame = decode_response_frame(std::span(rf).subspan(4));
    ASSERT_TRUE(frame.ok());
    auto rb = decode<offset_for_leader_epoch_response>(frame->body);
    ASSERT_TRUE(rb.ok());
    ASSERT_EQ(rb->topics[0].partitions.size(), 2u);
    EXPECT_EQ(rb->topics[0].partitions[0].end_offset, 1042);
    EXPECT_EQ(rb->topics[0].partitions[1].error_code, 74);
    EXPECT_EQ(rb->topics[0].partitions[1].error_message, "fenced");
}

TEST(NativeMessages, EveryResponseRoundTrips) {
    metadata_response md;
    md.controller_id = 2;
    md.brokers.push_back({1, "h", 9092, std::nullopt});
    md.brokers.push_back({2, "g", 9093, std::string("r1")});
    md.topics.push_back({0, "", "t", "AAAAAAAAAAAAAAAAAAAAAA", false, {{0, 0, 1, 4, {1, 2}, {1}}}});
    auto f = encode_response(1, status{}, md);
    auto fr = decode_response_frame(std::span(f).subspan(4));
    ASSERT_TRUE(fr.ok());
    auto back = decode<metadata_response>(fr->body);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->controller_id, 2);
    ASSERT_EQ(back->brokers.size(), 2u);
    EXPECT_EQ(back->brokers[1].rack, "r1");
    EXPECT_FALSE(back->brokers[0].rack.has_value());
    EXPECT_EQ(back->topics[0].partitions[0].replicas, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(back->topics[0].partitions[0].leader_epoch, 4);
    EXPECT_EQ(back->topics[0].topic_id, "AAAAAAAAAAAAAAAAAAAAAA");

    create_partitions_response cp;
    cp.topics.push_back({"t", static_cast<int16_t>(errc::invalid_partitions), "only up"});
    f = encode_response(4, status{}, cp);
    fr = decode_response_frame(std::span(f).subspan(4));
    ASSERT_TRUE(fr.ok());
    auto cb = decode<create_partitions_response>(fr->body);
    ASSERT_TRUE(cb.ok());
    EXPECT_EQ(cb->topics[0].error_code, 37);
    EXPECT_EQ(cb->topics[0].error_message, "only up");

    std::vector<std::byte> recs(10, std::byte{1});
    fetch_response fe;
    fe.topics.push_back({"t", {{0, 0, "", 10, 2, recs}, {1, 1, "out of range", -1, -1, {}}}});
    f = encode_response(2, status{}, fe);
    fr = decode_response_frame(std::span(f).subspan(4));
    ASSERT_TRUE(fr.ok());
    auto fb = decode<fetch_response>(fr->body);
    ASSERT_TRUE(fb.ok());
    EXPECT_EQ(fb->topics[0].partitions[0].records.size(), 10u);
    EXPECT_EQ(fb->topics[0].partitions[1].error_message, "out of range");
    EXPECT_EQ(fb->topics[0].partitions[0].high_watermark, 10);

    describe_configs_response dc;
    dc.resources.push_back({kResourceTopic, "t", 0, "", {{"retention.ms", std::nullopt, true, false, false}}});
    f = encode_response(3, status{}, dc);
    fr = decode_response_frame(std::span(f).subspan(4));
    auto db = decode<describe_configs_response>(fr->body);
    ASSERT_TRUE(db.ok());
    EXPECT_FALSE(db->resources[0].configs[0].value.has_value());
    EXPECT_TRUE(db->resources[0].configs[0].is_default);
}

TEST(NativeMessages, ReassignmentMessagesRoundTrip) {
    alter_partition_reassignments_request ar;
    ar.timeout_ms = 4321;
    ar.topics.push_back({"orders", {{0, {2, 3}}, {1, {}}}});
    auto f = encode_request(api_key::alter_partition_reassignments, 0, 1, ar);
    auto arb = decode<alter_partition_reassignments_request>(body_of(f));
    ASSERT_TRUE(arb.ok());
    EXPECT_EQ(arb->timeout_ms, 4321);
    ASSERT_EQ(arb->topics.size(), 1u);
    EXPECT_EQ(arb->topics[0].name, "orders");
    ASSERT_EQ(arb->topics[0].partitions.size(), 2u);
    EXPECT_EQ(arb->topics[0].partitions[0].replicas, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(arb->topics[0].partitions[1].partition, 1);
    EXPECT_TRUE(arb->topics[0].partitions[1].replicas.empty());

    alter_partition_reassignments_response aresp;
    aresp.topics.push_back({"orders", {{0, 0, ""}, {1, static_cast<int16_t>(errc::invalid_replica_assignment), "empty"}}});
    f = encode_response(2, status{}, aresp);
    auto fr = decode_response_frame(std::span(f).subspan(4));
    ASSERT_TRUE(fr.ok());
    auto arespb = decode<alter_partition_reassignments_response>(fr->body);
    ASSERT_TRUE(arespb.ok());
    ASSERT_EQ(arespb->topics[0].partitions.size(), 2u);
    EXPECT_EQ(arespb->topics[0].partitions[1].error_code, 39);
    EXPECT_EQ(arespb->topics[0].partitions[1].error_message, "empty");

    list_partition_reassignments_request all;
    f = encode_request(api_key::list_partition_reassignments, 0, 3, all);
    EXPECT_EQ(std::vector<std::byte>(f.begin() + 12, f.end()), bytes({0xFF, 0xFF, 0xFF, 0xFF}));
    auto allb = decode<list_partition_reassignments_request>(body_of(f));
    ASSERT_TRUE(allb.ok());
    EXPECT_FALSE(allb->topics.has_value());
    list_partition_reassignments_request some;
    some.topics = std::vector<list_partition_reassignments_request::topic>{{"orders", {0, 2}}};
    f = encode_request(api_key::list_partition_reassignments, 0, 4, some);
    auto someb = decode<list_partition_reassignments_request>(body_of(f));
    ASSERT_TRUE(someb.ok());
    ASSERT_TRUE(someb->topics.has_value());
    EXPECT_EQ((*someb->topics)[0].partitions, (std::vector<int32_t>{0, 2}));

    list_partition_reassignments_response lr;
    lr.topics.push_back({"orders", {{0, {2, 3, 1}, {2, 3}}}});
    f = encode_response(5, status{}, lr);
    fr = decode_response_frame(std::span(f).subspan(4));
    ASSERT_TRUE(fr.ok());
    auto lrb = decode<list_partition_reassignments_response>(fr->body);
    ASSERT_TRUE(lrb.ok());
    ASSERT_EQ(lrb->topics.size(), 1u);
    EXPECT_EQ(lrb->topics[0].partitions[0].replicas, (std::vector<int32_t>{2, 3, 1}));
    EXPECT_EQ(lrb->topics[0].partitions[0].target_replicas, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(api_name(static_cast<int16_t>(api_key::alter_partition_reassignments)),
              std::string("AlterPartitionReassignments"));
    EXPECT_EQ(api_name(static_cast<int16_t>(api_key::list_partition_reassignments)),
              std::string("ListPartitionReassignments"));
}

TEST(NativeMessages, TruncatedBodiesAreRefusedAtEveryLength) {
    create_topics_request ct;
    ct.topics.push_back({"topic", 3, 2, {{0, {1, 2}}}, {{"k", "v"}}});
    auto f = encode_request(api_key::create_topics, 0, 1, ct);
    auto full = body_of(f);
    ASSERT_TRUE(decode<create_topics_request>(full).ok());
    for (size_t n = 0; n < full.size(); ++n) {
        auto r = decode<create_topics_request>(full.first(n));
        EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes";
        EXPECT_EQ(r.code(), errc::corrupt_message);
    }
}

TEST(NativeMessages, TrailingBytesAreRefused) {
    delete_topics_request d;
    d.names = {"x"};
    auto f = encode_request(api_key::delete_topics, 0, 1, d);
    f.push_back(std::byte{0});
    EXPECT_FALSE(decode<delete_topics_request>(body_of(f)).ok());
}

TEST(NativeMessages, HugeClaimedCountsAndLengthsFailWithoutAllocating) {
    // An array claiming 2^31-1 elements in a 5-byte body: refused before any reserve.
    auto body = bytes({0x7F, 0xFF, 0xFF, 0xFF, 0});
    EXPECT_FALSE(decode<delete_topics_request>(body).ok());
    // A string claiming 32767 bytes with 2 present.
    body = bytes({0, 0, 0, 1, 0x7F, 0xFF, 'a', 'b'});
    EXPECT_FALSE(decode<delete_topics_request>(body).ok());
    // bytes claiming 2 GiB inside a produce request.
    produce_request p;
    p.topics.push_back({"t", {{0, -1, {}}}});
    auto f = encode_request(api_key::produce, 0, 1, p);
    wire::store_be<int32_t>(f.data() + f.size() - 4, INT32_MAX);
    EXPECT_FALSE(decode<produce_request>(body_of(f)).ok());
    // Negative lengths other than -1.
    body = bytes({0, 0, 0, 1, 0xFF, 0xFE});
    EXPECT_FALSE(decode<delete_topics_request>(body).ok());
}

// Found by the fuzzer: null records decoded as empty ones and re-encoded differently.
TEST(NativeMessages, NullRecordsAreRefused) {
    produce_request p;
    p.topics.push_back({"t", {{0, -1, {}}}});
    auto f = encode_request(api_key::produce, 0, 1, p);
    wire::store_be<int32_t>(f.data() + f.size() - 4, -1);
    EXPECT_EQ(decode<produce_request>(body_of(f)).code(), errc::corrupt_message);
}

TEST(NativeMessages, NullWhereAStringIsRequiredIsRefused) {
    auto body = bytes({0, 0, 0, 1, 0xFF, 0xFF, 0, 0, 0, 0});
    EXPECT_FALSE(decode<delete_topics_request>(body).ok());
}

TEST(NativeFrames, ShortHeaderIsRefused) {
    auto p = bytes({0, 1, 0});
    EXPECT_EQ(decode_request_header(p).code(), errc::corrupt_message);
}

}  // namespace
}  // namespace gregor::native
