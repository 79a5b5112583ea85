#include "tests/support/shared_zookeeper.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "tests/support/raw_connection.h"
#include "tests/support/zookeeper_server.h"

namespace gregor::test_support {
namespace {

std::unique_ptr<zookeeper_server>& private_server() {
    static std::unique_ptr<zookeeper_server> server;
    return server;
}

// The fixture's server, when GREGOR_TEST_ZOOKEEPER_DIR names one that answers.
std::string fixture_server() {
    const char* dir = std::getenv("GREGOR_TEST_ZOOKEEPER_DIR");
    if (dir == nullptr) return {};
    std::ifstream in(std::filesystem::path(dir) / "port");
    int port = 0;
    if (!(in >> port) || port <= 0 || port > 65535) return {};
    if (!zookeeper_answers(static_cast<uint16_t>(port))) return {};
    return "127.0.0.1:" + std::to_string(port);
}

}  // namespace

bool zookeeper_answers(uint16_t port) {
    try {
        raw_connection c(port, /*preface=*/false, 1s);
        const std::string word = "srvr";
        if (!c.send(std::span(reinterpret_cast<const std::byte*>(word.data()), word.size()), 1s)) return false;
        return c.read_until_closed(1s).find("Mode:") != std::string::npos;
    } catch (const std::exception&) {
        return false;
    }
}

std::string shared_zookeeper::connect_string() {
    static std::string connect;
    if (!connect.empty()) return connect;
    connect = fixture_server();
    if (connect.empty()) {
        private_server() = std::make_unique<zookeeper_server>();
        connect = private_server()->connect_string();
    }
    return connect;
}

std::string shared_zookeeper::isolated_connect(std::string label) {
    static std::atomic<int> next{0};
    if (label.empty()) {
        if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
            label = std::string(info->test_suite_name()) + "-" + info->name();
        } else {
            label = "test";
        }
    }
    std::string clean;
    for (char ch : label) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        ch == '-' || ch == '_';
        clean += ok ? ch : '_';
    }
    return connect_string() + "/t-" + clean + "-" + std::to_string(::getpid()) + "-" + std::to_string(next++);
}

}  // namespace gregor::test_support
