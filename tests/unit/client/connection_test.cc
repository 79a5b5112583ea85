// One connection against the fake broker: preface and framing, pipelined requests matched by
// correlation id, and every way a broker can fail a client turned into an error value.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "client/connection.h"
#include "client/event_loop.h"
#include "tests/support/local_host.h"
#include "tests/unit/client/fake_cluster.h"

namespace gregor::client {
namespace {

using namespace std::chrono_literals;
using test::fake_cluster;
using test::hook_action;

struct connection_test : ::testing::Test {
    fake_cluster cluster{1};
    event_loop loop;
    std::shared_ptr<connection> conn;

    void open(connection_options o = {}) {
        conn = loop.call([&] {
            return connection::create(loop, {"127.0.0.1", cluster.port(1)}, o);
        });
    }
    void TearDown() override {
        loop.call([&] { conn.reset(); });
    }

    template <typename Req>
    std::future<result<response>> send(native::api_key key, Req req,
                                       std::optional<std::chrono::milliseconds> timeout = {}) {
        auto p = std::make_shared<std::promise<result<response>>>();
        auto f = p->get_future();
        loop.post([this, key, req, p, timeout] {
            conn->send(key, req, [p](result<response> r) { p->set_value(std::move(r)); }, timeout);
        });
        return f;
    }
};

TEST_F(connection_test, AnswersPipelinedRequestsInOrder) {
    open();
    cluster.create_topic("t", 2);
    auto a = send(native::api_key::api_versions, native::api_versions_request{});
    native::metadata_request m;
    m.topics = std::vector<std::string>{"t"};
    auto b = send(native::api_key::metadata, m);
    auto c = send(native::api_key::api_versions, native::api_versions_request{});
    for (auto* f : {&a, &b, &c}) ASSERT_EQ(f->wait_for(10s), std::future_status::ready);
    auto ra = a.get(), rb = b.get(), rc = c.get();
    ASSERT_TRUE(ra) << ra.error().message;
    ASSERT_TRUE(rb);
    ASSERT_TRUE(rc);
    EXPECT_LT(ra->correlation_id(), rb->correlation_id());
    EXPECT_LT(rb->correlation_id(), rc->correlation_id());
    auto md = rb->decode<native::metadata_response>();
    ASSERT_TRUE(md);
    ASSERT_EQ(md->topics.size(), 1u);
    EXPECT_EQ(md->topics[0].partitions.size(), 2u);
    auto versions = ra->decode<native::api_versions_response>();
    ASSERT_TRUE(versions);
    EXPECT_EQ(versions->apis.size(), static_cast<size_t>(native::kMaxApiKey + 1));
}

TEST_F(connection_test, RefusedConnectionIsNetworkException) {
    // A port just bound and released: nothing listens there.
    const uint16_t dead_port = test_support::free_port();
    conn = loop.call([&] { return connection::create(loop, {"127.0.0.1", dead_port}, {}); });
    auto f = send(native::api_key::api_versions, native::api_versions_request{});
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    auto r = f.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.code(), errc::network_exception);
    EXPECT_NE(r.error().message.find("failed"), std::string::npos) << r.error().message;
    EXPECT_TRUE(loop.call([&] { return conn->closed(); }));
}

TEST_F(connection_test, BrokerClosingFailsEveryPendingRequest) {
    cluster.set_hook([](int32_t, const native::request_header& h, std::span<std::byte>) {
        return h.api_key == static_cast<int16_t>(native::api_key::metadata) ? hook_action::close()
                                                                            : hook_action::pass();
    });
    open();
    auto a = send(native::api_key::metadata, native::metadata_request{});
    auto b = send(native::api_key::api_versions, native::api_versions_request{});
    for (auto* f : {&a, &b}) {
        ASSERT_EQ(f->wait_for(10s), std::future_status::ready);
        auto r = f->get();
        ASSERT_FALSE(r);
        EXPECT_EQ(r.code(), errc::network_exception);
    }
    // A closed connection fails new requests without trying.
    auto c = send(native::api_key::api_versions, native::api_versions_request{});
    ASSERT_EQ(c.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(c.get().code(), errc::network_exception);
}

TEST_F(connection_test, SilentBrokerTimesOutTheRequestAndClosesTheConnection) {
    cluster.set_hook([](int32_t, const native::request_header&, std::span<std::byte>) {
        return hook_action::stall();
    });
    connection_options o;
    o.request_timeout = 300ms;
    open(o);
    const auto start = std::chrono::steady_clock::now();
    auto a = send(native::api_key::api_versions, native::api_versions_request{});
    auto b = send(native::api_key::api_versions, native::api_versions_request{}, 5000ms);
    ASSERT_EQ(a.wait_for(10s), std::future_status::ready);
    auto ra = a.get();
    EXPECT_EQ(ra.code(), errc::request_timed_out);
    EXPECT_NE(ra.error().message.find("timed out after 300 ms"), std::string::npos)
        << ra.error().message;
    EXPECT_GE(std::chrono::steady_clock::now() - start, 290ms);
    // The other request cannot be matched any more: it fails at once, not after its 5 s.
    ASSERT_EQ(b.wait_for(2s), std::future_status::ready);
    EXPECT_EQ(b.get().code(), errc::network_exception);
}

TEST_F(connection_test, NoResponseRequestCompletesWhenWritten) {
    cluster.create_topic("t", 1);
    open();
    native::produce_request req;
    req.acks = 0;
    auto batch = test::make_batch(0, 3);
    req.topics.push_back({"t", {{0, -1, std::span<std::byte>(batch)}}});
    auto p = std::make_shared<std::promise<result<response>>>();
    auto f = p->get_future();
    loop.post([&, p] {
        conn->send_no_response(native::api_key::produce, req,
                               [p](result<response> r) { p->set_value(std::move(r)); });
    });
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(f.get());
    // The broker got it, and a request after it is still answered (nothing was misaligned).
    auto v = send(native::api_key::api_versions, native::api_versions_request{});
    ASSERT_EQ(v.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(v.get());
    EXPECT_EQ(cluster.log_end({"t", 0}), 3);
}

TEST_F(connection_test, ResponseWithWrongCorrelationIdClosesTheConnection) {
    cluster.set_hook([](int32_t, const native::request_header& h, std::span<std::byte>) {
        return hook_action::reply(native::encode_response(h.correlation_id + 7, status{},
                                                          native::api_versions_response{}));
    });
    open();
    auto a = send(native::api_key::api_versions, native::api_versions_request{});
    ASSERT_EQ(a.wait_for(10s), std::future_status::ready);
    auto r = a.get();
    EXPECT_EQ(r.code(), errc::network_exception);
    EXPECT_NE(r.error().message.find("correlation id"), std::string::npos);
}

TEST_F(connection_test, OversizedResponseFrameClosesTheConnection) {
    cluster.set_hook([](int32_t, const native::request_header&, std::span<std::byte>) {
        std::vector<std::byte> frame(8);
        wire::store_be<int32_t>(frame.data(), 1 << 30);  // claims 1 GiB
        return hook_action::reply(frame);
    });
    connection_options o;
    o.max_response_bytes = 1 << 20;
    open(o);
    auto a = send(native::api_key::api_versions, native::api_versions_request{});
    ASSERT_EQ(a.wait_for(10s), std::future_status::ready);
    auto r = a.get();
    EXPECT_EQ(r.code(), errc::network_exception);
    EXPECT_NE(r.error().message.find("length"), std::string::npos) << r.error().message;
}

TEST_F(connection_test, RequestLevelErrorReachesTheCaller) {
    cluster.set_hook([](int32_t, const native::request_header& h, std::span<std::byte>) {
        return hook_action::reply(native::encode_error_response(
            h.correlation_id, status(errc::unsupported_version, "version 0 only")));
    });
    open();
    auto a = send(native::api_key::api_versions, native::api_versions_request{});
    ASSERT_EQ(a.wait_for(10s), std::future_status::ready);
    auto r = a.get();
    ASSERT_TRUE(r);  // the frame arrived...
    EXPECT_EQ(r->error().code, errc::unsupported_version);  // ...carrying an error
    EXPECT_EQ(r->decode<native::api_versions_response>().code(), errc::unsupported_version);
}

TEST_F(connection_test, CloseFailsPendingRequests) {
    cluster.set_hook([](int32_t, const native::request_header&, std::span<std::byte>) {
        return hook_action::stall();
    });
    open();
    auto a = send(native::api_key::api_versions, native::api_versions_request{});
    ASSERT_TRUE(cluster.wait_for_requests(native::api_key::api_versions, 1, 10s));
    loop.call([&] { conn->close(); });
    ASSERT_EQ(a.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(a.get().code(), errc::network_exception);
}

TEST(event_loop, RunAfterRunsAndCancelPreventsIt) {
    event_loop loop;
    std::promise<void> ran;
    auto t1 = loop.run_after(10ms, [&] { ran.set_value(); });
    std::atomic<bool> cancelled_ran{false};
    auto t2 = loop.run_after(50ms, [&] { cancelled_ran = true; });
    t2->cancel();
    ASSERT_EQ(ran.get_future().wait_for(10s), std::future_status::ready);
    // A task posted after 100 ms orders after the cancelled timer's expiry.
    std::promise<void> later;
    loop.run_after(100ms, [&] { later.set_value(); });
    ASSERT_EQ(later.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_FALSE(cancelled_ran);
    EXPECT_EQ(loop.call([] { return 42; }), 42);
}

}  // namespace
}  // namespace gregor::client
