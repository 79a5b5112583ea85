// Hostile and broken input against a real gregor-server (issue 4, "Bad input"): random bytes,
// frame lengths out of bounds, truncated and dripped frames, idle connections, unknown APIs and
// versions, lengths beyond the frame, corrupt batches, and a Kafka-protocol client. Each case
// runs on its own raw TCP connection; after each, the broker must still serve a normal request
// on another connection, and its resident memory must not have grown by anything like the sizes
// the input claimed.
// The broker runs with small limits so that each bound can be watched in a test's time:
// socket.request.max.bytes 1 MiB, request.timeout.ms 1500, connections.max.idle.ms 3000,
// message.max.bytes 16 KiB.
#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "common/wire.h"
#include "tests/integration/broker_test_support.h"

namespace gregor::integration {
namespace {

using clock_type = std::chrono::steady_clock;
namespace rb = record_batch;

constexpr int32_t kMaxRequestBytes = 1 << 20;
constexpr auto kRequestTimeout = 1500ms;
constexpr auto kIdleTimeout = 3000ms;
constexpr int32_t kMessageMaxBytes = 16384;
// Resident memory may wander by a few MiB; what must never happen is growth on the scale of the
// claimed sizes (up to 2 GiB here).
constexpr int64_t kRssSlackKib = 48 * 1024;

int16_t code(errc e) { return static_cast<int16_t>(e); }
std::string name_of(int16_t c) { return errc_name(static_cast<errc>(c)); }

bytes be32(int32_t v) {
    bytes b(4);
    wire::store_be<int32_t>(b.data(), v);
    return b;
}

bytes random_bytes(std::mt19937& rng, size_t n) {
    bytes b(n);
    std::uniform_int_distribution<int> d(0, 255);
    for (auto& x : b) x = static_cast<std::byte>(d(rng));
    return b;
}

// A request frame with the given header and raw body bytes.
bytes frame(int16_t api_key, int16_t version, int32_t correlation_id, const bytes& body) {
    bytes out;
    wire::byte_writer w(out);
    w.write_be<int32_t>(static_cast<int32_t>(native::kRequestHeaderSize + body.size()));
    w.write_be<int16_t>(api_key);
    w.write_be<int16_t>(version);
    w.write_be<int32_t>(correlation_id);
    w.write_bytes(body);
    return out;
}

// Rewrites the CRC after a deliberate change to the covered bytes.
void fix_crc(bytes& batch) {
    const uint32_t crc = crc32c::value(std::span<const std::byte>(batch).subspan(rb::kAttributesPos));
    wire::store_be<uint32_t>(batch.data() + rb::kCrcPos, crc);
}

class bad_input : public ::testing::Test {
protected:
    void SetUp() override {
        broker_ = start_broker({{"auto.create.topics.enable", "false"},
                                {"socket.request.max.bytes", std::to_string(kMaxRequestBytes)},
                                {"request.timeout.ms", std::to_string(kRequestTimeout.count())},
                                {"connections.max.idle.ms", std::to_string(kIdleTimeout.count())},
                                {"message.max.bytes", std::to_string(kMessageMaxBytes)}});
        raw_connection c(broker_->port());
        ASSERT_EQ(create_topic(c, "t").error_code, 0);
        ASSERT_EQ(produce(c, "t", 0, make_batch({"warm", "up"})).error_code, 0);
        ASSERT_EQ(fetch(c, "t", 0, 0).values().size(), 2u);
        baseline_rss_kib_ = broker_->rss_kib();
        ASSERT_GT(baseline_rss_kib_, 0);
    }

    // The broker still answers a normal request on a fresh connection, and its memory has not
    // grown with what the bad input claimed.
    void expect_healthy(const std::string& after) {
        SCOPED_TRACE("after " + after);
        ASSERT_TRUE(broker_->running()) << "gregor-server died";
        try {
            raw_connection c(broker_->port());
            auto v = c.call(native::api_key::api_versions, native::api_versions_request{}, 5s)
                         .as<native::api_versions_response>();
            EXPECT_EQ(v.apis.size(), static_cast<size_t>(native::kMaxApiKey + 1));
            auto f = fetch(c, "t", 0, 0);
            EXPECT_EQ(f.error_code, 0);
            EXPECT_EQ(f.values(), (std::vector<std::string>{"warm", "up"}));
        } catch (const std::exception& e) {
            ADD_FAILURE() << "the broker no longer serves: " << e.what();
        }
        const int64_t rss = broker_->rss_kib();
        EXPECT_LT(rss - baseline_rss_kib_, kRssSlackKib)
            << "RSS grew from " << baseline_rss_kib_ << " KiB to " << rss << " KiB";
    }

