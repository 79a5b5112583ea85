// gregor-cluster: shows who is in the cluster, from one Metadata answer of any broker:
//   gregor-cluster --bootstrap-server H:P [--command-config FILE]
//       Controller: 2                       ("none" while no broker holds /controller)
//       Brokers:
//         1  127.0.0.1:9092  rack: -
//         2  127.0.0.1:9093  rack: -  (controller)
// The brokers are the live ones (registered in ZooKeeper), sorted by id, each at its address on
// the listener the tool connected to. Kafka has no one tool for this (kafka-cluster.sh prints
// the cluster id, kafka-broker-api-versions.sh the brokers); the native protocol does not
// carry the cluster id, so it is not shown. The call gives up after default.api.timeout.ms
// (60 s; set it in --command-config): then, or on any other failure, one "Error: ..." line on
// stderr and exit status 1.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "admin-cli/tool_support.h"
#include "client/admin.h"
#include "common/logger.h"

namespace {

using namespace gregor;
using namespace gregor::client;

std::string address(const broker_info& b) { return b.address().str(); }

std::string padded(std::string s, size_t width) {
    s.resize(std::max(s.size(), width), ' ');
    return s;
}

void print(const cluster_description& c) {
    std::cout << "Controller: " << (c.controller_id >= 0 ? std::to_string(c.controller_id) : "none")
              << "\nBrokers:\n";
    size_t id_width = 0, address_width = 0, rack_width = 0;
    for (const auto& b : c.brokers) {
        id_width = std::max(id_width, std::to_string(b.node_id).size());
        address_width = std::max(address_width, address(b).size());
        rack_width = std::max(rack_width, b.rack.value_or("-").size());
    }
    for (const auto& b : c.brokers) {
        std::string line = "  " + padded(std::to_string(b.node_id), id_width) + "  " +
                           padded(address(b), address_width) + "  rack: ";
        if (b.node_id == c.controller_id) {
            line += padded(b.rack.value_or("-"), rack_width) + "  (controller)";
        } else {
            line += b.rack.value_or("-");
        }
        std::cout << line << "\n";
    }
}

int fail(const status& s, const std::string& context = "") {
    std::cout.flush();
    tools::print_error_line("Error: " + context +
                            (s.message.empty() ? errc_message(s.code) : s.message));
    return 1;
}

int run(int argc, char** argv) {
    std::string bootstrap_server, command_config;
    CLI::App app{"Shows the live brokers of a Gregor cluster and which one is the controller.",
                 "gregor-cluster"};
    app.add_option("--bootstrap-server", bootstrap_server,
                   "REQUIRED: The Gregor server(s) to connect to, host:port[,host:port].");
    app.add_option("--command-config", command_config,
                   "Property file containing configs to be passed to the admin client.");
    if (auto exit_code = tools::parse_command_line(app, argc, argv, "Error: ")) return *exit_code;
    if (bootstrap_server.empty()) {
        return fail({errc::invalid_config, "Missing required argument \"[bootstrap-server]\""});
    }
    client::properties props;
    if (!command_config.empty()) {
        auto file = tools::load_properties(command_config);
        if (!file) return fail(file.error());
        props = std::move(*file);
    }
    props["bootstrap.servers"] = bootstrap_server;
    auto a = admin::create(props);
    if (!a) return fail(a.error());
    auto cluster = (*a)->describe_cluster();
    // The client's error names the last attempt only ("timed out waiting for ..."): say
    // which servers never answered.
    if (!cluster) {
        return fail(cluster.error(), "no cluster metadata from " + bootstrap_server + ": ");
    }
    print(*cluster);
    std::cout.flush();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    gregor::logging::set_level("warn");
    return run(argc, argv);
}
