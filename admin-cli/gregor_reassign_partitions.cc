// gregor-reassign-partitions: moves partitions' replicas between brokers, with the flags, the
// JSON files and the output of Kafka's kafka-reassign-partitions.sh (ReassignPartitionsCommand):
//   --generate --topics-to-move-json-file F --broker-list 1,2,3 [--disable-rack-aware]
//       "Current partition replica assignment" and "Proposed partition reassignment
//       configuration", each followed by its reassignment JSON; the proposal places each topic's
//       partitions over the listed live brokers as topic creation does. Nothing is changed.
//   --execute --reassignment-json-file F [--additional]
//       prints the current assignment of the partitions named, as JSON to keep for a rollback,
//       then starts the moves: "Successfully started partition reassignment(s) for t-0,t-1".
//       Refused while other moves are under way unless --additional.
//   --verify --reassignment-json-file F
//       "Status of partition reassignment:", then per partition "Reassignment of partition t-0
//       is completed." / "Reassignment of partition t-0 is still in progress." / "There is no
//       active reassignment of partition t-0, but replica set is 1,2 rather than 2,3."
// The reassignment JSON is Kafka's: {"version":1,"partitions":[{"topic":"t","partition":0,
// "replicas":[2,3],"log_dirs":["any","any"]}]} (log_dirs optional); the topics JSON
// {"version":1,"topics":[{"topic":"t"}]}. Kafka's --cancel, --list, throttles and moves between
// log directories have no counterpart: ZK-mode moves (coordination/README.md) cannot be
// cancelled, and a log_dirs entry other than "any" is refused.
// Errors go to stderr, "Error: <message>" (or Kafka's own lines where it prints them bare),
// with exit status 1; so does a move the brokers refuse, one "t-0: <reason>" line per partition.
#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "admin-cli/tool_support.h"
#include "client/admin.h"
#include "common/logger.h"
#include "coordination/replica_assignment.h"

namespace {

using namespace gregor;
using namespace gregor::client;
using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;
using assignment = std::map<topic_partition, std::vector<int32_t>>;

constexpr const char* kAnyLogDir = "any";

struct options {
    tools::admin_connection connection;
    bool generate = false, execute = false, verify = false;
    std::string reassignment_json_file;
    std::string topics_to_move_json_file;
    std::string broker_list;
    bool disable_rack_aware = false;
    bool additional = false;
};

// Ends the tool with `message` on stderr (exceptions are for the tool's flow only; the client
// library returns values). `bare`: printed as it is, as Kafka prints its TerseException.
struct command_error {
    std::string message;
    bool bare = false;
};

[[noreturn]] void fail(std::string message) { throw command_error{std::move(message), false}; }
[[noreturn]] void fail_bare(std::string message) { throw command_error{std::move(message), true}; }

std::string join(const std::vector<int32_t>& ids, const std::string& separator = ",") {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? separator : "") + std::to_string(ids[i]);
    return s;
}

// Java's List.toString, which Kafka's messages print.
std::string java_list(const std::vector<int32_t>& ids) { return "[" + join(ids, ", ") + "]"; }

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("Cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

json parse_json(const std::string& text, const std::string& path) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        fail("The input string is not a valid JSON (" + path + "): " + e.what());
    }
}

// A file's "version": absent means 1, the only one there is.
void check_version(const json& file) {
    if (!file.is_object()) fail("The JSON file must hold an object");
    if (!file.contains("version")) return;
    const json& v = file["version"];
    if (!v.is_number_integer()) fail("Not supported version field value " + v.dump());
    if (v.get<int64_t>() != 1) fail("Not supported version field value " + std::to_string(v.get<int64_t>()));
}

const json& field(const json& entry, const char* name) {
    if (!entry.is_object() || !entry.contains(name)) fail(std::string("No such field exists: `") + name + "`");
    return entry[name];
}

int32_t int_field(const json& entry, const char* name) {
    const json& v = field(entry, name);
    if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX) {
        fail(std::string("Field `") + name + "` must be an int, not " + v.dump());
    }
    return static_cast<int32_t>(v.get<int64_t>());
}