    std::unique_ptr<broker_process> broker_;
    int64_t baseline_rss_kib_ = -1;
};

TEST_F(bad_input, RandomBytesWithoutThePrefaceCloseTheConnection) {
    for (unsigned seed = 1; seed <= 6; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937 rng(seed);
        auto junk = random_bytes(rng, 4096);
        // Odd seeds look like Kafka (first byte not 0xFF); even ones start like the preface
        // and then go wrong.
        junk[0] = seed % 2 ? std::byte{0x13} : std::byte{0xFF};
        raw_connection c(broker_->port(), /*preface=*/false);
        c.send(junk, 2s);  // may fail half-way: the broker is allowed to hang up early
        const auto start = clock_type::now();
        EXPECT_TRUE(c.wait_closed(2s)) << "connection left open";
        EXPECT_LT(clock_type::now() - start, 2s);
    }
    {
        // Half a preface, then nothing: the idle bound closes it.
        raw_connection c(broker_->port(), false);
        ASSERT_TRUE(c.send(bytes{std::byte{0xFF}, std::byte{'G'}, std::byte{'R'}}));
        EXPECT_TRUE(c.wait_closed(kIdleTimeout + 3s));
    }
    expect_healthy("random bytes without the preface");
}

TEST_F(bad_input, RandomBytesAfterThePrefaceCloseTheConnection) {
    for (unsigned seed = 1; seed <= 8; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::mt19937 rng(seed);
        raw_connection c(broker_->port());
        c.send(random_bytes(rng, 4096), 2s);
        // Closed by the length check, the parser, or at worst the read deadlines.
        EXPECT_TRUE(c.wait_closed(kRequestTimeout + kIdleTimeout + 2s)) << "connection left open";
    }
    expect_healthy("random bytes after the preface");
}

TEST_F(bad_input, RandomBodiesForEveryApiGetAnAnswerOrACorruptMessageClose) {
    int answered_ok = 0, refused = 0;
    for (int16_t api = 0; api <= native::kMaxApiKey; ++api) {
        for (unsigned seed = 1; seed <= 4; ++seed) {
            SCOPED_TRACE(std::string(native::api_name(api)) + " seed " + std::to_string(seed));
            std::mt19937 rng(seed * 100 + static_cast<unsigned>(api));
            const size_t n = std::uniform_int_distribution<size_t>(1, 300)(rng);
            raw_connection c(broker_->port());
            ASSERT_TRUE(c.send(frame(api, 0, 777, random_bytes(rng, n))));
            auto r = c.read_reply(5s);
            ASSERT_TRUE(r.has_value()) << "no answer";
            EXPECT_EQ(r->correlation_id, 777);
            if (r->error.ok()) {
                ++answered_ok;
            } else {
                ++refused;
                EXPECT_EQ(r->error.code, errc::corrupt_message) << r->error.message;
                EXPECT_TRUE(r->body.empty());
                EXPECT_TRUE(c.wait_closed(2s)) << "left open after a request that does not parse";
            }
        }
    }
    EXPECT_GT(refused, 0);
    expect_healthy("random request bodies (" + std::to_string(answered_ok) + " parsed)");
}

TEST_F(bad_input, FrameLengthsOutsideTheLimitsCloseTheConnectionAtOnce) {
    const int32_t lengths[] = {0, 1, 7, -1, -8, INT32_MIN, kMaxRequestBytes + 1, 64 << 20, INT32_MAX};
    for (const int32_t length : lengths) {
        SCOPED_TRACE("length " + std::to_string(length));
        raw_connection c(broker_->port());
        ASSERT_TRUE(c.send(be32(length)));
        // A few bytes of "body" for good measure; they must not be waited for.
        c.send(bytes(16, std::byte{0}), 1s);
        const auto start = clock_type::now();
        EXPECT_TRUE(c.wait_closed(kRequestTimeout + 2s)) << "connection left open";
        // Well before any read deadline: it was the length check that closed it.
        EXPECT_LT(clock_type::now() - start, 1000ms);
    }
    expect_healthy("frame lengths 0, negative and above socket.request.max.bytes");
}

TEST_F(bad_input, TruncatedFramesThenCloseLeaveTheBrokerServing) {
    {
        // A header and half a body, then the client goes away.
        raw_connection c(broker_->port());
        auto f = frame(static_cast<int16_t>(native::api_key::metadata), 0, 1, bytes(40, std::byte{0}));
        f.resize(f.size() / 2);
        ASSERT_TRUE(c.send(f));
    }
    {
        // The largest legal claim with only a few bytes behind it.
        raw_connection c(broker_->port());
        ASSERT_TRUE(c.send(be32(kMaxRequestBytes)));
        ASSERT_TRUE(c.send(bytes(10, std::byte{1})));
    }
    {
        // Two bytes of a length.
        raw_connection c(broker_->port());
        ASSERT_TRUE(c.send(bytes{std::byte{0}, std::byte{0}}));
    }
    {
        // A whole request, then a truncated one on the same connection: the first is answered.
        raw_connection c(broker_->port());
        auto ok = native::encode_request(native::api_key::api_versions, 0, 5, native::api_versions_request{});
        auto cut = frame(static_cast<int16_t>(native::api_key::fetch), 0, 6, bytes(60, std::byte{0}));
        cut.resize(20);
        ok.insert(ok.end(), cut.begin(), cut.end());
        ASSERT_TRUE(c.send(ok));
        auto r = c.read_reply(5s);
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->correlation_id, 5);
        EXPECT_TRUE(r->error.ok());
        // The rest never comes: the request deadline closes it.
        const auto start = clock_type::now();
        EXPECT_TRUE(c.wait_closed(kRequestTimeout + 2s));
        EXPECT_GE(clock_type::now() - start, kRequestTimeout - 300ms);
    }
    expect_healthy("truncated frames");
}

TEST_F(bad_input, FrameDrippedSlowerThanTheRequestTimeoutIsClosed) {
    raw_connection c(broker_->port());
    const auto f = native::encode_request(native::api_key::api_versions, 0, 9, native::api_versions_request{});
    const auto drip = 400ms;  // 12 bytes: 4.8 s for the frame, well over request.timeout.ms
    const auto start = clock_type::now();
    clock_type::time_point length_done{};
    bool closed = false;
    for (size_t i = 0; i < f.size() && !closed; ++i) {
        if (!c.send(std::span<const std::byte>(&f[i], 1), 1s)) {
            closed = true;
            break;
        }
        if (i == 3) length_done = clock_type::now();
        // Waiting for the close is the pacing: it returns early if the broker hangs up.
        closed = c.wait_closed(drip);
    }
    ASSERT_TRUE(closed || c.wait_closed(kRequestTimeout + 1s)) << "the dripped frame was served to the end";
    const auto took = clock_type::now() - start;
    ASSERT_NE(length_done, clock_type::time_point{}) << "closed before the length was complete";
    // Closed by the request deadline, which starts once the length is in.
    EXPECT_GE(clock_type::now() - length_done, kRequestTimeout - 300ms);
    EXPECT_LT(took, 4 * drip + kRequestTimeout + 1500ms);
    expect_healthy("a dripped frame");
}

TEST_F(bad_input, IdleConnectionsAreClosedAfterConnectionsMaxIdle) {
    const auto start = clock_type::now();
    raw_connection silent(broker_->port(), /*preface=*/false);
    raw_connection prefaced(broker_->port());
    raw_connection served(broker_->port());
    served.call(native::api_key::api_versions, native::api_versions_request{});
    const auto deadline = start + kIdleTimeout + 3s;
    for (auto* c : {&silent, &prefaced, &served}) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        EXPECT_TRUE(c->wait_closed(std::max(left, 0ms))) << "idle connection left open";
    }
    // Not before its time either.
    EXPECT_GE(clock_type::now() - start, kIdleTimeout - 300ms);
    expect_healthy("idle connections");
}

