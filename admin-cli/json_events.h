// The JSON lines the verifiable tools print on stdout, one event per line, as Kafka's
// VerifiableProducer and VerifiableConsumer do: every event begins with "timestamp" (ms since
// the epoch, when the event was made) and "name", then its own fields in insertion order.
// A test harness reads the lines back, so each is written whole and flushed at once.
// Thread-safe: lines printed from several threads never interleave.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace gregor::tools {

using json_event = nlohmann::ordered_json;

// {"timestamp":<now>,"name":<name>}, ready for the event's own fields.
json_event make_event(std::string_view name);

// A record's key or value: its text, or JSON null for a null one.
json_event nullable(const std::optional<std::string>& text);

// Writes the event as one line on stdout and flushes it.
void print_event(const json_event& event);

}  // namespace gregor::tools