// The "partitions" of a reassignment JSON file, in file order, duplicates kept so that they
// can be named (Kafka's parsePartitionReassignmentData).
std::vector<std::pair<topic_partition, std::vector<int32_t>>> parse_reassignment(const std::string& path) {
    const json file = parse_json(read_file(path), path);
    check_version(file);
    std::vector<std::pair<topic_partition, std::vector<int32_t>>> out;
    if (!file.contains("partitions")) return out;
    if (!file["partitions"].is_array()) fail("Field `partitions` must be an array");
    for (const json& entry : file["partitions"]) {
        const json& topic = field(entry, "topic");
        if (!topic.is_string()) fail("Field `topic` must be a string, not " + topic.dump());
        const topic_partition tp{topic.get<std::string>(), int_field(entry, "partition")};
        const json& replicas = field(entry, "replicas");
        if (!replicas.is_array()) fail("Field `replicas` must be an array of ints, not " + replicas.dump());
        std::vector<int32_t> ids;
        for (const json& r : replicas) {
            if (!r.is_number_integer() || r.get<int64_t>() < INT32_MIN || r.get<int64_t>() > INT32_MAX) {
                fail("Field `replicas` must be an array of ints, not " + replicas.dump());
            }
            ids.push_back(static_cast<int32_t>(r.get<int64_t>()));
        }
        if (entry.contains("log_dirs")) {
            const json& dirs = entry["log_dirs"];
            if (!dirs.is_array() || !std::all_of(dirs.begin(), dirs.end(), [](const json& d) { return d.is_string(); })) {
                fail("Field `log_dirs` must be an array of strings, not " + dirs.dump());
            }
            if (dirs.size() != ids.size()) {
                std::string listed;
                for (size_t i = 0; i < dirs.size(); ++i) listed += (i ? ", " : "") + dirs[i].get<std::string>();
                fail("Size of replicas list " + java_list(ids) + " is different from size of log dirs list [" + listed +
                     "] for partition " + tp.dir_name());
            }
            for (const json& d : dirs) {
                if (d.get<std::string>() != kAnyLogDir) {
                    fail("Partition " + tp.dir_name() + " names the log directory " + d.get<std::string>() +
                         ": Gregor does not move replicas between log directories; use \"any\"");
                }
            }
        }
        out.emplace_back(tp, std::move(ids));
    }
    return out;
}

// Kafka's parseExecuteAssignmentArgs checks, with its messages.
assignment checked_for_execute(const std::vector<std::pair<topic_partition, std::vector<int32_t>>>& parts) {
    if (parts.empty()) fail("Partition reassignment list cannot be empty");
    for (const auto& [tp, replicas] : parts) {
        if (replicas.empty()) fail("Partition replica list cannot be empty");
    }
    std::map<topic_partition, int> seen;
    for (const auto& [tp, replicas] : parts) ++seen[tp];
    std::string twice;
    for (const auto& [tp, n] : seen) {
        if (n > 1) twice += (twice.empty() ? "" : ",") + tp.dir_name();
    }
    if (!twice.empty()) fail("Partition reassignment contains duplicate topic partitions: " + twice);
    std::string duplicates;
    for (const auto& [tp, replicas] : parts) {
        std::map<int32_t, int> count;
        for (const int32_t r : replicas) ++count[r];
        std::vector<int32_t> repeated;
        for (const auto& [r, n] : count) {
            if (n > 1) repeated.push_back(r);
        }
        if (repeated.empty()) continue;
        duplicates += (duplicates.empty() ? "" : ". ") + tp.dir_name() + " contains multiple entries for " + join(repeated);
    }
    if (!duplicates.empty()) fail("Partition replica lists may not contain duplicate entries: " + duplicates);
    return {parts.begin(), parts.end()};
}

// Kafka's formatAsReassignmentJson: partitions sorted by topic and partition, every log dir "any".
std::string reassignment_json(const assignment& parts) {
    ordered_json partitions = ordered_json::array();
    for (const auto& [tp, replicas] : parts) {
        ordered_json p;
        p["topic"] = tp.topic;
        p["partition"] = tp.partition;
        p["replicas"] = replicas;
        p["log_dirs"] = std::vector<std::string>(replicas.size(), kAnyLogDir);
        partitions.push_back(std::move(p));
    }
    ordered_json file;
    file["version"] = 1;
    file["partitions"] = std::move(partitions);
    return file.dump();
}