TEST_F(bad_input, UnknownApiOrVersionGetsAnErrorResponseAndTheConnectionStaysUsable) {
    raw_connection c(broker_->port());
    struct probe {
        int16_t api, version;
        errc expected;
    };
    int32_t id = 4000;
    for (const auto& p : {probe{99, 0, errc::invalid_request}, probe{-1, 0, errc::invalid_request},
                          probe{static_cast<int16_t>(native::kMaxApiKey + 1), 0, errc::invalid_request},
                          probe{1, 1, errc::unsupported_version}, probe{0, -1, errc::unsupported_version},
                          probe{2, 32767, errc::unsupported_version}}) {
        SCOPED_TRACE("api " + std::to_string(p.api) + " version " + std::to_string(p.version));
        ASSERT_TRUE(c.send(frame(p.api, p.version, ++id, {})));
        auto r = c.read_reply(5s);
        ASSERT_TRUE(r.has_value()) << "no answer, or the connection was closed";
        EXPECT_EQ(r->correlation_id, id);
        EXPECT_EQ(r->error.code, p.expected) << errc_name(r->error.code) << ": " << r->error.message;
        EXPECT_FALSE(r->error.message.empty());
        EXPECT_TRUE(r->body.empty());
    }
    // The same connection still works.
    auto v = c.call(native::api_key::api_versions, native::api_versions_request{}).as<native::api_versions_response>();
    EXPECT_FALSE(v.apis.empty());
    EXPECT_EQ(fetch(c, "t", 0, 0).values().size(), 2u);
    expect_healthy("unknown APIs and versions");
}

