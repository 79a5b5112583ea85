// gregor-verifiable-producer: Kafka's VerifiableProducer for Gregor: produces the values
// "0", "1", ... (or "<prefix>.<n>") and prints one JSON line per event on stdout, so that a
// test harness can tell exactly which records were acknowledged:
//   {"timestamp":..,"name":"startup_complete"}
//   {"timestamp":..,"name":"producer_send_success","key":null,"value":"0","topic":"t",
//    "partition":0,"offset":0}
//   {"timestamp":..,"name":"producer_send_error","key":null,"value":"1","topic":"t",
//    "exception":"class org.apache.kafka.common.errors.TimeoutException","message":".."}
//   {"timestamp":..,"name":"shutdown_complete"}
//   {"timestamp":..,"name":"tool_data","sent":N,"acked":M,"target_throughput":R,
//    "avg_throughput":X}
// Flags as Kafka's: --bootstrap-server, --topic, --max-messages (-1: until stopped),
// --throughput (-1: unthrottled), --acks (-1, 0, 1), --producer.config, --message-create-time,
// --value-prefix, --repeating-keys. retries=0 unless the config file says otherwise.
// SIGINT/SIGTERM stop sending; the shutdown lines follow once everything sent is settled.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "admin-cli/json_events.h"
#include "admin-cli/tool_support.h"
#include "client/producer.h"
#include "common/logger.h"

namespace {

using namespace gregor;
using namespace gregor::client;
using tools::current_time_ms;
using tools::make_event;
using tools::print_event;

// Kafka's argparse4j prefixes its errors with the program name.
const std::string kErrorPrefix = "verifiable-producer: error: ";

int run(int argc, char** argv) {
    std::string bootstrap, topic, config_file;
    int64_t max_messages = -1, throughput = -1, create_time = -1;
    int acks = -1;
    std::optional<int64_t> value_prefix;
    std::optional<int32_t> repeating_keys;
    CLI::App app{"This tool produces increasing integers to the specified topic and prints JSON "
                 "metadata to stdout on each \"send\" request, making externally visible which "
                 "messages have been acked and which have not.",
                 "verifiable-producer"};
    app.add_option("--topic", topic, "Produce messages to this topic.")->required();
    app.add_option("--bootstrap-server", bootstrap,
                   "REQUIRED: The server(s) to connect to. Comma-separated list of brokers in the "
                   "form HOST1:PORT1,HOST2:PORT2,...");
    app.add_option("--max-messages", max_messages,
                   "Produce this many messages. If -1, produce messages until the process is "
                   "killed externally.");
    app.add_option("--throughput", throughput,
                   "If set >= 0, throttle maximum message throughput to *approximately* "
                   "THROUGHPUT messages/sec.");
    app.add_option("--acks", acks, "Acks required on each produced message.")
        ->check(CLI::IsMember({-1, 0, 1}));
    app.add_option("--producer.config", config_file, "Producer config properties file.");
    app.add_option("--message-create-time", create_time,
                   "Send messages with creation time starting at the arguments value, in "
                   "milliseconds since epoch");
    app.add_option("--value-prefix", value_prefix,
                   "If specified, each produced value will have this prefix with a dot separator");
    app.add_option("--repeating-keys", repeating_keys,
                   "If specified, each produced record will have a key starting at 0 increment "
                   "by 1 up to the number specified (exclusive), then the key is set to 0 again");
    if (argc <= 1) return tools::print_help(app);
    if (auto exit_code = tools::parse_command_line(app, argc, argv, kErrorPrefix)) {
        return *exit_code;
    }
    // As Kafka's, which prints its help and exits 0 without a server.
    if (bootstrap.empty()) return tools::print_help(app);

    properties props;
    props["bootstrap.servers"] = bootstrap;
    props["acks"] = std::to_string(acks);
    props["retries"] = "0";  // no producer retries, as Kafka's
    if (!config_file.empty()) {
        auto f = tools::load_properties(config_file);
        if (!f) {
            tools::print_error_line(kErrorPrefix + f.error().message);
            return 1;
        }
        tools::merge(props, *f);
    }
    props.erase("key.serializer");
    props.erase("value.serializer");
    auto created = producer::create(props);
    if (!created) {
        tools::print_error_line(kErrorPrefix + created.error().message);
        return 1;
    }
    producer& p = **created;
    tools::install_stop_signals();

    std::atomic<int64_t> acked{0};
    int64_t sent = 0;
    int32_t key_counter = 0;
    const int64_t start_wall = current_time_ms();
    const auto start = std::chrono::steady_clock::now();
    tools::throughput_throttler throttler(static_cast<double>(throughput), start);

    print_event(make_event("startup_complete"));
    const int64_t limit = max_messages < 0 ? INT64_MAX : max_messages;
    for (int64_t i = 0; i < limit && !tools::stop_signal(); ++i) {
        producer_record rec;
        rec.topic = topic;
        if (repeating_keys) {
            rec.key = std::to_string(key_counter++);
            if (key_counter == *repeating_keys) key_counter = 0;
        }
        rec.value = value_prefix ? std::to_string(*value_prefix) + "." + std::to_string(i)
                                 : std::to_string(i);
        if (create_time >= 0) {
            rec.timestamp = create_time;
            create_time += current_time_ms() - start_wall;  // as Kafka's (it drifts: kept for parity)
        }
        const auto key = rec.key;
        const auto value = *rec.value;
        ++sent;
        p.send(std::move(rec), [&acked, key, value, topic](const delivery_report& r) {
            if (r.error.ok()) {
                ++acked;
                tools::json_event j = make_event("producer_send_success");
                j["key"] = tools::nullable(key);
                j["value"] = value;
                j["topic"] = r.topic;
                j["partition"] = r.partition;
                j["offset"] = r.offset;
                print_event(j);
            } else {
                tools::json_event j = make_event("producer_send_error");
                j["key"] = tools::nullable(key);
                j["value"] = value;
                j["topic"] = topic;
                j["exception"] = tools::kafka_exception_class(r.error.code);
                j["message"] = r.error.message;
                print_event(j);
            }
        });
        if (throttler.should_throttle(i, std::chrono::steady_clock::now())) throttler.throttle();
    }
    p.close();
    print_event(make_event("shutdown_complete"));
    const int64_t stop_wall = current_time_ms();
    tools::json_event data = make_event("tool_data");
    data["sent"] = sent;
    data["acked"] = acked.load();
    data["target_throughput"] = throughput;
    data["avg_throughput"] =
        1000.0 * static_cast<double>(acked.load()) / static_cast<double>(std::max<int64_t>(1, stop_wall - start_wall));
    print_event(data);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    gregor::logging::set_level("warn");
    return run(argc, argv);
}
