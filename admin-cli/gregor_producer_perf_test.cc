// gregor-producer-perf-test: Kafka's kafka-producer-perf-test.sh (ProducerPerformance) for
// Gregor, same flags and same lines, so that results compare directly:
//   --topic T --num-records N (--record-size S | --payload-file F | --payload-monotonic)
//   --throughput R (-1: unthrottled) --producer-props k=v [k=v...] | --producer.config FILE
// Every 5 s: "<n> records sent, <r> records/sec (<m> MB/sec), <a> ms avg latency, <x> ms max
// latency." and at the end "<n> records sent, <r> records/sec (<m> MB/sec), <a> ms avg latency,
// <x> ms max latency, <p50> ms 50th, <p95> ms 95th, <p99> ms 99th, <p999> ms 99.9th."
// Latency is from send() to the record's acknowledgement, in whole milliseconds, as Kafka's.
// The statistics are updated on the producer's I/O thread (delivery callbacks), as in Kafka.
// --bootstrap-server is accepted as a shorthand for --producer-props bootstrap.servers=...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "admin-cli/tool_support.h"
#include "client/producer.h"
#include "common/logger.h"

namespace {

using namespace gregor;
using namespace gregor::client;

using tools::current_time_ms;

// Kafka's ProducerPerformance.Stats, field for field. Guarded by mu_ (callbacks run on the
// producer's I/O thread; the final report on the main thread after close).
class stats {
public:
    stats(int64_t num_records, int64_t reporting_interval_ms)
        : start_(current_time_ms()),
          window_start_(start_),
          sampling_(num_records / std::min<int64_t>(num_records, 500000)),
          latencies_(static_cast<size_t>(num_records / sampling_ + 1)),
          reporting_interval_(reporting_interval_ms) {}

    void record(int latency, int bytes, int64_t time) {
        std::lock_guard lk(mu_);
        ++count_;
        bytes_ += bytes;
        total_latency_ += latency;
        max_latency_ = std::max(max_latency_, latency);
        ++window_count_;
        window_bytes_ += bytes;
        window_total_latency_ += latency;
        window_max_latency_ = std::max(window_max_latency_, latency);
        if (iteration_ % sampling_ == 0 && index_ < latencies_.size()) {
            latencies_[index_++] = latency;
        }
        ++iteration_;
        if (time - window_start_ >= reporting_interval_) {
            print_window();
            new_window();
        }
    }

    void print_total() {
        std::lock_guard lk(mu_);
        const int64_t elapsed = std::max<int64_t>(1, current_time_ms() - start_);
        const double recs_per_sec = 1000.0 * static_cast<double>(count_) / static_cast<double>(elapsed);
        const double mb_per_sec =
            1000.0 * static_cast<double>(bytes_) / static_cast<double>(elapsed) / (1024.0 * 1024.0);
        const size_t size = std::min(index_, latencies_.size());
        std::sort(latencies_.begin(), latencies_.begin() + static_cast<std::ptrdiff_t>(size));
        auto pct = [&](double p) {
            if (size == 0) return 0;
            return latencies_[std::min(size - 1, static_cast<size_t>(p * static_cast<double>(size)))];
        };
        std::printf("%lld records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms "
                    "max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.\n",
                    static_cast<long long>(count_), recs_per_sec, mb_per_sec,
                    count_ ? static_cast<double>(total_latency_) / static_cast<double>(count_) : 0.0,
                    static_cast<double>(max_latency_), pct(0.5), pct(0.95), pct(0.99), pct(0.999));
        std::fflush(stdout);
    }

private:
    void print_window() {
        const int64_t elapsed = std::max<int64_t>(1, current_time_ms() - window_start_);
        const double recs_per_sec = 1000.0 * static_cast<double>(window_count_) / static_cast<double>(elapsed);
        const double mb_per_sec = 1000.0 * static_cast<double>(window_bytes_) /
                                  static_cast<double>(elapsed) / (1024.0 * 1024.0);
        std::printf("%lld records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms "
                    "max latency.\n",
                    static_cast<long long>(window_count_), recs_per_sec, mb_per_sec,
                    static_cast<double>(window_total_latency_) / static_cast<double>(window_count_),
                    static_cast<double>(window_max_latency_));
        std::fflush(stdout);
    }
    void new_window() {
        window_start_ = current_time_ms();
        window_count_ = 0;
        window_max_latency_ = 0;
        window_total_latency_ = 0;
        window_bytes_ = 0;
    }