// The inter-broker APIs answer anyone who speaks the protocol (as Kafka's do without
// authentication); what a stranger sends must still not reach outside the log directory, nor
// undo the controller's decisions with an old epoch.
TEST_F(bad_input, ControllerRequestsWithBadNamesOrOldEpochsAreRefused) {
    raw_connection c(broker_->port());
    native::cluster_partition escape{"../escape", "", 0, 1000, 0, 1000, {0}, 0, {0}};
    auto r = c.call(native::api_key::leader_and_isr, native::leader_and_isr_request{0, 1000, false, {escape}, {}});
    EXPECT_EQ(r.error.code, errc::invalid_request) << errc_name(r.error.code);
    native::cluster_partition negative{"t", "", -1, 1000, 0, 1000, {0}, 0, {0}};
    r = c.call(native::api_key::update_metadata, native::update_metadata_request{0, 1000, false, {}, {negative}, {}});
    EXPECT_EQ(r.error.code, errc::invalid_request) << errc_name(r.error.code);
    r = c.call(native::api_key::stop_replica, native::stop_replica_request{0, 1000, true, {{"..", 0}}});
    EXPECT_EQ(r.error.code, errc::invalid_request) << errc_name(r.error.code);
    EXPECT_FALSE(std::filesystem::exists(broker_->log_dir().parent_path() / "escape-0"));
    EXPECT_FALSE(std::filesystem::exists(broker_->log_dir() / "../escape-0"));

    // The broker's controller (itself) is at epoch 1 or later: epoch 0 is a deposed one.
    native::cluster_partition offline{"t", "", 0, 0, -1, 99, {}, 0, {0}};
    r = c.call(native::api_key::leader_and_isr, native::leader_and_isr_request{0, 0, true, {offline}, {}});
    EXPECT_EQ(r.error.code, errc::stale_controller_epoch) << errc_name(r.error.code);
    r = c.call(native::api_key::stop_replica, native::stop_replica_request{0, 0, true, {{"t", 0}}});
    EXPECT_EQ(r.error.code, errc::stale_controller_epoch) << errc_name(r.error.code);
    r = c.call(native::api_key::update_metadata, native::update_metadata_request{0, 0, true, {}, {}, {"t"}});
    EXPECT_EQ(r.error.code, errc::stale_controller_epoch) << errc_name(r.error.code);
    EXPECT_EQ(metadata(c, std::vector<std::string>{"t"}).topics.at(0).partitions.at(0).leader, 0);
    expect_healthy("controller requests from a stranger");
}

