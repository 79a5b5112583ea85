#include "admin-cli/json_events.h"

#include <cstdio>
#include <mutex>

#include "admin-cli/tool_support.h"

namespace gregor::tools {
namespace {

// Guards stdout between a line's bytes and its flush.
std::mutex stdout_mu;

}  // namespace

json_event make_event(std::string_view name) {
    json_event e;
    e["timestamp"] = current_time_ms();
    e["name"] = name;
    return e;
}

json_event nullable(const std::optional<std::string>& text) {
    return text ? json_event(*text) : json_event(nullptr);
}

void print_event(const json_event& event) {
    // Record bytes need not be UTF-8: such bytes print as U+FFFD rather than abort the tool.
    const std::string line = event.dump(-1, ' ', false, json_event::error_handler_t::replace);
    std::lock_guard lock(stdout_mu);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

}  // namespace gregor::tools
