// Named spdlog loggers, one per module ("storage", "broker", ...), all writing to the sinks
// configured at start-up. get() is safe from any thread; configure() is called once by main()
// before other threads start.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace gregor::logging {

// The module's logger, created on first use with the process's sinks.
std::shared_ptr<spdlog::logger> get(const std::string& module);

// Sets the level for every logger ("trace" .. "off"); false if the name is unknown.
bool set_level(const std::string& level);

// Console output goes to stderr (tools keep stdout for their output) unless a program that
// has no other output (the broker) asks for stdout. Call before the first get().
void console_to_stdout();

// Adds a sink (a log file) to every logger, present and future. Call before other threads log.
void add_sink(std::shared_ptr<spdlog::sinks::sink> sink);

}  // namespace gregor::logging
