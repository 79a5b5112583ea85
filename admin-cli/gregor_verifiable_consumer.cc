// gregor-verifiable-consumer: Kafka's VerifiableConsumer for Gregor: reads every partition of a
// topic and prints one JSON line per event on stdout, so that a test harness can tell exactly
// which records a consumer saw, where, and in what order:
//   {"timestamp":..,"name":"startup_complete"}
//   {"timestamp":..,"name":"partitions_assigned","partitions":[{"topic":"t","partition":0},..]}
//   {"timestamp":..,"name":"records_consumed","count":N,"partitions":[{"topic":"t",
//    "partition":0,"count":n,"minOffset":a,"maxOffset":b},..]}
//   {"timestamp":..,"name":"record_data","key":null,"value":"..","topic":"t","partition":0,
//    "offset":5}                                                      (--verbose: per record)
//   {"timestamp":..,"name":"shutdown_complete"}
// Kafka's tool is a consumer group member; Gregor has no consumer groups yet (issue 7), so this
// one assigns itself all partitions of the topic and starts each where --reset-policy says
// (earliest by default, Kafka's default too). The group flags Kafka's system tests pass
// (--group-id, --session-timeout, --enable-autocommit, ...) are accepted and ignored, with a
// warning on stderr. --max-messages (-1: until stopped) ends it after that many records;
// SIGINT/SIGTERM end it at the next poll. Exit status 0, also when stopped by a signal; 1 on a
// bad command line or an error while consuming (which goes to stderr, before
// shutdown_complete).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "admin-cli/json_events.h"
#include "admin-cli/tool_support.h"
#include "client/consumer.h"
#include "client/errors.h"
#include "common/logger.h"

