#include "admin-cli/tool_support.h"

#include <signal.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/clock.h"

namespace gregor::tools {
namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int sig) { g_stop_signal.store(sig); }

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

}  // namespace

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      const std::string& error_prefix) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::Success&) {
        return print_help(app);
    } catch (const CLI::ParseError& e) {
        print_error_line(error_prefix + e.what());
        return 1;
    }
    return std::nullopt;
}

int print_help(const CLI::App& app) {
    std::cout << app.help();
    return 0;
}

void add_admin_connection_options(CLI::App& app, admin_connection& into) {
    app.add_option("--bootstrap-server", into.bootstrap_server,
                   "REQUIRED: The Gregor (or Kafka) server(s) to connect to, host:port[,host:port].");
    app.add_option("--command-config", into.command_config,
                   "Property file containing configs to be passed to the admin client.");
}

result<client::properties> admin_client_properties(const admin_connection& connection) {
    client::properties props;
    if (!connection.command_config.empty()) {
        auto file = load_properties(connection.command_config);
        if (!file) return file.error();
        props = std::move(*file);
    }
    props["bootstrap.servers"] = connection.bootstrap_server;
    return props;
}

std::string error_text(const status& s) { return s.message.empty() ? errc_message(s.code) : s.message; }

CLI::Option* add_repeated_option(CLI::App& app, const std::string& name,
                                 std::vector<std::string>& values, const std::string& description) {
    return app.add_option(name, values, description)->take_all()->expected(1);
}

result<client::properties> parse_key_values(const std::vector<std::string>& args) {
    client::properties out;
    for (const auto& a : args) {
        const size_t eq = a.find('=');
        if (eq == std::string::npos || eq == 0) {
            return status(errc::invalid_config,
                          "Invalid command line property: '" + a + "' (expected key=value)");
        }
        out[a.substr(0, eq)] = a.substr(eq + 1);
    }
    return out;
}

result<client::properties> load_properties(const std::string& path) {
    std::ifstream in(path);
    if (!in) return status(errc::invalid_config, "cannot read properties file " + path);
    client::properties out;
    std::string line, pending;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::string t = trim(line);
        if (pending.empty() && (t.empty() || t[0] == '#' || t[0] == '!')) continue;
        if (!t.empty() && t.back() == '\\') {
            t.pop_back();
            pending += t;
            continue;
        }
        t = pending + t;
        pending.clear();
        const size_t sep = t.find_first_of("=:");
        if (sep == std::string::npos) {
            out[trim(t)] = "";
            continue;
        }
        out[trim(t.substr(0, sep))] = trim(t.substr(sep + 1));
    }
    return out;
}

void merge(client::properties& into, const client::properties& from) {
    for (const auto& [k, v] : from) into[k] = v;
}

result<client::properties> load_properties_with_overrides(const std::string& path,
                                                          const std::vector<std::string>& key_values) {
    client::properties out;
    if (!path.empty()) {
        auto file = load_properties(path);
        if (!file) return file.error();
        out = std::move(*file);
    }
    auto overrides = parse_key_values(key_values);
    if (!overrides) return overrides.error();
    merge(out, *overrides);
    return out;
}

bool property_is_true(const std::string& value) {
    std::string t;
    for (char c : value) {
        if (!std::isspace(static_cast<unsigned char>(c))) t += static_cast<char>(std::tolower(c));
    }
    return t == "true";
}

int64_t current_time_ms() {
    return wall_clock_ms();
}

void install_stop_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

int stop_signal() noexcept { return g_stop_signal.load(); }

throughput_throttler::throughput_throttler(double per_second,
                                           std::chrono::steady_clock::time_point start)
    : target_(per_second),
      start_(start),
      sleep_ns_(per_second > 0 ? static_cast<int64_t>(1e9 / per_second) : INT64_MAX) {}

bool throughput_throttler::should_throttle(int64_t amount_so_far,
                                           std::chrono::steady_clock::time_point now) const {
    if (target_ < 0) return false;
    const double elapsed_sec = std::chrono::duration<double>(now - start_).count();
    return elapsed_sec > 0 && static_cast<double>(amount_so_far) / elapsed_sec > target_;
}

void throughput_throttler::throttle() {
    if (target_ == 0) {
        // Kafka blocks until woken; nothing wakes us but a stop signal.
        while (stop_signal() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return;
    }
    constexpr int64_t kMinSleepNs = 2'000'000;
    deficit_ns_ += sleep_ns_;
    if (deficit_ns_ >= kMinSleepNs) {
        // Pacing is the point here: there is no condition to wait for.
        std::this_thread::sleep_for(std::chrono::nanoseconds(deficit_ns_));
        deficit_ns_ = 0;
    }
}

std::string kafka_exception_class(errc e) {
    const char* name = nullptr;
    switch (e) {
    case errc::request_timed_out: name = "errors.TimeoutException"; break;
    case errc::network_exception: name = "errors.NetworkException"; break;
    case errc::not_leader_or_follower: name = "errors.NotLeaderOrFollowerException"; break;
    case errc::leader_not_available: name = "errors.LeaderNotAvailableException"; break;
    case errc::unknown_topic_or_partition: name = "errors.UnknownTopicOrPartitionException"; break;
    case errc::message_too_large: name = "errors.RecordTooLargeException"; break;
    case errc::record_list_too_large: name = "errors.RecordBatchTooLargeException"; break;
    case errc::not_enough_replicas: name = "errors.NotEnoughReplicasException"; break;
    case errc::not_enough_replicas_after_append:
        name = "errors.NotEnoughReplicasAfterAppendException";
        break;
    case errc::corrupt_message: name = "errors.CorruptRecordException"; break;
    case errc::invalid_record: name = "InvalidRecordException"; break;
    case errc::kafka_storage_error: name = "errors.KafkaStorageException"; break;
    case errc::invalid_topic_exception: name = "errors.InvalidTopicException"; break;
    case errc::invalid_required_acks: name = "errors.InvalidRequiredAcksException"; break;
    case errc::invalid_timestamp: name = "errors.InvalidTimestampException"; break;
    case errc::unsupported_for_message_format:
        name = "errors.UnsupportedForMessageFormatException";
        break;
    case errc::unsupported_version: name = "errors.UnsupportedVersionException"; break;
    case errc::invalid_config: name = "config.ConfigException"; break;
    default: name = "KafkaException"; break;
    }
    return std::string("class org.apache.kafka.common.") + name;
}

void print_error_line(const std::string& line) {
    std::fputs(line.c_str(), stderr);
    std::fputc('\n', stderr);
    std::fflush(stderr);
}

}  // namespace gregor::tools
