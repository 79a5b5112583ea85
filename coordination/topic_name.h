// Kafka's rules for topic names (org.apache.kafka.common.internals.Topic): 1 to 249 characters
// from [a-zA-Z0-9._-], not "." or "..". Two names that differ only in '.' versus '_' collide,
// because metric names replace '.' with '_'. Pure functions: safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/errc.h"

namespace gregor::coordination {

inline constexpr size_t kMaxTopicNameLength = 249;

// ok, or invalid_topic_exception with Kafka's message.
status validate_topic_name(std::string_view name);

// True if the names are different but equal once every '.' is read as '_'.
bool topic_names_collide(std::string_view a, std::string_view b);

}  // namespace gregor::coordination
