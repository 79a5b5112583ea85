// A partition's identity: topic name and partition number. Its directory name in a log.dir is
// `<topic>-<partition>` (the partition is after the last '-', since topics may contain '-').
// A plain value: safe to copy between threads.
#pragma once

#include <charconv>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace gregor {

struct topic_partition {
    std::string topic;
    int32_t partition = 0;

    auto operator<=>(const topic_partition&) const = default;
    bool operator==(const topic_partition&) const = default;

    std::string dir_name() const { return topic + "-" + std::to_string(partition); }

    static std::optional<topic_partition> from_dir_name(const std::string& name) {
        const auto dash = name.rfind('-');
        if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return {};
        int32_t p = 0;
        const char* first = name.data() + dash + 1;
        const char* last = name.data() + name.size();
        auto [end, ec] = std::from_chars(first, last, p);
        if (ec != std::errc() || end != last || p < 0 || *first == '+') return {};
        return topic_partition{name.substr(0, dash), p};
    }
};

}  // namespace gregor

template <>
struct std::hash<gregor::topic_partition> {
    size_t operator()(const gregor::topic_partition& tp) const noexcept {
        return std::hash<std::string>()(tp.topic) * 31 + static_cast<size_t>(tp.partition);
    }
};