TEST_F(bad_input, LengthsBeyondTheFrameGetCorruptMessageThenClose) {
    auto body = [](auto&& fill) {
        bytes b;
        wire::byte_writer w(b);
        fill(w);
        return b;
    };
    struct probe {
        std::string what;
        native::api_key api;
        bytes body;
    };
    const std::vector<probe> probes = {
        {"Metadata with 2^31-1 topics", native::api_key::metadata,
         body([](auto& w) { w.template write_be<int32_t>(INT32_MAX); })},
        {"Metadata with a 32767-byte topic name in 3 bytes", native::api_key::metadata, body([](auto& w) {
             w.template write_be<int32_t>(1);
             w.template write_be<int16_t>(32767);
             w.write_bytes(wire::as_bytes("abc"));
             w.template write_be<int8_t>(0);
         })},
        {"Produce with a 2 GiB records field", native::api_key::produce, body([](auto& w) {
             w.template write_be<int16_t>(1);
             w.template write_be<int32_t>(1000);
             w.template write_be<int32_t>(1);
             w.template write_be<int16_t>(1);
             w.write_bytes(wire::as_bytes("t"));
             w.template write_be<int32_t>(1);
             w.template write_be<int32_t>(0);
             w.template write_be<int32_t>(INT32_MAX);
             w.write_bytes(wire::as_bytes("0123456789"));
         })},
        {"CreateTopics with a name of length -5", native::api_key::create_topics, body([](auto& w) {
             w.template write_be<int32_t>(1);
             w.template write_be<int16_t>(-5);
             w.template write_be<int32_t>(1);
         })},
        {"Fetch with -2 topics", native::api_key::fetch, body([](auto& w) {
             w.template write_be<int32_t>(-1);
             w.template write_be<int32_t>(0);
             w.template write_be<int32_t>(1);
             w.template write_be<int32_t>(1024);
             w.template write_be<int32_t>(-2);
         })},
        {"DeleteTopics with a million names in 8 bytes", native::api_key::delete_topics, body([](auto& w) {
             w.template write_be<int32_t>(1000000);
             w.template write_be<int32_t>(0);
         })},
        {"DescribeConfigs with 2^31-1 config names", native::api_key::describe_configs, body([](auto& w) {
             w.template write_be<int32_t>(1);
             w.template write_be<int8_t>(2);
             w.template write_be<int16_t>(1);
             w.write_bytes(wire::as_bytes("t"));
             w.template write_be<int32_t>(INT32_MAX);
         })},
        {"ApiVersions with trailing bytes", native::api_key::api_versions, bytes(3, std::byte{0})},
    };
    int32_t id = 100;
    for (const auto& p : probes) {
        SCOPED_TRACE(p.what);
        raw_connection c(broker_->port());
        ASSERT_TRUE(c.send(frame(static_cast<int16_t>(p.api), 0, ++id, p.body)));
        auto r = c.read_reply(5s);
        ASSERT_TRUE(r.has_value()) << "no answer";
        EXPECT_EQ(r->correlation_id, id);
        EXPECT_EQ(r->error.code, errc::corrupt_message) << errc_name(r->error.code) << ": " << r->error.message;
        EXPECT_TRUE(r->body.empty());
        const auto start = clock_type::now();
        EXPECT_TRUE(c.wait_closed(2s)) << "left open";
        EXPECT_LT(clock_type::now() - start, 1000ms);
    }
    expect_healthy("lengths beyond the frame");
}

