// Small helpers every multi-process test needs on this machine: a free loopback port, a
// file's contents, and the outcome of running a command. Pure functions: any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace gregor::test_support {

// A free TCP port on 127.0.0.1 (bound to port 0 and released: nothing listens on it, and
// another process may take it first, which a listener would report at start-up).
uint16_t free_port();

// The whole file; empty when it cannot be read.
std::string slurp(const std::filesystem::path& p);

// What a command printed and how it ended.
struct run_result {
    int exit_code = -1;
    std::string out, err;
    std::vector<std::string> lines() const;  // `out`, split at newlines
};

}  // namespace gregor::test_support
