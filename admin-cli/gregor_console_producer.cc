// gregor-console-producer: one record per line of standard input, as Kafka's
// kafka-console-producer.sh (ConsoleProducer with its LineMessageReader):
//   --property parse.key=true --property key.separator=:    "key:value" lines
//   --property parse.headers=true (headers.delimiter, headers.separator, headers.key.separator)
//   --property ignore.error=true, null.marker=<m>
//   --producer-property k=v / --producer.config FILE        any producer setting
//   --request-required-acks, --request-timeout-ms, --timeout (linger.ms), --batch-size, ...
// with Kafka's console defaults (acks=-1, linger.ms=1000, request.timeout.ms=1500, retries=3)
// wherever the producer settings leave a key unset. At the end of input it flushes and exits 0
// once every line is acknowledged; otherwise it prints each failure on stderr and exits 1.
// SIGINT/SIGTERM stop reading; what was read is still flushed.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "admin-cli/tool_support.h"
#include "client/producer.h"
#include "common/logger.h"

namespace {

using namespace gregor;
using namespace gregor::client;

// Kafka's LineMessageReader settings.
struct reader_config {
    bool parse_key = false;
    std::string key_separator = "\t";
    bool parse_headers = false;
    std::string headers_delimiter = "\t";
    std::string headers_separator = ",";
    std::string headers_key_separator = ":";
    bool ignore_error = false;
    std::optional<std::string> null_marker;
};

result<reader_config> make_reader_config(const properties& p) {
    reader_config c;
    auto get = [&](const char* k) -> const std::string* {
        auto it = p.find(k);
        return it == p.end() ? nullptr : &it->second;
    };
    if (auto v = get("parse.key")) c.parse_key = tools::property_is_true(*v);
    if (auto v = get("key.separator")) c.key_separator = *v;
    if (auto v = get("parse.headers")) c.parse_headers = tools::property_is_true(*v);
    if (auto v = get("headers.delimiter")) c.headers_delimiter = *v;
    if (auto v = get("headers.separator")) c.headers_separator = *v;
    if (auto v = get("headers.key.separator")) c.headers_key_separator = *v;
    if (auto v = get("ignore.error")) c.ignore_error = tools::property_is_true(*v);
    if (auto v = get("null.marker")) c.null_marker = *v;
    auto refuse = [](const char* what) { return status(errc::invalid_config, what); };
    if (c.headers_delimiter == c.headers_separator)
        return refuse("headers.delimiter and headers.separator may not be equal");
    if (c.headers_delimiter == c.headers_key_separator)
        return refuse("headers.delimiter and headers.key.separator may not be equal");
    if (c.headers_separator == c.headers_key_separator)
        return refuse("headers.separator and headers.key.separator may not be equal");
    if (c.null_marker) {
        if (c.key_separator == *c.null_marker) return refuse("null.marker and key.separator may not be equal");
        if (c.headers_separator == *c.null_marker)
            return refuse("null.marker and headers.separator may not be equal");
        if (c.headers_delimiter == *c.null_marker)
            return refuse("null.marker and headers.delimiter may not be equal");
        if (c.headers_key_separator == *c.null_marker)
            return refuse("null.marker and headers.key.separator may not be equal");
    }
    return c;
}

// One line into a record, as LineMessageReader.readRecords.
result<producer_record> parse_line(const reader_config& c, const std::string& topic,
                                   const std::string& line, int line_number) {
    auto field = [&](bool enabled, size_t start, const std::string& demarcation,
                     const char* name) -> result<std::optional<std::string>> {
        if (!enabled) return std::optional<std::string>{};
        const size_t at = line.find(demarcation, start);
        if (at == std::string::npos) {
            if (c.ignore_error) return std::optional<std::string>{};
            return status(errc::invalid_record, std::string("No ") + name +
                                                    " found on line number " +
                                                    std::to_string(line_number) + ": '" + line + "'");
        }
        return std::optional<std::string>(line.substr(start, at - start));
    };
    auto headers = field(c.parse_headers, 0, c.headers_delimiter, "headers delimiter");
    if (!headers) return headers.error();
    const size_t header_offset = *headers ? (*headers)->size() + c.headers_delimiter.size() : 0;
    auto key = field(c.parse_key, header_offset, c.key_separator, "key separator");
    if (!key) return key.error();
    const size_t key_offset = *key ? (*key)->size() + c.key_separator.size() : 0;
    std::string value = line.substr(header_offset + key_offset);

    producer_record r;
    r.topic = topic;
    if (*key && (!c.null_marker || **key != *c.null_marker)) r.key = **key;
    if (!c.null_marker || value != *c.null_marker) r.value = std::move(value);
    if (*headers && (!c.null_marker || **headers != *c.null_marker)) {
        // headers.separator is a regular expression in Kafka (Pattern.split).
        const std::string& all = **headers;
        std::regex sep(c.headers_separator);
        for (std::sregex_token_iterator it(all.begin(), all.end(), sep, -1), end; it != end; ++it) {
            const std::string pair = *it;
            const size_t i = pair.find(c.headers_key_separator);
            if (i == std::string::npos) {
                if (c.ignore_error) {
                    r.headers.push_back({pair, std::nullopt});
                    continue;
                }
                return status(errc::invalid_record, "No header key separator found in pair '" +
                                                        pair + "' on line number " +
                                                        std::to_string(line_number));
            }
            const std::string hkey = pair.substr(0, i);
            if (c.null_marker && hkey == *c.null_marker) {
                return status(errc::invalid_record,
                              "Header keys should not be equal to the null marker '" +
                                  *c.null_marker + "' as they can't be null");
            }
            std::string hval = pair.substr(i + c.headers_key_separator.size());
            if (c.null_marker && hval == *c.null_marker) r.headers.push_back({hkey, std::nullopt});
            else r.headers.push_back({hkey, std::move(hval)});
        }
    }
    return r;
}

struct options {
    std::string bootstrap_server, topic, producer_config_file, reader_config_file;
    std::vector<std::string> properties, producer_properties;
    bool sync = false;
    std::string compression_codec;
    // Kafka's console defaults, used where the producer settings do not name the key.
    std::string acks = "-1";
    int64_t request_timeout_ms = 1500;
    int64_t retries = 3;
    int64_t retry_backoff_ms = 100;
    int64_t linger_ms = 1000;
    int64_t batch_size = 16384;
    int64_t max_memory_bytes = 33554432;
    int64_t max_block_ms = 60000;
    int64_t metadata_expiry_ms = 300000;
    int64_t socket_buffer_size = 102400;
};

int run(int argc, char** argv) {
    options o;
    CLI::App app{"This tool helps to read data from standard input and publish it to Gregor.",
                 "gregor-console-producer"};
    app.add_option("--bootstrap-server", o.bootstrap_server,
                   "REQUIRED: The server(s) to connect to, HOST1:PORT1,HOST2:PORT2.");
    app.add_option("--topic", o.topic, "REQUIRED: The topic name to produce messages to.");
    tools::add_repeated_option(app, "--property", o.properties,
                               "A mechanism to pass user-defined properties in the form key=value "
                               "to the message reader: parse.key, key.separator, parse.headers, "
                               "headers.delimiter, headers.separator, headers.key.separator, "
                               "ignore.error, null.marker.");
    app.add_option("--reader-config", o.reader_config_file,
                   "Config properties file for the message reader (--property wins).");
    tools::add_repeated_option(app, "--producer-property", o.producer_properties,
                               "A mechanism to pass user-defined properties in the form key=value "
                               "to the producer.");
    app.add_option("--producer.config", o.producer_config_file,
                   "Producer config properties file (--producer-property wins).");
    app.add_flag("--sync", o.sync, "Send each line and wait for its acknowledgement.");
    app.add_option("--compression-codec", o.compression_codec,
                   "The compression codec: only 'none' is supported by Gregor so far.");
    auto* acks = app.add_option("--request-required-acks", o.acks, "The required acks of the producer requests (default -1).");
    auto* rto = app.add_option("--request-timeout-ms", o.request_timeout_ms, "The ack timeout of the producer requests (default 1500).");
    auto* retries = app.add_option("--message-send-max-retries", o.retries, "The producer's retries (default 3).");
    auto* backoff = app.add_option("--retry-backoff-ms", o.retry_backoff_ms, "The producer's retry.backoff.ms (default 100).");
    auto* linger = app.add_option("--timeout", o.linger_ms, "linger.ms: how long a record may wait for its batch to fill (default 1000).");
    auto* batch = app.add_option("--batch-size", o.batch_size, "The producer's batch.size (default 16384).");
    auto* batch2 = app.add_option("--max-partition-memory-bytes", o.batch_size, "The producer's batch.size.");
    auto* memory = app.add_option("--max-memory-bytes", o.max_memory_bytes, "The producer's buffer.memory (default 33554432).");
    auto* block = app.add_option("--max-block-ms", o.max_block_ms, "The producer's max.block.ms (default 60000).");
    auto* expiry = app.add_option("--metadata-expiry-ms", o.metadata_expiry_ms, "The producer's metadata.max.age.ms (default 300000).");
    auto* sockbuf = app.add_option("--socket-buffer-size", o.socket_buffer_size, "Accepted for compatibility (send.buffer.bytes).");
    if (auto exit_code = tools::parse_command_line(app, argc, argv)) return *exit_code;
    if (o.topic.empty()) {
        tools::print_error_line("Missing required argument \"[topic]\"");
        return 1;
    }
    if (o.bootstrap_server.empty()) {
        tools::print_error_line("Missing required argument \"[bootstrap-server]\"");
        return 1;
    }

    auto settings =
        tools::load_properties_with_overrides(o.producer_config_file, o.producer_properties);
    if (!settings) return tools::print_error_line(settings.error().message), 1;
    properties& props = *settings;
    props["bootstrap.servers"] = o.bootstrap_server;
    props["compression.type"] = o.compression_codec.empty() ? "none" : o.compression_codec;
    if (!props.count("client.id")) props["client.id"] = "console-producer";
    props.erase("key.serializer");
    props.erase("value.serializer");
    // Kafka's CommandLineUtils.maybeMergeOptions: the option when given, else its default
    // unless the settings already have the key.
    auto merge_option = [&](const char* key, const CLI::Option* opt, const std::string& value) {
        if (opt->count() > 0 || !props.count(key)) props[key] = value;
    };
    merge_option("linger.ms", linger, std::to_string(o.linger_ms));
    merge_option("acks", acks, o.acks);
    merge_option("request.timeout.ms", rto, std::to_string(o.request_timeout_ms));
    merge_option("retries", retries, std::to_string(o.retries));
    merge_option("retry.backoff.ms", backoff, std::to_string(o.retry_backoff_ms));
    merge_option("buffer.memory", memory, std::to_string(o.max_memory_bytes));
    merge_option("batch.size", batch2->count() ? batch2 : batch, std::to_string(o.batch_size));
    merge_option("metadata.max.age.ms", expiry, std::to_string(o.metadata_expiry_ms));
    merge_option("max.block.ms", block, std::to_string(o.max_block_ms));
    merge_option("send.buffer.bytes", sockbuf, std::to_string(o.socket_buffer_size));

    auto reader_props = tools::load_properties_with_overrides(o.reader_config_file, o.properties);
    if (!reader_props) return tools::print_error_line(reader_props.error().message), 1;
    auto reader = make_reader_config(*reader_props);
    if (!reader) return tools::print_error_line(reader.error().message), 1;

    auto p = producer::create(props);
    if (!p) return tools::print_error_line(p.error().message), 1;
    tools::install_stop_signals();

    std::atomic<int64_t> failed{0};
    std::mutex err_mu;
    auto on_done = [&](const std::string& key, size_t value_bytes) {
        return [&, key, value_bytes](const delivery_report& r) {
            if (r.error.ok()) return;
            ++failed;
            std::lock_guard lk(err_mu);
            tools::print_error_line("ERROR Error when sending message to topic " + r.topic +
                                    " with key: " + key + ", value: " +
                                    std::to_string(value_bytes) + " bytes with error: " +
                                    r.error.message);
        };
    };
    const bool prompt = ::isatty(0) && ::isatty(1);
    int exit_code = 0;
    int line_number = 0;
    std::string line;
    for (;;) {
        ++line_number;
        if (prompt) {
            std::cout << ">" << std::flush;
        }
        if (!std::getline(std::cin, line)) break;
        if (tools::stop_signal()) break;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto rec = parse_line(*reader, o.topic, line, line_number);
        if (!rec) {
            tools::print_error_line("ERROR " + rec.error().message);
            exit_code = 1;
            break;
        }
        const std::string key_text = rec->key ? std::to_string(rec->key->size()) + " bytes" : "null";
        const size_t value_bytes = rec->value ? rec->value->size() : 0;
        if (o.sync) {
            auto f = (*p)->send(std::move(*rec));
            on_done(key_text, value_bytes)(f.get());
        } else {
            (*p)->send(std::move(*rec), on_done(key_text, value_bytes));
        }
    }
    auto flushed = (*p)->flush();
    (*p)->close();
    if (!flushed.ok()) {
        tools::print_error_line("ERROR " + flushed.message);
        exit_code = 1;
    }
    if (failed > 0) exit_code = 1;
    if (tools::stop_signal() && exit_code == 0) exit_code = 128 + tools::stop_signal();
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    gregor::logging::set_level("warn");
    return run(argc, argv);
}