TEST_F(bad_input, CorruptBatchesAreRefusedPerPartitionAndTheLogIsUnchanged) {
    raw_connection c(broker_->port());
    ASSERT_EQ(create_topic(c, "other").error_code, 0);
    const bytes good = make_batch({"g1", "g2", "g3"});

    struct probe {
        std::string what;
        bytes records;
        errc expected;
    };
    std::vector<probe> probes;
    {
        bytes b = good;
        b[b.size() - 2] ^= std::byte{0x20};  // inside the last record's value
        probes.push_back({"a flipped bit (bad CRC)", b, errc::corrupt_message});
    }
    {
        bytes b = good;
        wire::store_be<int32_t>(b.data() + rb::kRecordCountPos, 5);
        fix_crc(b);
        probes.push_back({"record count 5, lastOffsetDelta 2", b, errc::invalid_record});
    }
    {
        bytes b = good;
        wire::store_be<int32_t>(b.data() + rb::kRecordCountPos, 5);
        wire::store_be<int32_t>(b.data() + rb::kLastOffsetDeltaPos, 4);
        fix_crc(b);
        probes.push_back({"5 records claimed, 3 present", b, errc::invalid_record});
    }
    {
        bytes b = good;
        wire::store_be<int32_t>(b.data() + rb::kBatchLengthPos, static_cast<int32_t>(b.size()) + 100);
        probes.push_back({"batch length beyond the bytes", b, errc::corrupt_message});
    }
    {
        bytes b = good;
        b.resize(b.size() - 5);
        probes.push_back({"a truncated batch", b, errc::corrupt_message});
    }
    {
        bytes b = good;
        b[rb::kMagicPos] = std::byte{1};
        probes.push_back({"magic 1", b, errc::unsupported_for_message_format});
    }
    probes.push_back({"no batch at all", bytes{}, errc::corrupt_message});
    probes.push_back({"a batch over message.max.bytes", make_batch({std::string(kMessageMaxBytes + 1000, 'L')}),
                      errc::message_too_large});
    {
        bytes b = good;
        bytes bad = good;
        bad[bad.size() - 1] ^= std::byte{0x01};
        b.insert(b.end(), bad.begin(), bad.end());
        probes.push_back({"a good batch followed by a corrupt one", b, errc::corrupt_message});
    }
    for (const auto& p : probes) {
        SCOPED_TRACE(p.what);
        auto r = produce(c, "t", 0, p.records);
        EXPECT_EQ(r.error_code, code(p.expected)) << name_of(r.error_code) << ": " << r.error_message;
        EXPECT_FALSE(r.error_message.empty());
    }
    for (unsigned seed = 1; seed <= 20; ++seed) {
        // Random bytes: refused as corrupt, or (when the byte where the magic sits is not 2)
        // as a format this broker does not take.
        SCOPED_TRACE("random records, seed " + std::to_string(seed));
        std::mt19937 rng(seed);
        auto r = produce(c, "t", 0, random_bytes(rng, std::uniform_int_distribution<size_t>(1, 400)(rng)));
        EXPECT_TRUE(r.error_code == code(errc::corrupt_message) ||
                    r.error_code == code(errc::unsupported_for_message_format))
            << name_of(r.error_code) << ": " << r.error_message;
    }
    // acks outside -1/0/1.
    {
        native::produce_request req;
        req.acks = 2;
        bytes b = good;
        req.topics.push_back({"t", {{0, -1, std::span<std::byte>(b)}}});
        auto r = c.call(native::api_key::produce, req).as<native::produce_response>();
        ASSERT_EQ(r.topics.size(), 1u);
        EXPECT_EQ(r.topics[0].partitions.at(0).error_code, code(errc::invalid_required_acks));
    }
    // One bad partition does not spoil another in the same request.
    {
        native::produce_request req;
        req.acks = 1;
        bytes bad = good;
        bad[bad.size() - 1] ^= std::byte{0x01};
        bytes fine = good;
        req.topics.push_back({"t", {{0, -1, std::span<std::byte>(bad)}}});
        req.topics.push_back({"other", {{0, -1, std::span<std::byte>(fine)}}});
        auto r = c.call(native::api_key::produce, req).as<native::produce_response>();
        std::map<std::string, native::produce_response::partition> by_topic;
        for (const auto& t : r.topics) by_topic[t.name] = t.partitions.at(0);
        ASSERT_EQ(by_topic.size(), 2u);
        EXPECT_EQ(by_topic["t"].error_code, code(errc::corrupt_message));
        EXPECT_EQ(by_topic["other"].error_code, 0) << by_topic["other"].error_message;
        EXPECT_EQ(by_topic["other"].base_offset, 0);
    }

    // The log holds exactly what it held before, and the next good batch follows on densely.
    auto f = fetch(c, "t", 0, 0);
    EXPECT_EQ(f.values(), (std::vector<std::string>{"warm", "up"}));
    EXPECT_EQ(f.high_watermark, 2);
    EXPECT_EQ(list_offset(c, "t", 0, native::kLatestTimestamp).offset, 2);
    auto next = produce(c, "t", 0, good);
    EXPECT_EQ(next.error_code, 0);
    EXPECT_EQ(next.base_offset, 2);
    EXPECT_EQ(fetch(c, "t", 0, 0).values(), (std::vector<std::string>{"warm", "up", "g1", "g2", "g3"}));
    EXPECT_FALSE(c.peer_closed()) << "a refused batch is a per-partition error, not a reason to hang up";
}