// Every partition of `topics` with its replicas; an unknown topic ends the tool.
assignment current_assignment(admin& a, const std::set<std::string>& topics) {
    if (topics.empty()) return {};
    auto described = a.describe_topics({topics.begin(), topics.end()});
    if (!described) fail(tools::error_text(described.error()));
    assignment out;
    for (const auto& d : *described) {
        if (d.error.code == errc::unknown_topic_or_partition) fail("Topic " + d.name + " not found.");
        if (!d.error.ok()) fail(tools::error_text(d.error));
        for (const auto& p : d.partitions) out[{d.name, p.partition}] = p.replicas;
    }
    return out;
}

std::set<int32_t> live_brokers(admin& a) {
    auto cluster = a.describe_cluster();
    if (!cluster) fail(tools::error_text(cluster.error()));
    std::set<int32_t> ids;
    for (const auto& b : cluster->brokers) ids.insert(b.node_id);
    return ids;
}

void execute(admin& a, const options& o) {
    const assignment proposed = checked_for_execute(parse_reassignment(o.reassignment_json_file));
    auto moving = a.list_partition_reassignments();
    if (!moving) fail(tools::error_text(moving.error()));
    if (!o.additional && !moving->empty()) {
        fail_bare("Cannot execute because there is an existing partition assignment.  Use --additional to override "
                  "this and create a new partition assignment in addition to the existing one. The --additional "
                  "flag can also be used to change the throttle by resubmitting the current reassignment.");
    }
    const std::set<int32_t> live = live_brokers(a);
    for (const auto& [tp, replicas] : proposed) {
        for (const int32_t r : replicas) {
            if (!live.contains(r)) fail("Unknown broker id " + std::to_string(r));
        }
    }
    std::set<std::string> topics;
    for (const auto& [tp, _] : proposed) topics.insert(tp.topic);
    const assignment all = current_assignment(a, topics);
    assignment current;
    std::string missing;
    for (const auto& [tp, _] : proposed) {
        auto it = all.find(tp);
        if (it == all.end()) {
            missing += (missing.empty() ? "" : ", ") + tp.dir_name();
        } else {
            current.insert(*it);
        }
    }
    if (!missing.empty()) fail("Unable to find partition: " + missing);
    std::cout << "Current partition replica assignment\n\n"
              << reassignment_json(current)
              << "\n\nSave this to use as the --reassignment-json-file option during rollback\n";
    std::cout.flush();

    auto started = a.alter_partition_reassignments(proposed);
    if (!started) fail(tools::error_text(started.error()));
    std::string errors;
    for (const auto& [tp, s] : *started) {
        if (!s.ok()) errors += "\n" + tp.dir_name() + ": " + tools::error_text(s);
    }
    if (!errors.empty()) fail_bare("Error reassigning partition(s):" + errors);
    std::string names;
    for (const auto& [tp, _] : proposed) names += (names.empty() ? "" : ",") + tp.dir_name();
    std::cout << "Successfully started partition reassignment" << (proposed.size() == 1 ? "" : "s") << " for "
              << names << "\n";
}

void verify(admin& a, const options& o) {
    const auto targets = parse_reassignment(o.reassignment_json_file);
    auto moving = a.list_partition_reassignments();
    if (!moving) fail(tools::error_text(moving.error()));
    std::set<std::string> settled_topics;
    for (const auto& [tp, _] : targets) {
        if (!moving->contains(tp)) settled_topics.insert(tp.topic);
    }
    // A topic that does not exist has no replicas: its partitions are reported as not moved.
    assignment current;
    if (!settled_topics.empty()) {
        auto described = a.describe_topics({settled_topics.begin(), settled_topics.end()});
        if (!described) fail(tools::error_text(described.error()));
        for (const auto& d : *described) {
            if (!d.error.ok() && d.error.code != errc::unknown_topic_or_partition) fail(tools::error_text(d.error));
            for (const auto& p : d.partitions) current[{d.name, p.partition}] = p.replicas;
        }
    }
    const assignment sorted(targets.begin(), targets.end());
    std::cout << "Status of partition reassignment:\n";
    for (const auto& [tp, target] : sorted) {
        if (moving->contains(tp)) {
            std::cout << "Reassignment of partition " << tp.dir_name() << " is still in progress.\n";
            continue;
        }
        const auto it = current.find(tp);
        const std::vector<int32_t> replicas = it == current.end() ? std::vector<int32_t>{} : it->second;
        if (replicas == target) {
            std::cout << "Reassignment of partition " << tp.dir_name() << " is completed.\n";
        } else {
            std::cout << "There is no active reassignment of partition " << tp.dir_name() << ", but replica set is "
                      << join(replicas) << " rather than " << join(target) << ".\n";
        }
    }
}

