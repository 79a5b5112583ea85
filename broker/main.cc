// gregor-server CONFIG [--override key=value]...: one broker. SIGTERM or SIGINT shut it down
// cleanly (stop accepting, finish in-flight requests, flush, write the clean-shutdown marker);
// after SIGKILL the next start recovers the logs.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>

#include "broker/broker_config.h"
#include "broker/server.h"
#include "common/logger.h"
#include "common/properties.h"

int main(int argc, char** argv) {
    using namespace gregor;
    CLI::App app{"gregor-server: a Gregor broker. Reads a Kafka-style server.properties."};
    std::string config_file;
    std::vector<std::string> overrides;
    app.add_option("config", config_file, "the broker's .properties file (e.g. config/server.properties)")
        ->required();
    app.add_option("--override", overrides, "key=value, wins over the file (repeatable)")
        ->take_all();
    CLI11_PARSE(app, argc, argv);

    auto props = read_properties_file(config_file);
    if (!props) {
        std::cerr << "gregor-server: " << props.error().message << "\n";
        return 1;
    }
    for (const auto& o : overrides) {
        auto kv = parse_key_value(o);
        if (!kv) {
            std::cerr << "gregor-server: --override " << kv.error().message << "\n";
            return 1;
        }
        (*props)[kv->first] = kv->second;
    }
    std::vector<std::string> warnings;
    auto config = broker::broker_config::from_properties(*props, warnings);
    if (!config) {
        std::cerr << "gregor-server: refusing to start: " << config.error().message << "\n";
        return 1;
    }
    logging::console_to_stdout();
    logging::set_level(config->log_level);
    if (!config->server_log_file.empty()) {
        try {
            logging::add_sink(std::make_shared<spdlog::sinks::basic_file_sink_mt>(config->server_log_file.string()));
        } catch (const spdlog::spdlog_ex& e) {
            std::cerr << "gregor-server: cannot open gregor.server.log.file: " << e.what() << "\n";
            return 1;
        }
    }
    auto log = logging::get("broker");
    for (const auto& w : warnings) log->warn("{}", w);
    // Every hosted partition keeps its active segment's files open: thousands of partitions
    // need more descriptors than the usual soft limit of 1024, and the hard limit is ours to take.
    if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        const rlim_t before = files.rlim_cur;
        files.rlim_cur = files.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &files) == 0) {
            log->info("raised the open-file limit from {} to {}", before, files.rlim_max);
        }
    }

    // Signals are taken by sigwait below, never by an arbitrary thread. SIGUSR1 is the
    // server's own: it cannot go on (on_fatal).
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    auto server = broker::server::start(*config, *props, [](const std::string&) { kill(getpid(), SIGUSR1); });
    if (!server) {
        log->critical("start-up failed: {}", server.error().message);
        return 1;
    }
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1) {
        log->critical("refusing to run (see the error above); shutting down");
        (*server)->shutdown().ignore_error();
        return 1;
    }
    log->info("received {}; shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    status s = (*server)->shutdown();
    if (!s.ok()) {
        log->error("shutdown was not clean: {}", s.message);
        return 1;
    }
    return 0;
}
