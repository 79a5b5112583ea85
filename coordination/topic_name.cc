#include "coordination/topic_name.h"

#include <string>

namespace gregor::coordination {

status validate_topic_name(std::string_view name) {
    const std::string quoted(name);
    if (name.empty()) return {errc::invalid_topic_exception, "Topic name is illegal, it can't be empty"};
    if (name == "." || name == "..") {
        return {errc::invalid_topic_exception, "Topic name cannot be \".\" or \"..\""};
    }
    if (name.size() > kMaxTopicNameLength) {
        return {errc::invalid_topic_exception, "Topic name is illegal, it can't be longer than " +
                                                   std::to_string(kMaxTopicNameLength) +
                                                   " characters, topic name: " + quoted};
    }
    for (const char c : name) {
        const bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '.' || c == '_' || c == '-';
        if (!legal) {
            return {errc::invalid_topic_exception,
                    "Topic name \"" + quoted +
                        "\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"};
        }
    }
    return {};
}

bool topic_names_collide(std::string_view a, std::string_view b) {
    if (a == b || a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        const char x = a[i] == '.' ? '_' : a[i];
        const char y = b[i] == '.' ? '_' : b[i];
        if (x != y) return false;
    }
    return true;
}

}  // namespace gregor::coordination