std::vector<int32_t> parse_broker_list(const std::string& text) {
    std::vector<int32_t> ids;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, comma - start);
        int32_t id = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
            fail("Invalid --broker-list '" + text + "': expected broker ids separated by commas, as \"0,1,2\"");
        }
        ids.push_back(id);
        start = comma + 1;
    }
    return ids;
}

void generate(admin& a, const options& o) {
    const std::vector<int32_t> brokers = parse_broker_list(o.broker_list);
    std::map<int32_t, int> count;
    for (const int32_t b : brokers) ++count[b];
    std::vector<int32_t> repeated;
    for (const auto& [b, n] : count) {
        if (n > 1) repeated.push_back(b);
    }
    if (!repeated.empty()) fail("Broker list contains duplicate entries: " + java_list(repeated));

    const std::string path = o.topics_to_move_json_file;
    const json file = parse_json(read_file(path), path);
    check_version(file);
    std::vector<std::string> topics;
    if (file.contains("topics")) {
        if (!file["topics"].is_array()) fail("Field `topics` must be an array");
        for (const json& entry : file["topics"]) {
            const json& topic = field(entry, "topic");
            if (!topic.is_string()) fail("Field `topic` must be a string, not " + topic.dump());
            topics.push_back(topic.get<std::string>());
        }
    }
    std::map<std::string, int> named;
    for (const auto& t : topics) ++named[t];
    std::string twice;
    for (const auto& [t, n] : named) {
        if (n > 1) twice += (twice.empty() ? "" : ", ") + t;
    }
    if (!twice.empty()) fail("List of topics to reassign contains duplicate entries: [" + twice + "]");

    const assignment current = current_assignment(a, {topics.begin(), topics.end()});
    // The listed brokers that are live, with their racks unless told to ignore them; brokers
    // not in the cluster are left out, as Kafka does.
    auto cluster = a.describe_cluster();
    if (!cluster) fail(tools::error_text(cluster.error()));
    const std::set<int32_t> wanted(brokers.begin(), brokers.end());
    std::vector<coordination::broker_placement> placement;
    for (const auto& b : cluster->brokers) {
        if (!wanted.contains(b.node_id)) continue;
        placement.push_back({b.node_id, o.disable_rack_aware ? std::nullopt : b.rack});
    }
    const auto rackless = std::count_if(placement.begin(), placement.end(), [](const auto& p) { return !p.rack; });
    if (!o.disable_rack_aware && rackless != 0 && rackless != static_cast<long>(placement.size())) {
        fail("Not all brokers have rack information. Add --disable-rack-aware in command line to make replica "
             "assignment without rack information.");
    }
    std::map<std::string, std::pair<int32_t, int32_t>> shape;  // topic -> partitions, replicas
    for (const auto& [tp, replicas] : current) {
        auto& [partitions, factor] = shape[tp.topic];
        if (partitions == 0) factor = static_cast<int32_t>(replicas.size());
        ++partitions;
    }
    std::mt19937_64 rng(std::random_device{}());
    assignment proposed;
    for (const auto& [topic, s] : shape) {
        auto placed = coordination::assign_replicas(placement, s.first, s.second, rng);
        if (!placed) fail(tools::error_text(placed.error()));
        for (auto& [partition, replicas] : *placed) proposed[{topic, partition}] = std::move(replicas);
    }
    std::cout << "Current partition replica assignment\n"
              << reassignment_json(current) << "\n\n"
              << "Proposed partition reassignment configuration\n"
              << reassignment_json(proposed) << "\n";
}

