// Java .properties files as Kafka's tools read them: `key=value`, `key: value` or
// `key value`; `#` and `!` start comment lines; a trailing backslash continues a line; the
// escapes \t \n \r \f \\ \= \: and \uXXXX. Later keys win. Pure functions: any thread.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "common/errc.h"

namespace gregor {

using properties = std::map<std::string, std::string>;

properties parse_properties(const std::string& text);
// Errors: invalid_config when the file cannot be read.
result<properties> read_properties_file(const std::filesystem::path& path);
// Parses "key=value" as given to --override / --config; an argument without '=' is an error.
result<std::pair<std::string, std::string>> parse_key_value(const std::string& arg);

}  // namespace gregor
