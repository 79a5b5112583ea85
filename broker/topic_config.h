// The topic-level config keys Gregor accepts (/config/topics/<t>, CreateTopics --config,
// AlterConfigs), their defaults taken from the broker's settings, and their validation.
// Pure functions: any thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "broker/broker_config.h"
#include "broker/storage/log_config.h"
#include "common/errc.h"

namespace gregor::broker {

using topic_overrides = std::map<std::string, std::string>;

// Checks every key and value; invalid_config names the first offender.
status validate_topic_config(const broker_config& broker, const topic_overrides& overrides);
// The log settings of a topic: the broker's, overridden.
result<storage::log_config> topic_log_config(const broker_config& broker, const topic_overrides& overrides);

struct topic_config_entry {
    std::string name;
    std::string value;
    bool is_default;
};
// Every topic key with its effective value, for DescribeConfigs.
std::vector<topic_config_entry> describe_topic_config(const broker_config& broker,
                                                      const topic_overrides& overrides);

}  // namespace gregor::broker
