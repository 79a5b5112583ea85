#include "common/logger.h"

#include <mutex>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace gregor::logging {

namespace {

std::mutex mu;  // spdlog refuses to register one name twice; guards extra_sinks too
std::vector<std::shared_ptr<spdlog::sinks::sink>> extra_sinks;
bool use_stdout = false;

}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& module) {
    std::lock_guard lock(mu);
    if (auto existing = spdlog::get(module)) return existing;
    auto logger = use_stdout ? spdlog::stdout_color_mt(module) : spdlog::stderr_color_mt(module);
    for (const auto& s : extra_sinks) logger->sinks().push_back(s);
    logger->set_pattern("[%Y-%m-%d %H:%M:%S,%e] %^%l%$ [%n] %v");
    return logger;
}

void console_to_stdout() {
    std::lock_guard lock(mu);
    use_stdout = true;
}

void add_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
    std::lock_guard lock(mu);
    sink->set_pattern("[%Y-%m-%d %H:%M:%S,%e] %l [%n] %v");
    extra_sinks.push_back(sink);
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->sinks().push_back(sink); });
}

bool set_level(const std::string& level) {
    auto l = spdlog::level::from_str(level);
    if (l == spdlog::level::off && level != "off") return false;
    spdlog::set_level(l);
    return true;
}

}  // namespace gregor::logging
