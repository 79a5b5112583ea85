// One ZooKeeper server shared by the integration tests of a ctest run, each test isolated in
// its own chroot. ctest starts the server once (the `gregor_zookeeper` fixture, see
// tests/integration/zookeeper_fixture_main.cc) and names its state directory in
// GREGOR_TEST_ZOOKEEPER_DIR; a test binary run by hand (or whose fixture server does not
// answer) starts a private server on first use, which lives until the process exits.
// Tests that stop or restart ZooKeeper must start their own zookeeper_server instead.
// Main test thread only.
#pragma once

#include <cstdint>
#include <string>

namespace gregor::test_support {

class shared_zookeeper {
public:
    // "127.0.0.1:<port>" of the shared server, starting a private one if needed (throws
    // std::runtime_error when that fails).
    static std::string connect_string();
    // connect_string() plus a chroot no other test uses: "/t-<label>-<pid>-<n>" (the label is
    // reduced to letters, digits, '-' and '_'). Defaults to the running gtest's name.
    static std::string isolated_connect(std::string label = {});
};

// True when a ZooKeeper server on 127.0.0.1:`port` answers `srvr` within a second.
bool zookeeper_answers(uint16_t port);

}  // namespace gregor::test_support