// Kafka's validateAndParseArgs: one action, its required arguments, nothing it does not take.
void check_args(const options& o, const CLI::App& app) {
    const int actions = o.generate + o.execute + o.verify;
    if (actions != 1) fail("Command must include exactly one action: --generate, --execute, --verify");
    const std::string action = o.generate ? "generate" : o.execute ? "execute" : "verify";
    if (o.connection.bootstrap_server.empty()) fail("Missing required argument \"[bootstrap-server]\"");
    const std::map<std::string, std::vector<std::string>> required = {
        {"generate", {"topics-to-move-json-file", "broker-list"}},
        {"execute", {"reassignment-json-file"}},
        {"verify", {"reassignment-json-file"}},
    };
    for (const auto& name : required.at(action)) {
        if (app.get_option("--" + name)->count() == 0) fail("Missing required argument \"[" + name + "]\"");
    }
    const std::map<std::string, std::set<std::string>> permitted = {
        {"generate", {"bootstrap-server", "command-config", "topics-to-move-json-file", "broker-list",
                      "disable-rack-aware"}},
        {"execute", {"bootstrap-server", "command-config", "reassignment-json-file", "additional"}},
        {"verify", {"bootstrap-server", "command-config", "reassignment-json-file"}},
    };
    for (const CLI::Option* opt : app.get_options()) {
        const std::string name = opt->get_name(false, true);
        if (opt->count() == 0 || !name.starts_with("--")) continue;
        const std::string bare = name.substr(2);
        if (bare == action || bare == "help" || permitted.at(action).contains(bare)) continue;
        fail("Option \"[" + bare + "]\" can't be used with action \"[" + action + "]\"");
    }
}

int run(int argc, char** argv) {
    options o;
    CLI::App app{"This tool helps to move topic partitions between replicas.", "gregor-reassign-partitions"};
    tools::add_admin_connection_options(app, o.connection);
    app.add_flag("--generate", o.generate,
                 "Generate a candidate partition reassignment configuration. Note that this only generates a "
                 "candidate assignment, it does not execute it.");
    app.add_flag("--execute", o.execute,
                 "Kick off the reassignment as specified by the --reassignment-json-file option.");
    app.add_flag("--verify", o.verify,
                 "Verify if the reassignment completed as specified by the --reassignment-json-file option.");
    app.add_option("--reassignment-json-file", o.reassignment_json_file,
                   "The JSON file with the partition reassignment configuration. The format to use is - "
                   "{\"partitions\": [{\"topic\": \"foo\", \"partition\": 1, \"replicas\": [1,2,3], "
                   "\"log_dirs\": [\"any\",\"any\",\"any\"]}], \"version\":1}. \"log_dirs\" is optional; when "
                   "given, its length must equal the length of the replicas list and each entry must be \"any\" "
                   "(Gregor does not move replicas between log directories).");
    app.add_option("--topics-to-move-json-file", o.topics_to_move_json_file,
                   "Generate a reassignment configuration to move the partitions of the specified topics to the "
                   "list of brokers specified by the --broker-list option. The format to use is - "
                   "{\"topics\": [{\"topic\": \"foo\"},{\"topic\": \"foo1\"}], \"version\":1}");
    app.add_option("--broker-list", o.broker_list,
                   "The list of brokers to which the partitions need to be reassigned in the form \"0,1,2\". This "
                   "is required if --topics-to-move-json-file is used to generate reassignment configuration.");
    app.add_flag("--disable-rack-aware", o.disable_rack_aware, "Disable rack aware replica assignment.");
    app.add_flag("--additional", o.additional,
                 "Execute this reassignment in addition to any other ongoing ones.");
    if (argc <= 1) {
        std::cerr << "This tool helps to move topic partitions between replicas.\n" << app.help();
        return 1;
    }
    if (auto exit_code = tools::parse_command_line(app, argc, argv, "Error: ")) return *exit_code;
    try {
        check_args(o, app);
        auto props = tools::admin_client_properties(o.connection);
        if (!props) fail(tools::error_text(props.error()));
        (*props).try_emplace("client.id", "reassign-partitions-tool");
        auto a = admin::create(*props);
        if (!a) fail(tools::error_text(a.error()));
        if (o.generate) generate(**a, o);
        else if (o.execute) execute(**a, o);
        else verify(**a, o);
    } catch (const command_error& e) {
        std::cout.flush();
        std::istringstream lines(e.message);
        std::string line;
        bool first = true;
        while (std::getline(lines, line)) {
            tools::print_error_line((first && !e.bare ? "Error: " : "") + line);
            first = false;
        }
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
