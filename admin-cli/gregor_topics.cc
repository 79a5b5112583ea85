// gregor-topics: creates, lists, describes, alters and deletes topics, with the flags and the
// output of Kafka's kafka-topics.sh (TopicCommand), so that what operators type and read
// carries over:
//   --create --topic T [--partitions N] [--replication-factor R] [--config k=v]...
//            [--replica-assignment 1:2,2:3] [--if-not-exists]     -> "Created topic T."
//   --list [--topic REGEX] [--exclude-internal]                    -> one name per line
//   --describe [--topic REGEX] [--if-exists] [--exclude-internal] and at most one of
//              --under-replicated-partitions, --unavailable-partitions,
//              --under-min-isr-partitions, --at-min-isr-partitions, --topics-with-overrides
//       "Topic: T\tTopicId: ID\tPartitionCount: N\tReplicationFactor: R\tConfigs: k=v,..."
//       (no TopicId when the broker does not know it, as Kafka for a topic without one) then
//       "\tTopic: T\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2". "Leader: none" when
//       the partition has no leader or its leader is not a live broker (Kafka's admin client
//       finds no Node for it). A partition filter prints only the matching partitions and no
//       topic lines.
//   --delete --topic REGEX [--if-exists]
//   --alter --topic T --partitions N
// --topic is a regular expression except with --create, as in Kafka. Errors go to stderr as
// one line, "Error while executing topic command : <message>", with exit status 1.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "admin-cli/tool_support.h"
#include "client/admin.h"
#include "common/logger.h"