namespace {

using namespace gregor;
using namespace gregor::client;
using std::chrono::milliseconds;
using tools::json_event;
using tools::make_event;
using tools::print_event;

// Kafka's argparse4j prefixes its errors with the program name.
const std::string kErrorPrefix = "verifiable-consumer: error: ";

// Short polls so that a stop signal is noticed quickly.
constexpr milliseconds kPollTimeout{200};

struct options {
    std::string bootstrap_server, topic, reset_policy = "earliest", consumer_config_file;
    int64_t max_messages = -1;
    bool verbose = false;
    // Consumer group settings, accepted for Kafka's command lines and ignored.
    std::string group_id, group_instance_id, group_protocol, group_remote_assignor, assignment_strategy;
    int64_t session_timeout_ms = -1;
    bool enable_autocommit = false;
};

json_event partition_json(const topic_partition& tp) {
    json_event j;
    j["topic"] = tp.topic;
    j["partition"] = tp.partition;
    return j;
}

// The partitions of the topic, waiting for it to exist as Kafka's consumer does. Empty when a
// stop signal came first; an error that retrying cannot mend is returned.
result<std::vector<topic_partition>> partitions_of(consumer& c, const std::string& topic) {
    for (;;) {
        auto parts = c.partitions_for(topic, milliseconds(1000));
        if (parts) {
            std::vector<topic_partition> out;
            for (const auto& p : *parts) out.push_back({topic, p.partition});
            return out;
        }
        if (!is_retriable(parts.code())) return parts.error();
        if (tools::stop_signal()) return std::vector<topic_partition>{};
        std::this_thread::sleep_for(milliseconds(200));  // a retry backoff
    }
}

// Prints what one poll returned (up to the records still allowed by --max-messages) and
// returns how many records that was.
int64_t report(const std::vector<consumer_record>& records, int64_t allowed, bool verbose) {
    // Kafka's summary lists each partition once, in the order the poll returned them.
    struct summary {
        int64_t count = 0, min_offset = 0, max_offset = 0;
    };
    std::vector<topic_partition> order;
    std::map<topic_partition, summary> summaries;
    int64_t taken = 0;
    for (const auto& r : records) {
        if (allowed >= 0 && taken >= allowed) break;
        const topic_partition tp{r.topic, r.partition};
        auto [it, fresh] = summaries.try_emplace(tp);
        if (fresh) {
            order.push_back(tp);
            it->second.min_offset = r.offset;
        }
        ++it->second.count;
        it->second.max_offset = r.offset;
        ++taken;
    }
    if (verbose) {
        for (int64_t i = 0; i < taken; ++i) {
            const auto& r = records[static_cast<size_t>(i)];
            json_event e = make_event("record_data");
            e["key"] = tools::nullable(r.key);
            e["value"] = tools::nullable(r.value);
            e["topic"] = r.topic;
            e["partition"] = r.partition;
            e["offset"] = r.offset;
            print_event(e);
        }
    }
    json_event consumed = make_event("records_consumed");
    consumed["count"] = records.size();
    consumed["partitions"] = json_event::array();
    for (const auto& tp : order) {
        const summary& s = summaries[tp];
        json_event p = partition_json(tp);
        p["count"] = s.count;
        p["minOffset"] = s.min_offset;
        p["maxOffset"] = s.max_offset;
        consumed["partitions"].push_back(std::move(p));
    }
    print_event(consumed);
    return taken;
}

int run(int argc, char** argv) {
    options o;
    CLI::App app{"This tool consumes messages from a specific topic and emits consumer events "
                 "(e.g. received messages) as JSON objects to STDOUT.",
                 "verifiable-consumer"};
    app.add_option("--bootstrap-server", o.bootstrap_server,
                   "REQUIRED: The server(s) to connect to. Comma-separated list of brokers in the "
                   "form HOST1:PORT1,HOST2:PORT2,...");
    app.add_option("--topic", o.topic, "Consumes messages from this topic.")->required();
    app.add_option("--max-messages", o.max_messages,
                   "Consume this many messages. If -1 (the default), the consumer will consume "
                   "until the process is killed externally");
    app.add_flag("--verbose", o.verbose, "Enable to log individual consumed records");
    app.add_option("--reset-policy", o.reset_policy,
                   "Set reset policy (must be either 'earliest', 'latest', or 'none'")
        ->check(CLI::IsMember({"earliest", "latest", "none"}));
    app.add_option("--consumer.config", o.consumer_config_file,
                   "Consumer config properties file (config options shared with command line "
                   "parameters will be overridden).");
    auto* group_id = app.add_option("--group-id", o.group_id,
                                    "The groupId shared among members of the consumer group "
                                    "(accepted; Gregor has no consumer groups yet).");
    auto* group_instance_id = app.add_option("--group-instance-id", o.group_instance_id,
                                             "A unique identifier of the consumer instance (ignored).");
    auto* group_protocol = app.add_option("--group-protocol", o.group_protocol, "Group protocol (ignored).");
    auto* group_remote_assignor =
        app.add_option("--group-remote-assignor", o.group_remote_assignor, "Group remote assignor (ignored).");
    auto* session_timeout =
        app.add_option("--session-timeout", o.session_timeout_ms, "Set the consumer's session timeout (ignored).");
    auto* autocommit =
        app.add_flag("--enable-autocommit", o.enable_autocommit, "Enable offset auto-commit on consumer (ignored).");
    auto* assignment_strategy =
        app.add_option("--assignment-strategy", o.assignment_strategy, "Set assignment strategy (ignored).");
    if (argc <= 1) return tools::print_help(app);
    if (auto exit_code = tools::parse_command_line(app, argc, argv, kErrorPrefix)) return *exit_code;
    // As Kafka's, which prints its help and exits 0 without a server.
    if (o.bootstrap_server.empty()) return tools::print_help(app);

    auto loaded = tools::load_properties_with_overrides(o.consumer_config_file, {});
    if (!loaded) {
        tools::print_error_line(kErrorPrefix + loaded.error().message);
        return 1;
    }
    properties& props = *loaded;
    props["bootstrap.servers"] = o.bootstrap_server;
    props["auto.offset.reset"] = o.reset_policy;
    if (!props.count("client.id")) props["client.id"] = "verifiable-consumer";
    for (const char* k : {"key.deserializer", "value.deserializer", "group.id", "enable.auto.commit"}) {
        props.erase(k);
    }
    auto created = consumer::create(props);
    if (!created) {
        tools::print_error_line(kErrorPrefix + created.error().message);
        return 1;
    }
    consumer& c = **created;
    tools::install_stop_signals();

    std::string ignored;
    for (const auto* opt : {group_id, group_instance_id, group_protocol, group_remote_assignor, session_timeout,
                            autocommit, assignment_strategy}) {
        if (opt->count() > 0) ignored += (ignored.empty() ? "" : ", ") + opt->get_name();
    }
    if (!ignored.empty()) {
        tools::print_error_line("WARN " + ignored +
                                " ignored: Gregor has no consumer groups yet; every partition of the "
                                "topic is read");
    }

    print_event(make_event("startup_complete"));
    int exit_code = 0;
    auto assignment = partitions_of(c, o.topic);
    if (!assignment) {
        tools::print_error_line("ERROR Error during processing, terminating consumer process: " +
                                assignment.error().message);
        exit_code = 1;
    } else if (!assignment->empty()) {
        c.assign(*assignment);
        json_event assigned = make_event("partitions_assigned");
        assigned["partitions"] = json_event::array();
        for (const auto& tp : *assignment) assigned["partitions"].push_back(partition_json(tp));
        print_event(assigned);

        int64_t consumed = 0;
        while ((o.max_messages < 0 || consumed < o.max_messages) && !tools::stop_signal()) {
            auto records = c.poll(kPollTimeout);
            if (!records) {
                tools::print_error_line("ERROR Error during processing, terminating consumer process: " +
                                        records.error().message);
                exit_code = 1;
                break;
            }
            if (records->empty()) continue;
            consumed += report(*records, o.max_messages < 0 ? -1 : o.max_messages - consumed, o.verbose);
        }
    }
    c.close();
    print_event(make_event("shutdown_complete"));
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    gregor::logging::set_level("warn");
    return run(argc, argv);
}
