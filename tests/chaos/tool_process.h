// A command-line tool (the verifiable producer or consumer) run as a child process while a
// test injects faults: its stdout and stderr go to files in a directory of the test's, and the
// test reads the stdout lines as they come (each one JSON event) without waiting for the tool
// to end. stop() ends it as an operator would (SIGTERM, so it prints its shutdown lines),
// bounded by a deadline. The tool dies with the test process (PR_SET_PDEATHSIG); the
// destructor SIGKILLs it if it still runs.
// Not thread-safe: drive it from the test's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gregor::chaos {

class tool_process {
public:
    // Starts `binary` with `args`; its output goes to `dir`/`name`.out and .err (`dir` must
    // exist). Throws std::runtime_error when it cannot be started.
    tool_process(const std::filesystem::path& binary, std::vector<std::string> args,
                 const std::filesystem::path& dir, const std::string& name);
    ~tool_process();
    tool_process(const tool_process&) = delete;
    tool_process& operator=(const tool_process&) = delete;

    // Every complete stdout line so far (a line still being written is left for later calls).
    const std::vector<std::string>& lines();
    std::string error_output() const;
    // The command line, for failure messages.
    const std::string& command() const noexcept { return command_; }

    bool running();  // reaps the process if it has exited
    // SIGTERM, then waits up to `timeout` for the exit; returns the exit code (128 + signal when
    // a signal ended it). If it has not exited by then: SIGKILL, and -1.
    int stop(std::chrono::milliseconds timeout);
    // Waits up to `timeout` for the tool to exit by itself; its exit code as stop().
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
    std::filesystem::path out_, err_;
    std::string command_;
    pid_t pid_ = -1;
    int exit_code_ = -1;
    std::vector<std::string> lines_;
    size_t read_ = 0;  // bytes of out_ consumed into lines_
};

}  // namespace gregor::chaos
