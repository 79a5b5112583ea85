// gregor-console-consumer: prints a topic's records on standard output, as Kafka's
// kafka-console-consumer.sh with its DefaultMessageFormatter:
//   --from-beginning                         start at the earliest offset (else the latest)
//   --partition P [--offset N|earliest|latest]  one partition from a given place (default latest)
//   --max-messages N, --timeout-ms T         stop after N records / T ms without one
//   --property print.timestamp|print.partition|print.offset|print.headers|print.key|print.value
//              key.separator, line.separator, headers.separator, null.literal
// Fields come in Kafka's order: CreateTime:<ts>, Partition:<p>, Offset:<o>, headers (k:v,...
// or NO_HEADERS), key, value, separated by key.separator (a tab by default).
// "Processed a total of N messages" goes to stderr at the end, as in Kafka. Without
// --partition every partition of the topic is read (consumer groups come later; --group is
// accepted and ignored). Exit status 0, also when --timeout-ms ends it (Kafka logs the
// TimeoutException and exits normally); 1 on an error; 128+signal when interrupted.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "admin-cli/tool_support.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/errors.h"
#include "common/logger.h"

namespace {

using namespace gregor;
using namespace gregor::client;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Kafka's DefaultMessageFormatter.
struct formatter {
    bool print_timestamp = false, print_key = false, print_value = true, print_partition = false,
         print_offset = false, print_headers = false;
    std::string key_separator = "\t", line_separator = "\n", headers_separator = ",",
                null_literal = "null";

    void configure(const properties& p) {
        auto get = [&](const char* k, auto&& apply) {
            if (auto it = p.find(k); it != p.end()) apply(it->second);
        };
        const auto flag = tools::property_is_true;
        get("print.timestamp", [&](const std::string& v) { print_timestamp = flag(v); });
        get("print.key", [&](const std::string& v) { print_key = flag(v); });
        get("print.offset", [&](const std::string& v) { print_offset = flag(v); });
        get("print.partition", [&](const std::string& v) { print_partition = flag(v); });
        get("print.headers", [&](const std::string& v) { print_headers = flag(v); });
        get("print.value", [&](const std::string& v) { print_value = flag(v); });
        get("key.separator", [&](const std::string& v) { key_separator = v; });
        get("line.separator", [&](const std::string& v) { line_separator = v; });
        get("headers.separator", [&](const std::string& v) { headers_separator = v; });
        get("null.literal", [&](const std::string& v) { null_literal = v; });
    }