namespace {

using namespace gregor;
using namespace gregor::client;

struct options {
    std::string bootstrap_server;
    std::string command_config;
    bool list = false, create = false, del = false, alter = false, describe = false;
    std::string topic;
    bool has_topic = false;
    int64_t partitions = 0;
    bool has_partitions = false;
    int64_t replication_factor = 0;
    bool has_replication_factor = false;
    std::vector<std::string> configs;
    std::string replica_assignment;
    bool if_exists = false, if_not_exists = false;
    bool under_replicated = false, unavailable = false, under_min_isr = false, at_min_isr = false;
    bool with_overrides = false;
    bool exclude_internal = false;
};

// Thrown inside the tool to end it with one error line (exceptions are for the tool's flow
// only; the client library returns values).
struct command_error {
    std::string message;
};

[[noreturn]] void fail(std::string message) { throw command_error{std::move(message)}; }

std::string error_text(const status& s) {
    return s.message.empty() ? errc_message(s.code) : s.message;
}

// Kafka's IncludeList: commas mean "or", surrounding quotes are dropped, and the whole name
// must match.
class include_list {
public:
    explicit include_list(std::string raw) {
        while (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) raw.erase(0, 1);
        while (!raw.empty() && (raw.back() == '"' || raw.back() == '\'')) raw.pop_back();
        std::replace(raw.begin(), raw.end(), ',', '|');
        try {
            re_ = std::regex(raw, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            fail("Invalid topic regular expression '" + raw + "': " + e.what());
        }
    }
    bool matches(const std::string& topic) const { return std::regex_match(topic, re_); }

private:
    std::regex re_;
};

std::string join_ids(const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
    return s;
}

std::map<int32_t, std::vector<int32_t>> parse_replica_assignment(const std::string& text) {
    std::map<int32_t, std::vector<int32_t>> out;
    size_t start = 0;
    int32_t partition = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        const std::string part = text.substr(start, comma - start);
        std::vector<int32_t> brokers;
        size_t s = 0;
        while (s <= part.size()) {
            size_t colon = part.find(':', s);
            if (colon == std::string::npos) colon = part.size();
            try {
                brokers.push_back(std::stoi(part.substr(s, colon - s)));
            } catch (const std::exception&) {
                fail("Invalid --replica-assignment: '" + text + "'");
            }
            s = colon + 1;
        }
        std::set<int32_t> unique(brokers.begin(), brokers.end());
        if (unique.size() != brokers.size()) {
            fail("Partition replica lists may not contain duplicate entries: " + join_ids(brokers));
        }
        if (!out.empty() && out.begin()->second.size() != brokers.size()) {
            fail("Partition " + std::to_string(partition) +
                 " has different replication factor: " + join_ids(brokers));
        }
        out[partition++] = std::move(brokers);
        start = comma + 1;
    }
    return out;
}

// Every topic name the cluster has, sorted, filtered by --topic and --exclude-internal.
std::vector<topic_listing> matching_topics(admin& a, const options& o) {
    auto all = a.list_topics(!o.exclude_internal);
    if (!all) fail(error_text(all.error()));
    if (!o.has_topic) return *all;
    include_list filter(o.topic);
    std::vector<topic_listing> out;
    for (const auto& t : *all) {
        if (filter.matches(t.name)) out.push_back(t);
    }
    return out;
}

// The names of the topics --topic selects for --describe, --delete and --alter, which fail
// when there is none unless --if-exists allows it.
std::vector<std::string> existing_topic_names(admin& a, const options& o) {
    const auto found = matching_topics(a, o);
    if (o.has_topic && !o.topic.empty() && found.empty() && !o.if_exists) {
        fail("Topic '" + o.topic + "' does not exist as expected");
    }
    std::vector<std::string> names;
    for (const auto& t : found) names.push_back(t.name);
    return names;
}

void create_topic(admin& a, const options& o) {
    new_topic nt;
    nt.name = o.topic;
    if (o.has_partitions) {
        if (o.partitions < 1) fail("The partitions must be greater than 0");
        nt.partitions = static_cast<int32_t>(o.partitions);
    }
    if (o.has_replication_factor) {
        if (o.replication_factor < 1 || o.replication_factor > 32767) {
            fail("The replication factor must be between 1 and 32767 inclusive");
        }
        nt.replication_factor = static_cast<int16_t>(o.replication_factor);
    }
    for (const auto& c : o.configs) {
        const size_t eq = c.find('=');
        if (eq == std::string::npos || eq == 0 || c.find('=', eq + 1) != std::string::npos) {
            fail("requirement failed: Invalid topic config: all configs to be added must be in "
                 "the format \"key=val\".");
        }
        nt.configs[c.substr(0, eq)] = c.substr(eq + 1);
    }
    if (!o.replica_assignment.empty()) {
        nt.assignments = parse_replica_assignment(o.replica_assignment);
        nt.partitions = -1;
        nt.replication_factor = -1;
    }
    if (o.topic.find_first_of("._") != std::string::npos) {
        std::cout << "WARNING: Due to limitations in metric names, topics with a period ('.') or "
                     "underscore ('_') could collide. To avoid issues it is best to use either, "
                     "but not both.\n";
    }
    auto r = a.create_topics({nt});
    if (!r) fail(error_text(r.error()));
    const auto& res = r->at(0);
    if (!res.error.ok()) {
        if (res.error.code == errc::topic_already_exists && o.if_not_exists) return;
        fail(error_text(res.error));
    }
    std::cout << "Created topic " << o.topic << ".\n";
}

void list_topics(admin& a, const options& o) {
    const auto topics = matching_topics(a, o);
    std::string out;
    for (size_t i = 0; i < topics.size(); ++i) out += (i ? "\n" : "") + topics[i].name;
    std::cout << out << "\n";  // Kafka prints an empty line when there is no topic
}

// A topic's min.insync.replicas as DescribeConfigs reported it; nullopt when absent or not a
// number, which no min-ISR filter then matches (Kafka reads the same entry).
std::optional<int> min_insync_replicas(const resource_configs& cfg) {
    for (const auto& e : cfg.entries) {
        if (e.name != "min.insync.replicas" || !e.value) continue;
        int v = 0;
        const char* end = e.value->data() + e.value->size();
        auto [ptr, ec] = std::from_chars(e.value->data(), end, v);
        if (ec == std::errc() && ptr == end) return v;
    }
    return std::nullopt;
}

bool reports_partitions(const options& o) {
    return o.under_replicated || o.unavailable || o.under_min_isr || o.at_min_isr;
}

// Kafka's DescribeOptions.shouldPrintTopicPartition: every partition without a filter, else
// those the chosen filter matches. `has_leader`: a leader that is a live broker.
bool should_print(const options& o, const partition_info& p, bool has_leader,
                  std::optional<int> min_isr) {
    if (!reports_partitions(o)) return true;
    const auto isr = static_cast<int>(p.isr.size());
    if (o.under_replicated) return p.isr.size() < p.replicas.size();
    if (o.unavailable) return !has_leader;
    if (o.under_min_isr) return !has_leader || (min_isr && isr < *min_isr);
    return min_isr && isr == *min_isr;
}

void describe_topics(admin& a, const options& o) {
    const auto names = existing_topic_names(a, o);
    if (names.empty()) return;
    auto descs = a.describe_topics(names);
    if (!descs) fail(error_text(descs.error()));
    std::vector<config_resource> resources;
    for (const auto& n : names) resources.push_back({resource_type::topic, n});
    auto configs = a.describe_configs(resources);
    if (!configs) fail(error_text(configs.error()));
    auto cluster = a.describe_cluster();
    if (!cluster) fail(error_text(cluster.error()));
    std::set<int32_t> live;
    for (const auto& b : cluster->brokers) live.insert(b.node_id);

    const bool describe_configs = !reports_partitions(o);
    const bool describe_partitions = !o.with_overrides;
    for (size_t i = 0; i < descs->size(); ++i) {
        const auto& d = (*descs)[i];
        if (d.error.code == errc::unknown_topic_or_partition) continue;  // deleted meanwhile
        if (!d.error.ok() && d.partitions.empty()) fail(error_text(d.error));
        const auto& cfg = (*configs)[i];
        if (!cfg.error.ok()) fail(error_text(cfg.error));
        if (d.partitions.empty()) continue;
        if (describe_configs) {
            std::string overrides;
            bool has_override = false;
            for (const auto& e : cfg.entries) {
                if (e.is_default) continue;
                has_override = true;
                overrides += (overrides.empty() ? "" : ",") + e.name + "=" + e.value.value_or("null");
            }
            if (!o.with_overrides || has_override) {
                std::cout << "Topic: " << d.name;
                if (!d.topic_id.empty()) std::cout << "\tTopicId: " << d.topic_id;
                std::cout << "\tPartitionCount: " << d.partitions.size()
                          << "\tReplicationFactor: " << d.partitions.front().replicas.size()
                          << "\tConfigs: " << overrides << "\n";
            }
        }
        if (!describe_partitions) continue;
        const auto min_isr = min_insync_replicas(cfg);
        for (const auto& p : d.partitions) {
            // A leader that is not a live broker is none: Kafka's admin client finds no Node
            // for it.
            const bool has_leader = p.leader >= 0 && live.contains(p.leader);
            if (!should_print(o, p, has_leader, min_isr)) continue;
            std::cout << "\tTopic: " << d.name << "\tPartition: " << p.partition
                      << "\tLeader: " << (has_leader ? std::to_string(p.leader) : "none")
                      << "\tReplicas: " << join_ids(p.replicas) << "\tIsr: " << join_ids(p.isr)
                      << "\n";
        }
    }
}

void delete_topics(admin& a, const options& o) {
    const auto names = existing_topic_names(a, o);
    if (names.empty()) return;
    auto r = a.delete_topics(names);
    if (!r) fail(error_text(r.error()));
    for (const auto& res : *r) {
        if (!res.error.ok() && !(o.if_exists && res.error.code == errc::unknown_topic_or_partition)) {
            fail(error_text(res.error));
        }
    }
}

void alter_topic(admin& a, const options& o) {
    const auto names = existing_topic_names(a, o);
    if (names.empty()) return;
    std::map<std::string, int32_t> counts;
    for (const auto& n : names) counts[n] = static_cast<int32_t>(o.partitions);
    auto r = a.create_partitions(counts);
    if (!r) fail(error_text(r.error()));
    for (const auto& res : *r) {
        if (!res.error.ok()) fail(error_text(res.error));
    }
}

// The argument checks of Kafka's TopicCommandOptions.checkArgs, with its messages.
void check_args(const options& o, const CLI::App& app) {
    const int actions = o.list + o.create + o.del + o.alter + o.describe;
    if (actions != 1) {
        fail("Command must include exactly one action: --list, --describe, --create, --alter or "
             "--delete");
    }
    if (o.bootstrap_server.empty()) fail("--bootstrap-server must be specified");
    if (!o.list && !o.describe && !o.has_topic) fail("Missing required argument \"[topic]\"");
    if (o.alter && !o.has_partitions) fail("Missing required argument \"[partitions]\"");
    auto action_name = [&] {
        return o.list ? "list" : o.describe ? "describe" : o.del ? "delete" : o.alter ? "alter" : "create";
    };
    auto only_with = [&](bool used, const char* opt, bool allowed) {
        if (used && !allowed) {
            fail(std::string("Option \"[") + opt + "]\" can't be used with option \"[" +
                 action_name() + "]\"");
        }
    };
    only_with(!o.configs.empty(), "config", o.create);
    only_with(o.has_partitions, "partitions", o.create || o.alter);
    only_with(o.has_replication_factor, "replication-factor", o.create);
    only_with(!o.replica_assignment.empty(), "replica-assignment", o.create);
    only_with(o.if_not_exists, "if-not-exists", o.create);
    only_with(o.if_exists, "if-exists", o.alter || o.del || o.describe);
    only_with(o.under_replicated, "under-replicated-partitions", o.describe);
    only_with(o.unavailable, "unavailable-partitions", o.describe);
    only_with(o.under_min_isr, "under-min-isr-partitions", o.describe);
    only_with(o.at_min_isr, "at-min-isr-partitions", o.describe);
    only_with(o.with_overrides, "topics-with-overrides", o.describe);
    only_with(o.exclude_internal, "exclude-internal", o.list || o.describe);
    // Kafka allows one partition filter at a time, and none with --topics-with-overrides
    // (which prints no partitions); it names the first it checks, in this order.
    const std::pair<bool, const char*> reports[] = {
        {o.under_replicated, "under-replicated-partitions"},
        {o.under_min_isr, "under-min-isr-partitions"},
        {o.at_min_isr, "at-min-isr-partitions"},
        {o.unavailable, "unavailable-partitions"},
        {o.with_overrides, "topics-with-overrides"},
    };
    for (const auto& [used, name] : reports) {
        if (!used) continue;
        for (const auto& [other_used, other] : reports) {
            if (other_used && other != name) {
                fail(std::string("Option \"[") + name + "]\" can't be used with option \"[" + other +
                     "]\"");
            }
        }
    }
    if (o.create && !o.replica_assignment.empty() && (o.has_partitions || o.has_replication_factor)) {
        fail("Option \"[replica-assignment]\" can't be used with option \"[partitions]\" or "
             "\"[replication-factor]\"");
    }
    (void)app;
}

int run(int argc, char** argv) {
    options o;
    CLI::App app{"This tool helps to create, delete, describe, or change a topic.", "gregor-topics"};
    app.add_option("--bootstrap-server", o.bootstrap_server,
                   "REQUIRED: The Gregor (or Kafka) server to connect to, host:port[,host:port].");
    app.add_option("--command-config", o.command_config,
                   "Property file containing configs to be passed to the admin client.");
    app.add_flag("--list", o.list, "List all available topics.");
    app.add_flag("--create", o.create, "Create a new topic.");
    app.add_flag("--delete", o.del, "Delete a topic.");
    app.add_flag("--alter", o.alter, "Alter the number of partitions of a topic.");
    app.add_flag("--describe", o.describe, "List details for the given topics.");
    auto* topic = app.add_option("--topic", o.topic,
                                 "The topic to create, alter, describe or delete. It also accepts "
                                 "a regular expression, except for --create option.");
    auto* partitions = app.add_option("--partitions", o.partitions,
                                      "The number of partitions for the topic being created or "
                                      "altered. If not supplied with --create, the topic uses "
                                      "the cluster default.");
    auto* rf = app.add_option("--replication-factor", o.replication_factor,
                              "The replication factor for each partition in the topic being "
                              "created. If not supplied, the topic uses the cluster default.");
    tools::add_repeated_option(app, "--config", o.configs,
                               "A topic configuration override for the topic being created, "
                               "name=value (repeatable).");
    app.add_option("--replica-assignment", o.replica_assignment,
                   "A list of manual partition-to-broker assignments for the topic being "
                   "created: b1:b2,b3:b4 (replicas of partition 0, then of partition 1, ...).");
    app.add_flag("--if-exists", o.if_exists,
                 "If set when altering or deleting or describing topics, the action will only "
                 "execute if the topic exists.");
    app.add_flag("--if-not-exists", o.if_not_exists,
                 "If set when creating topics, the action will only execute if the topic does "
                 "not already exist.");
    app.add_flag("--under-replicated-partitions", o.under_replicated,
                 "If set when describing topics, only show under-replicated partitions.");
    app.add_flag("--unavailable-partitions", o.unavailable,
                 "If set when describing topics, only show partitions whose leader is not "
                 "available.");
    app.add_flag("--under-min-isr-partitions", o.under_min_isr,
                 "If set when describing topics, only show partitions whose isr count is less "
                 "than the configured minimum.");
    app.add_flag("--at-min-isr-partitions", o.at_min_isr,
                 "If set when describing topics, only show partitions whose isr count is equal "
                 "to the configured minimum.");
    app.add_flag("--topics-with-overrides", o.with_overrides,
                 "If set when describing topics, only show topics that have overridden configs.");
    app.add_flag("--exclude-internal", o.exclude_internal,
                 "Exclude internal topics when listing or describing topics.");
    if (argc <= 1) {
        std::cerr << "Create, delete, describe, or change a topic.\n" << app.help();
        return 1;
    }
    if (auto exit_code = tools::parse_command_line(app, argc, argv)) return *exit_code;
    o.has_topic = topic->count() > 0;
    o.has_partitions = partitions->count() > 0;
    o.has_replication_factor = rf->count() > 0;
    try {
        check_args(o, app);
        properties props;
        if (!o.command_config.empty()) {
            auto file = tools::load_properties(o.command_config);
            if (!file) fail(error_text(file.error()));
            props = std::move(*file);
        }
        props["bootstrap.servers"] = o.bootstrap_server;
        auto a = admin::create(props);
        if (!a) fail(error_text(a.error()));
        if (o.create) create_topic(**a, o);
        else if (o.list) list_topics(**a, o);
        else if (o.describe) describe_topics(**a, o);
        else if (o.del) delete_topics(**a, o);
        else alter_topic(**a, o);
    } catch (const command_error& e) {
        std::cout.flush();
        tools::print_error_line("Error while executing topic command : " + e.message);
        return 1;
    }
    std::cout.flush();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    gregor::logging::set_level("warn");
    return run(argc, argv);
}
