// gregor-consumer-perf-test: Kafka's kafka-consumer-perf-test.sh (ConsumerPerformance) for
// Gregor, same flags and same output:
//   --bootstrap-server H:P --topic T --messages N [--timeout MS] [--fetch-size B]
//   [--from-latest] [--show-detailed-stats --reporting-interval MS] [--date-format F]
//   [--hide-header] [--consumer.config FILE] [--group G (accepted)]
// prints the header
//   "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
//    rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
// and one line of figures. Without consumer groups there is no rebalance: rebalance.time.ms
// is the time taken to find the topic's partitions and assign them.
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "admin-cli/tool_support.h"
#include "client/consumer.h"
#include "common/logger.h"

namespace {

using namespace gregor;
using namespace gregor::client;
using std::chrono::milliseconds;

using tools::current_time_ms;

// The subset of java.text.SimpleDateFormat that date formats use in practice: y, M, d, H, h,
// m, s, S, a, and quoted text; local time, as the JVM's default time zone.
std::string format_date(const std::string& pattern, int64_t ms) {
    const time_t secs = static_cast<time_t>(ms / 1000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    const int millis = static_cast<int>(ms % 1000);
    std::string out;
    for (size_t i = 0; i < pattern.size();) {
        const char c = pattern[i];
        if (c == '\'') {
            size_t end = pattern.find('\'', i + 1);
            if (end == std::string::npos) end = pattern.size();
            out += end == i + 1 ? "'" : pattern.substr(i + 1, end - i - 1);
            i = end + 1;
            continue;
        }
        size_t n = 1;
        while (i + n < pattern.size() && pattern[i + n] == c) ++n;
        auto num = [&](long v, size_t width) {
            std::string s = std::to_string(v);
            while (s.size() < width) s = "0" + s;
            return s;
        };
        switch (c) {
        case 'y': out += n == 2 ? num((tm.tm_year + 1900) % 100, 2) : num(tm.tm_year + 1900, n); break;
        case 'M': out += num(tm.tm_mon + 1, n); break;
        case 'd': out += num(tm.tm_mday, n); break;
        case 'H': out += num(tm.tm_hour, n); break;
        case 'h': out += num(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12, n); break;
        case 'm': out += num(tm.tm_min, n); break;
        case 's': out += num(tm.tm_sec, n); break;
        case 'S': out += num(millis, n); break;
        case 'a': out += tm.tm_hour < 12 ? "AM" : "PM"; break;
        default: out += pattern.substr(i, n); break;
        }
        i += n;
    }
    return out;
}

int usage_error(const std::string& message) {
    tools::print_error_line(message);
    return 1;
}

int run(int argc, char** argv) {
    std::string bootstrap, topic, group, consumer_config, date_format = "yyyy-MM-dd HH:mm:ss:SSS";
    int64_t messages = 0, timeout = 10000, reporting_interval = 5000, fetch_size = 1048576,
            socket_buffer = 2097152;
    bool from_latest = false, detailed = false, hide_header = false, print_metrics = false;
    CLI::App app{"This tool is used to verify the consumer performance.", "gregor-consumer-perf-test"};
    app.add_option("--bootstrap-server", bootstrap, "REQUIRED: The server(s) to connect to.");
    auto* topic_opt = app.add_option("--topic", topic, "REQUIRED: The topic to consume from.");
    auto* messages_opt = app.add_option("--messages", messages, "REQUIRED: The number of messages to send or consume");
    app.add_option("--group", group, "The group id to consume on (accepted; no groups yet).");
    app.add_option("--fetch-size", fetch_size, "The amount of data to fetch in a single request.");
    app.add_flag("--from-latest", from_latest,
                 "Start with the latest message present in the log rather than the earliest.");
    app.add_option("--socket-buffer-size", socket_buffer, "The size of the tcp RECV size (accepted).");
    app.add_option("--consumer.config", consumer_config, "Consumer config properties file.");
    app.add_flag("--print-metrics", print_metrics, "Print out the metrics (accepted; none yet).");
    app.add_flag("--show-detailed-stats", detailed,
                 "If set, stats are reported for each reporting interval as configured by "
                 "reporting-interval");
    app.add_option("--timeout", timeout, "The maximum allowed time in milliseconds between returned records.");
    app.add_option("--reporting-interval", reporting_interval, "Interval in milliseconds at which to print progress info.");
    app.add_option("--date-format", date_format, "The date format to use for formatting the time field (java.text.SimpleDateFormat).");
    app.add_flag("--hide-header", hide_header, "If set, skips printing the header for the stats");
    if (auto exit_code = tools::parse_command_line(app, argc, argv)) return *exit_code;
    if (topic_opt->count() == 0) return usage_error("Missing required argument \"[topic]\"");
    if (messages_opt->count() == 0) return usage_error("Missing required argument \"[messages]\"");
    if (bootstrap.empty()) return usage_error("Missing required argument \"[bootstrap-server]\"");
    if (reporting_interval <= 0) return usage_error("Reporting interval must be greater than 0.");

    properties props;
    if (!consumer_config.empty()) {
        auto f = tools::load_properties(consumer_config);
        if (!f) return usage_error(f.error().message);
        props = std::move(*f);
    }
    props["bootstrap.servers"] = bootstrap;
    props["max.partition.fetch.bytes"] = std::to_string(fetch_size);
    props["auto.offset.reset"] = from_latest ? "latest" : "earliest";
    props["check.crcs"] = "false";
    if (!props.count("client.id")) props["client.id"] = "perf-consumer-client";
    props.erase("key.deserializer");
    props.erase("value.deserializer");

    if (!hide_header) {
        const char* extra = ", rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
        if (!detailed) {
            std::printf("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec%s\n", extra);
        } else {
            std::printf("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec%s\n", extra);
        }
        std::fflush(stdout);
    }
    auto created = consumer::create(props);
    if (!created) return usage_error(created.error().message);
    consumer& c = **created;
    tools::install_stop_signals();

    const int64_t start_ms = current_time_ms();
    // "Rebalance": finding and assigning the partitions.
    int64_t join_ms = 0;
    {
        const int64_t join_start = current_time_ms();
        for (;;) {
            auto parts = c.partitions_for(topic, milliseconds(timeout));
            if (parts) {
                std::vector<topic_partition> tps;
                for (const auto& p : *parts) tps.push_back({topic, p.partition});
                c.assign(tps);
                break;
            }
            if (current_time_ms() - join_start > timeout || tools::stop_signal()) {
                tools::print_error_line(parts.error().message);
                return 1;
            }
            std::this_thread::sleep_for(milliseconds(200));  // a retry backoff
        }
        join_ms = current_time_ms() - join_start;
    }

    int64_t bytes_read = 0, messages_read = 0, last_bytes = 0, last_messages = 0;
    int64_t current = current_time_ms(), last_report = current, last_consumed = current;
    int64_t join_in_round = join_ms;
    while (messages_read < messages && current - last_consumed <= timeout && !tools::stop_signal()) {
        auto r = c.poll(milliseconds(100));
        current = current_time_ms();
        if (!r) {
            tools::print_error_line(r.error().message);
            return 1;
        }
        if (!r->empty()) last_consumed = current;
        for (const auto& rec : *r) {
            ++messages_read;
            if (rec.key) bytes_read += static_cast<int64_t>(rec.key->size());
            if (rec.value) bytes_read += static_cast<int64_t>(rec.value->size());
            if (current - last_report >= reporting_interval) {
                if (detailed) {
                    const double elapsed = static_cast<double>(current - last_report);
                    const double total_mb = static_cast<double>(bytes_read) / (1024 * 1024);
                    const double interval_mb = static_cast<double>(bytes_read - last_bytes) / (1024 * 1024);
                    const int64_t fetch_ms = current - last_report - join_in_round;
                    std::printf("%s, %d, %.4f, %.4f, %lld, %.4f", format_date(date_format, current).c_str(), 0,
                                total_mb, 1000.0 * interval_mb / elapsed,
                                static_cast<long long>(messages_read),
                                static_cast<double>(messages_read - last_messages) / elapsed * 1000.0);
                    std::printf(", %lld, %lld, %.4f, %.4f\n", static_cast<long long>(join_in_round),
                                static_cast<long long>(fetch_ms),
                                fetch_ms <= 0 ? 0.0 : 1000.0 * interval_mb / static_cast<double>(fetch_ms),
                                fetch_ms <= 0 ? 0.0
                                              : 1000.0 * static_cast<double>(messages_read - last_messages) /
                                                    static_cast<double>(fetch_ms));
                    std::fflush(stdout);
                }
                join_in_round = 0;
                last_report = current;
                last_messages = messages_read;
                last_bytes = bytes_read;
            }
        }
    }
    if (messages_read < messages) {
        std::printf("WARNING: Exiting before consuming the expected number of messages: timeout (%lld ms) "
                    "exceeded. You can use the --timeout option to increase the timeout.\n",
                    static_cast<long long>(timeout));
    }
    const int64_t end_ms = current_time_ms();
    c.close();
    const double elapsed_sec = static_cast<double>(end_ms - start_ms) / 1000.0;
    const int64_t fetch_time_ms = (end_ms - start_ms) - join_ms;
    if (!detailed) {
        const double total_mb = static_cast<double>(bytes_read) / (1024 * 1024);
        std::printf("%s, %s, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n",
                    format_date(date_format, start_ms).c_str(), format_date(date_format, end_ms).c_str(),
                    total_mb, total_mb / elapsed_sec, static_cast<long long>(messages_read),
                    static_cast<double>(messages_read) / elapsed_sec, static_cast<long long>(join_ms),
                    static_cast<long long>(fetch_time_ms),
                    total_mb / (static_cast<double>(fetch_time_ms) / 1000.0),
                    static_cast<double>(messages_read) / (static_cast<double>(fetch_time_ms) / 1000.0));
    }
    std::fflush(stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    gregor::logging::set_level("warn");
    return run(argc, argv);
}
