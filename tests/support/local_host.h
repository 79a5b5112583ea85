// Small helpers every multi-process test needs on this machine: a free loopback port, a
// file's contents, and running a command line to its outcome. Any thread (run_command: one
// call at a time per scratch directory).
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

// Runs `command`, a /bin/sh command line, with `input` on stdin and waits for it; timeout(1)
// kills it and whatever it started after `timeout_seconds` (exit code 124 then). stdin, stdout
// and stderr pass through files in `scratch_dir`, which must exist.
run_result run_command(const std::string& command, const std::filesystem::path& scratch_dir,
                       const std::string& input = "", int timeout_seconds = 120);

}  // namespace gregor::test_support