TEST_F(bad_input, KafkaProtocolClientIsClosedWithoutHarm) {
    // Kafka's ApiVersions v3 as kafka-python / librdkafka open a connection with it:
    // size | api_key 18 | version 3 | correlation 1 | client_id | tagged fields | body.
    bytes req;
    {
        bytes payload;
        wire::byte_writer w(payload);
        w.write_be<int16_t>(18);
        w.write_be<int16_t>(3);
        w.write_be<int32_t>(1);
        w.write_be<int16_t>(12);
        w.write_bytes(wire::as_bytes("kafka-python"));
        w.write_be<int8_t>(0);              // tagged fields
        w.write_be<int8_t>(13);             // compact string: length + 1
        w.write_bytes(wire::as_bytes("kafka-python"));
        w.write_be<int8_t>(6);
        w.write_bytes(wire::as_bytes("2.0.2"));
        w.write_be<int8_t>(0);
        req = be32(static_cast<int32_t>(payload.size()));
        req.insert(req.end(), payload.begin(), payload.end());
    }
    for (int i = 0; i < 3; ++i) {
        raw_connection c(broker_->port(), /*preface=*/false);
        c.send(req, 2s);
        const auto start = clock_type::now();
        EXPECT_TRUE(c.wait_closed(2s)) << "a Kafka-protocol connection was left open";
        EXPECT_LT(clock_type::now() - start, 1500ms);
    }
    {
        // ApiVersions v0 with no client id (kcat's first probe), a shorter request.
        bytes payload;
        wire::byte_writer w(payload);
        w.write_be<int16_t>(18);
        w.write_be<int16_t>(0);
        w.write_be<int32_t>(2);
        w.write_be<int16_t>(-1);
        raw_connection c(broker_->port(), false);
        bytes r = be32(static_cast<int32_t>(payload.size()));
        r.insert(r.end(), payload.begin(), payload.end());
        c.send(r, 2s);
        EXPECT_TRUE(c.wait_closed(2s));
    }
    EXPECT_TRUE(broker_->wait_for_output("Kafka wire protocol", 5s));
    expect_healthy("Kafka-protocol connections");
}

// A length within socket.request.max.bytes is a claim, not a promise: slow or stalled senders
// that claim the maximum must not pin that much broker memory before sending the bytes.
TEST(bad_input_limits, ClaimedFrameSizesWithinTheLimitDoNotPinMemory) {
    constexpr int32_t kDefaultMax = 104857600;  // socket.request.max.bytes' default
    auto broker = start_broker({{"request.timeout.ms", "10000"}});
    const int64_t baseline = broker->rss_kib();
    ASSERT_GT(baseline, 0);
    std::vector<std::unique_ptr<raw_connection>> stalled;
    for (int i = 0; i < 4; ++i) {
        stalled.push_back(std::make_unique<raw_connection>(broker->port()));
        ASSERT_TRUE(stalled.back()->send(be32(kDefaultMax)));
        ASSERT_TRUE(stalled.back()->send(bytes(100, std::byte{0})));
    }
    // A round trip on another connection: the broker has had time to read the claims.
    raw_connection probe(broker->port());
    probe.call(native::api_key::api_versions, native::api_versions_request{});
    int64_t peak = baseline;
    const auto until = clock_type::now() + 1s;
    while (clock_type::now() < until && peak - baseline < kRssSlackKib) {
        peak = std::max(peak, broker->rss_kib());
        probe.call(native::api_key::api_versions, native::api_versions_request{});
    }
    EXPECT_LT(peak - baseline, kRssSlackKib)
        << "4 stalled frames claiming " << kDefaultMax << " bytes each grew RSS from " << baseline << " KiB to " << peak
        << " KiB";
    for (auto& c : stalled) EXPECT_FALSE(c->peer_closed());
}

}  // namespace
}  // namespace gregor::integration