    void write(const consumer_record& r, std::string& out) const {
        auto sep = [&](bool more) { out += more ? key_separator : line_separator; };
        if (print_timestamp) {
            out += r.ts_type == timestamp_type::log_append_time ? "LogAppendTime:" : "CreateTime:";
            out += std::to_string(r.timestamp);
            sep(print_partition || print_offset || print_headers || print_key || print_value);
        }
        if (print_partition) {
            out += "Partition:" + std::to_string(r.partition);
            sep(print_offset || print_headers || print_key || print_value);
        }
        if (print_offset) {
            out += "Offset:" + std::to_string(r.offset);
            sep(print_headers || print_key || print_value);
        }
        if (print_headers) {
            if (r.headers.empty()) out += "NO_HEADERS";
            for (size_t i = 0; i < r.headers.size(); ++i) {
                out += r.headers[i].key + ":" + r.headers[i].value.value_or(null_literal);
                if (i + 1 < r.headers.size()) out += headers_separator;
            }
            sep(print_key || print_value);
        }
        if (print_key) {
            out += r.key.value_or(null_literal);
            sep(print_value);
        }
        if (print_value) {
            out += r.value.value_or(null_literal);
            out += line_separator;
        }
    }
};

struct options {
    std::string bootstrap_server, topic, include, offset = "latest", consumer_config_file, group,
        formatter_class, isolation_level;
    int64_t partition = -1;
    int64_t max_messages = -1;
    int64_t timeout_ms = -1;
    bool from_beginning = false, skip_on_error = false;
    std::vector<std::string> properties, consumer_properties;
};

int64_t processed = 0;

int finish(int code) {
    std::fflush(stdout);
    std::fprintf(stderr, "Processed a total of %lld messages\n", static_cast<long long>(processed));
    return code;
}

int usage_error(const std::string& message) {
    tools::print_error_line(message);
    return 1;
}

int run(int argc, char** argv) {
    options o;
    CLI::App app{"This tool helps to read data from Gregor topics and outputs it to standard "
                 "output.",
                 "gregor-console-consumer"};
    app.add_option("--bootstrap-server", o.bootstrap_server, "REQUIRED: The server(s) to connect to.");
    auto* topic = app.add_option("--topic", o.topic, "The topic to consume on.");
    auto* include = app.add_option("--include", o.include,
                                   "Regular expression specifying list of topics to include for "
                                   "consumption.");
    auto* partition = app.add_option("--partition", o.partition,
                                     "The partition to consume from. Consumption starts from the "
                                     "end of the partition unless '--offset' is specified.");
    auto* offset = app.add_option("--offset", o.offset,
                                  "The offset to consume from (a non-negative number), or "
                                  "'earliest' which means from beginning, or 'latest' which "
                                  "means from end (default latest).");
    tools::add_repeated_option(app, "--consumer-property", o.consumer_properties,
                               "A mechanism to pass user-defined properties in the form key=value "
                               "to the consumer.");
    app.add_option("--consumer.config", o.consumer_config_file,
                   "Consumer config properties file (--consumer-property wins).");
    tools::add_repeated_option(app, "--property", o.properties,
                               "The properties to initialize the message formatter: "
                               "print.timestamp, print.key, print.offset, print.partition, "
                               "print.headers, print.value (true|false), key.separator, "
                               "line.separator, headers.separator, null.literal.");
    app.add_option("--formatter", o.formatter_class,
                   "The formatter class (only Kafka's DefaultMessageFormatter is available).");
    app.add_flag("--from-beginning", o.from_beginning,
                 "Start with the earliest message present in the log rather than the latest.");
    app.add_option("--max-messages", o.max_messages,
                   "The maximum number of messages to consume before exiting. If not set, "
                   "consumption is continual.");
    app.add_option("--timeout-ms", o.timeout_ms,
                   "If specified, exit if no message is available for consumption for the "
                   "specified interval.");
    app.add_flag("--skip-message-on-error", o.skip_on_error,
                 "If there is an error when processing a message, skip it instead of halt.");
    app.add_option("--group", o.group,
                   "The consumer group id (accepted; Gregor has no consumer groups yet).");
    app.add_option("--isolation-level", o.isolation_level, "read_committed or read_uncommitted.");
    if (auto exit_code = tools::parse_command_line(app, argc, argv)) return *exit_code;
    // Kafka's ConsoleConsumerOptions.checkRequiredArgs, with its messages.
    if ((topic->count() > 0) == (include->count() > 0)) {
        return usage_error("Exactly one of --include/--topic is required. ");
    }
    if (partition->count() > 0) {
        if (topic->count() == 0) return usage_error("The topic is required when partition is specified.");
        if (o.from_beginning && offset->count() > 0) {
            return usage_error("Options from-beginning and offset cannot be specified together.");
        }
        if (!o.group.empty()) return usage_error("Options group and partition cannot be specified together.");
    } else if (offset->count() > 0) {
        return usage_error("The partition is required when offset is specified.");
    }
    if (o.bootstrap_server.empty()) return usage_error("Missing required argument \"[bootstrap-server]\"");
    if (!o.formatter_class.empty() && o.formatter_class != "kafka.tools.DefaultMessageFormatter" &&
        o.formatter_class != "org.apache.kafka.tools.consumer.DefaultMessageFormatter") {
        return usage_error("Only the default message formatter is available, not " + o.formatter_class);
    }
    std::optional<int64_t> start_offset;  // -2 earliest, -1 latest
    if (offset->count() > 0) {
        std::string v = o.offset;
        std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
        if (v == "earliest") start_offset = -2;
        else if (v == "latest") start_offset = -1;
        else {
            int64_t n = -1;
            try {
                size_t used = 0;
                n = std::stoll(o.offset, &used);
                if (used != o.offset.size()) n = -1;
            } catch (const std::exception&) {
                n = -1;
            }
            if (n < 0) {
                return usage_error("The provided offset value '" + o.offset +
                                   "' is incorrect. Valid values are 'earliest', 'latest', or a "
                                   "non-negative long.");
            }
            start_offset = n;
        }
    } else if (partition->count() > 0) {
        start_offset = o.from_beginning ? -2 : -1;
    }

    auto settings =
        tools::load_properties_with_overrides(o.consumer_config_file, o.consumer_properties);
    if (!settings) return usage_error(settings.error().message);
    properties& props = *settings;
    if (auto it = props.find("auto.offset.reset"); it != props.end()) {
        if (o.from_beginning && it->second != "earliest") {
            return usage_error("Can't simultaneously specify --from-beginning and "
                               "'auto.offset.reset=" + it->second + "', please remove one option");
        }
    } else {
        props["auto.offset.reset"] = o.from_beginning ? "earliest" : "latest";
    }
    props["bootstrap.servers"] = o.bootstrap_server;
    if (!props.count("client.id")) props["client.id"] = "console-consumer";
    if (!o.isolation_level.empty()) props["isolation.level"] = o.isolation_level;

    properties fmt_props;
    auto fp = tools::parse_key_values(o.properties);
    if (!fp) return usage_error(fp.error().message);
    fmt_props = *fp;
    formatter fmt;
    fmt.configure(fmt_props);

    auto created = consumer::create(props);
    if (!created) return usage_error(created.error().message);
    consumer& c = **created;
    tools::install_stop_signals();
    if (!o.group.empty()) {
        tools::print_error_line("WARN --group " + o.group +
                                " is ignored: Gregor has no consumer groups yet; every partition "
                                "of the topic is read");
    }

    const auto timeout = o.timeout_ms >= 0 ? milliseconds(o.timeout_ms) : milliseconds::max();
    auto expired = [&](clock_type::time_point since) {
        return timeout != milliseconds::max() && clock_type::now() - since > timeout;
    };
    auto timed_out = [&] {
        tools::print_error_line(
            "ERROR Error processing message, terminating consumer process:  "
            "(org.apache.kafka.tools.consumer.ConsoleConsumer)\n"
            "org.apache.kafka.common.errors.TimeoutException");
        return finish(0);
    };
    auto interrupted = [&] { return finish(128 + tools::stop_signal()); };

    // What to read: one partition, or every partition of the topic(s).
    const auto started = clock_type::now();
    std::vector<topic_partition> assignment;
    if (partition->count() > 0) {
        assignment.push_back({o.topic, static_cast<int32_t>(o.partition)});
    } else {
        std::vector<std::string> topics;
        while (topics.empty()) {
            if (tools::stop_signal()) return interrupted();
            if (!o.include.empty()) {
                auto a = admin::create({{"bootstrap.servers", o.bootstrap_server}});
                if (!a) return usage_error(a.error().message);
                auto all = (*a)->list_topics(false, milliseconds(5000));
                if (all) {
                    std::regex re;
                    try {
                        re = std::regex(o.include);
                    } catch (const std::regex_error& e) {
                        return usage_error("Invalid --include regular expression: " +
                                           std::string(e.what()));
                    }
                    for (const auto& t : *all) {
                        if (std::regex_match(t.name, re)) topics.push_back(t.name);
                    }
                }
            } else {
                topics.push_back(o.topic);
            }
            for (const auto& t : topics) {
                // Kafka's consumer waits for a topic that does not exist yet; so do we.
                for (;;) {
                    auto parts = c.partitions_for(t, milliseconds(1000));
                    if (parts) {
                        for (const auto& p : *parts) assignment.push_back({t, p.partition});
                        break;
                    }
                    if (!is_retriable(parts.code())) {
                        tools::print_error_line("ERROR " + parts.error().message);
                        return finish(1);
                    }
                    if (tools::stop_signal()) return interrupted();
                    if (expired(started)) return timed_out();
                    std::this_thread::sleep_for(milliseconds(200));  // a retry backoff
                }
            }
            if (topics.empty()) {
                if (expired(started)) return timed_out();
                std::this_thread::sleep_for(milliseconds(500));  // a retry backoff
            }
        }
    }
    c.assign(assignment);
    if (start_offset) {
        const topic_partition tp = assignment.front();
        status s = *start_offset == -2   ? c.seek_to_beginning({tp})
                   : *start_offset == -1 ? c.seek_to_end({tp})
                                         : c.seek(tp, *start_offset);
        if (!s.ok()) {
            tools::print_error_line("ERROR " + s.message);
            return finish(1);
        }
    }

    std::string out;
    auto last_record = clock_type::now();
    while (o.max_messages < 0 || processed < o.max_messages) {
        if (tools::stop_signal()) return interrupted();
        // Short polls so that a signal is noticed quickly.
        auto r = c.poll(std::min(timeout, milliseconds(200)));
        if (!r) {
            tools::print_error_line(
                "ERROR Error processing message, terminating consumer process: " + r.error().message);
            return finish(1);
        }
        if (r->empty()) {
            if (expired(last_record)) return timed_out();
            continue;
        }
        last_record = clock_type::now();
        out.clear();
        for (const auto& rec : *r) {
            if (o.max_messages >= 0 && processed >= o.max_messages) {
                // Kafka leaves the rest unconsumed; nothing is committed here either way.
                break;
            }
            fmt.write(rec, out);
            ++processed;
        }
        if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
            tools::print_error_line("Unable to write to standard out, closing consumer.");
            return finish(1);
        }
    }
    return finish(0);
}

}  // namespace

int main(int argc, char** argv) {
    gregor::logging::set_level("warn");
    return run(argc, argv);
}
