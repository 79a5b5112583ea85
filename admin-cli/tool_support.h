// What the command-line tools share: Kafka-style command lines, the admin tools'
// --bootstrap-server and --command-config, `key=value` arguments and .properties files,
// stop-on-signal handling, Kafka's ThroughputThrottler, and the Kafka exception names the
// verifiable tools print. Single-threaded helpers unless a function says
// otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/config.h"
#include "common/errc.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace gregor::tools {

// Parses the command line the way every tool answers it: --help prints the usage on stdout
// (status 0), a bad command line prints `error_prefix` and the reason as one stderr line
// (status 1). Returns that status when the tool is to stop, nullopt when it goes on.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      const std::string& error_prefix = "");

// Prints the usage on stdout and returns 0, the status of a tool asked for its help.
int print_help(const CLI::App& app);

// --bootstrap-server and --command-config, as Kafka's admin tools take them.
struct admin_connection {
    std::string bootstrap_server;
    std::string command_config;
};
void add_admin_connection_options(CLI::App& app, admin_connection& into);
// The admin client's settings: the --command-config file (if any) with bootstrap.servers from
// --bootstrap-server. Errors: those of load_properties.
result<client::properties> admin_client_properties(const admin_connection& connection);

// A status as the tools print it: its message, or its code's meaning when it has none.
std::string error_text(const status& s);

// A Kafka-style option repeated once per value: `--property a=1 --property b=2`.
CLI::Option* add_repeated_option(CLI::App& app, const std::string& name,
                                 std::vector<std::string>& values, const std::string& description);

// Parses "k=v" arguments (Kafka's CommandLineUtils.parseKeyValueArgs: split at the first '=').
// Errors: invalid_config naming the argument.
result<client::properties> parse_key_values(const std::vector<std::string>& args);

// Reads a Java .properties file: `key=value` or `key: value` lines, '#' and '!' comments,
// surrounding whitespace trimmed, a trailing backslash continuing the line.
result<client::properties> load_properties(const std::string& path);

// Copies every entry of `from` into `into`, replacing what is there.
void merge(client::properties& into, const client::properties& from);

// The settings of a `--x.config FILE` (none when `path` is empty) with the `--x-property k=v`
// arguments winning over it, as Kafka's tools combine the two.
// Errors: those of load_properties and parse_key_values.
result<client::properties> load_properties_with_overrides(const std::string& path,
                                                          const std::vector<std::string>& key_values);

// A boolean property as Kafka's formatters and readers read one: "true" in any case, white
// space ignored; anything else is false.
bool property_is_true(const std::string& value);

// Milliseconds since the epoch, Java's System.currentTimeMillis(), which the tools' reports
// and timestamps are made of.
int64_t current_time_ms();

// SIGINT and SIGTERM set a flag instead of killing the process (and interrupt blocking reads:
// no SA_RESTART). stop_signal() is the signal received, or 0. Safe from any thread.
void install_stop_signals();
int stop_signal() noexcept;

// Kafka's org.apache.kafka.server.util.ThroughputThrottler: sleeps now and then so that the
// average rate stays near `per_second` (negative: no limit).
class throughput_throttler {
public:
    throughput_throttler(double per_second, std::chrono::steady_clock::time_point start);
    bool should_throttle(int64_t amount_so_far, std::chrono::steady_clock::time_point now) const;
    void throttle();

private:
    double target_;
    std::chrono::steady_clock::time_point start_;
    int64_t sleep_ns_;
    int64_t deficit_ns_ = 0;
};

// The Java exception class Kafka's clients raise for an error code, as
// "class org.apache.kafka.common.errors.TimeoutException" (VerifiableProducer's "exception").
std::string kafka_exception_class(errc e);

// "ERROR <message>" lines and the like go to stderr through this, one line each.
void print_error_line(const std::string& line);

}  // namespace gregor::tools