    std::mutex mu_;
    int64_t start_;
    int64_t window_start_;
    int64_t sampling_;
    std::vector<int> latencies_;
    int64_t reporting_interval_;
    int64_t iteration_ = 0;
    size_t index_ = 0;
    int64_t count_ = 0;
    int64_t bytes_ = 0;
    int max_latency_ = 0;
    int64_t total_latency_ = 0;
    int64_t window_count_ = 0;
    int window_max_latency_ = 0;
    int64_t window_total_latency_ = 0;
    int64_t window_bytes_ = 0;
};

// SplittableRandom is Java's; any uniform source does for "A".."Z" payloads.
class payload_random {
public:
    explicit payload_random(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint32_t next(uint32_t bound) {
        s_ ^= s_ << 13;
        s_ ^= s_ >> 7;
        s_ ^= s_ << 17;
        return static_cast<uint32_t>(s_ % bound);
    }

private:
    uint64_t s_;
};

// Kafka's argparse4j prefixes its errors with the program name.
const std::string kErrorPrefix = "producer-performance: error: ";

int usage_error(const std::string& message) {
    tools::print_error_line(kErrorPrefix + message);
    return 1;
}

int run(int argc, char** argv) {
    std::string topic, payload_file, payload_delimiter = "\\n", producer_config, bootstrap;
    std::string transactional_id;
    int64_t num_records = 0, record_size = 0, transaction_duration_ms = 0;
    double throughput = 0;
    bool payload_monotonic = false, print_metrics = false;
    std::vector<std::string> producer_props;
    CLI::App app{"This tool is used to verify the producer performance.", "producer-performance"};
    app.add_option("--topic", topic, "produce messages to this topic")->required();
    app.add_option("--num-records", num_records, "number of messages to produce")->required();
    auto* size_opt = app.add_option("--record-size", record_size, "message size in bytes");
    auto* file_opt = app.add_option("--payload-file", payload_file,
                                    "file to read the message payloads from (UTF-8 text); a "
                                    "payload is picked at random for each message");
    app.add_option("--payload-delimiter", payload_delimiter,
                   "delimiter of the payloads in --payload-file (default \\n)");
    auto* mono_opt = app.add_flag("--payload-monotonic", payload_monotonic,
                                  "payload is a monotonically increasing integer");
    app.add_option("--throughput", throughput,
                   "throttle maximum message throughput to *approximately* THROUGHPUT "
                   "messages/sec. Set this to -1 to disable throttling.")
        ->required();
    app.add_option("--producer-props", producer_props,
                   "producer configuration properties like bootstrap.servers=host:port "
                   "client.id=... (take precedence over --producer.config)")
        ->expected(1, 1 << 20);
    app.add_option("--producer.config", producer_config, "producer config properties file.");
    app.add_option("--bootstrap-server", bootstrap,
                   "shorthand for --producer-props bootstrap.servers=...");
    app.add_flag("--print-metrics", print_metrics, "accepted; Gregor prints no metrics yet.");
    auto* tx = app.add_option("--transactional-id", transactional_id, "not supported by Gregor yet.");
    auto* txd = app.add_option("--transaction-duration-ms", transaction_duration_ms,
                               "not supported by Gregor yet.");
    if (argc <= 1) return tools::print_help(app);
    if (auto exit_code = tools::parse_command_line(app, argc, argv, kErrorPrefix)) return *exit_code;
    const int payload_kinds = (size_opt->count() > 0) + (file_opt->count() > 0) + payload_monotonic;
    (void)mono_opt;
    if (payload_kinds != 1) {
        return usage_error("either --record-size or --payload-file or --payload-monotonic must be "
                           "specified but not more than one");
    }
    if (num_records <= 0) return usage_error("--num-records should be greater than zero");
    if (size_opt->count() > 0 && record_size <= 0) {
        return usage_error("--record-size should be greater than zero");
    }
    if (producer_props.empty() && producer_config.empty() && bootstrap.empty()) {
        return usage_error("Either --producer-props or --producer.config must be specified.");
    }
    if (tx->count() > 0 || txd->count() > 0) {
        return usage_error("transactions are not supported by Gregor yet");
    }

    properties props;
    if (!producer_config.empty()) {
        auto f = tools::load_properties(producer_config);
        if (!f) return usage_error(f.error().message);
        props = std::move(*f);
    }
    if (!bootstrap.empty()) props["bootstrap.servers"] = bootstrap;
    for (const auto& kv : producer_props) {
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || kv.find('=', eq + 1) != std::string::npos) {
            return usage_error("Invalid property: " + kv);
        }
        props[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    props.erase("key.serializer");
    props.erase("value.serializer");
    if (props.count("transactional.id")) return usage_error("transactions are not supported by Gregor yet");
    if (!props.count("client.id")) props["client.id"] = "perf-producer-client";

    std::vector<std::string> payloads;
    if (!payload_file.empty()) {
        std::cout << "Reading payloads from: " << payload_file << "\n";
        std::ifstream in(payload_file, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string text = ss.str();
        if (!in || text.empty()) return usage_error("File does not exist or empty file provided.");
        const std::string delim = payload_delimiter == "\\n" ? "\n" : payload_delimiter;
        // Java's String.split: empty strings at the end are dropped.
        size_t pos = 0;
        for (;;) {
            const size_t at = text.find(delim, pos);
            payloads.push_back(text.substr(pos, at == std::string::npos ? std::string::npos : at - pos));
            if (at == std::string::npos) break;
            pos = at + delim.size();
        }
        while (!payloads.empty() && payloads.back().empty()) payloads.pop_back();
        if (payloads.empty()) return usage_error("File does not exist or empty file provided.");
        std::cout << "Number of messages read: " << payloads.size() << "\n";
    }

    auto created = producer::create(props);
    if (!created) {
        tools::print_error_line(created.error().message);
        return 1;
    }
    producer& p = **created;
    tools::install_stop_signals();

    stats st(num_records, 5000);
    std::atomic<int64_t> errors{0};
    payload_random random(0);
    std::string payload(static_cast<size_t>(std::max<int64_t>(record_size, 0)), 'A');
    const auto start = std::chrono::steady_clock::now();
    tools::throughput_throttler throttler(throughput, start);
    for (int64_t i = 0; i < num_records && !tools::stop_signal(); ++i) {
        if (!payloads.empty()) {
            payload = payloads[random.next(static_cast<uint32_t>(payloads.size()))];
        } else if (record_size > 0) {
            for (auto& ch : payload) ch = static_cast<char>('A' + random.next(26));
        } else {
            payload = std::to_string(i);
        }
        producer_record rec;
        rec.topic = topic;
        rec.value = payload;
        const int64_t send_start = current_time_ms();
        const int bytes = static_cast<int>(payload.size());
        p.send(std::move(rec), [&st, &errors, send_start, bytes](const delivery_report& r) {
            const int64_t now = current_time_ms();
            if (r.error.ok()) {
                st.record(static_cast<int>(now - send_start), bytes, now);
            } else {
                ++errors;
                tools::print_error_line("org.apache.kafka.common.KafkaException: " + r.error.message);
            }
        });
        if (throttler.should_throttle(i, std::chrono::steady_clock::now())) throttler.throttle();
    }
    p.close();
    st.print_total();
    return errors > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    gregor::logging::set_level("warn");
    return run(argc, argv);
}
