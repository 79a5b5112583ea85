#include "broker/storage/leader_epoch_cache.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

#include "broker/storage/file_handle.h"
#include "common/logger.h"
#include "common/wire.h"

namespace gregor::storage {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("storage");
    return l;
}

template <typename T>
bool parse_number(const std::string& s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::string describe(const std::vector<epoch_entry>& entries) {
    std::string out;
    for (const auto& e : entries) {
        out += (out.empty() ? "" : ", ") + std::to_string(e.epoch) + "@" + std::to_string(e.start_offset);
    }
    return "[" + out + "]";
}

}  // namespace

result<leader_epoch_cache> leader_epoch_cache::load(std::filesystem::path path) {
    leader_epoch_cache cache(std::move(path));
    const auto& p = cache.path_;
    std::ifstream in(p);
    if (!in) {
        std::error_code ec;
        if (!std::filesystem::exists(p, ec) && !ec) return cache;
        return status(errc::kafka_storage_error, "cannot read " + p.string());
    }
    cache.file_exists_ = true;
    auto bad = [&](size_t line, const std::string& why) {
        return status(errc::corrupt_message, p.string() + " line " + std::to_string(line) + ": " + why);
    };
    std::string line;
    if (!std::getline(in, line) || line != "0") return bad(1, "expected version 0");
    size_t count = 0;
    if (!std::getline(in, line) || !parse_number(line, count)) return bad(2, "expected the entry count");
    for (size_t i = 0; i < count; ++i) {
        const size_t n = i + 3;
        if (!std::getline(in, line)) {
            return bad(n, "missing entry: the file says " + std::to_string(count) + " entries");
        }
        std::istringstream fields(line);
        std::string epoch_text, offset_text, extra;
        epoch_entry e;
        if (!(fields >> epoch_text >> offset_text) || (fields >> extra) ||
            !parse_number(epoch_text, e.epoch) || !parse_number(offset_text, e.start_offset)) {
            return bad(n, "expected '<epoch> <start offset>'");
        }
        if (e.epoch < 0 || e.start_offset < 0) return bad(n, "negative epoch or start offset");
        // As Kafka loads it: an entry out of order drops the ones it conflicts with.
        cache.assign_in_memory(e);
    }
    if (std::getline(in, line)) {
        return bad(count + 3, "more entries than the count of " + std::to_string(count));
    }
    return cache;
}

std::optional<int32_t> leader_epoch_cache::latest_epoch() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.back().epoch;
}

bool leader_epoch_cache::assign_in_memory(const epoch_entry& e) {
    if (!entries_.empty() && entries_.back().epoch == e.epoch &&
        e.start_offset >= entries_.back().start_offset) {
        return false;
    }
    std::vector<epoch_entry> removed;
    while (!entries_.empty() &&
           (entries_.back().epoch >= e.epoch || entries_.back().start_offset >= e.start_offset)) {
        removed.push_back(entries_.back());
        entries_.pop_back();
    }
    std::reverse(removed.begin(), removed.end());
    // One entry dropped that began where the new one does is a leader change before anything
    // was appended under it; anything more means records of an overridden epoch were here.
    if (removed.size() > 1 || (removed.size() == 1 && removed[0].start_offset != e.start_offset)) {
        logger()->warn("{}: epoch {} at offset {} dropped the conflicting entries {}",
                       path_.string(), e.epoch, e.start_offset, describe(removed));
    }
    entries_.push_back(e);
    return true;
}

status leader_epoch_cache::assign(int32_t epoch, int64_t start_offset) {
    const epoch_entry e{epoch, start_offset};
    return assign(std::span(&e, 1));
}

status leader_epoch_cache::assign(std::span<const epoch_entry> entries) {
    bool changed = false;
    for (const auto& e : entries) {
        if (e.epoch < 0 || e.start_offset < 0) {
            return {errc::invalid_request, "leader epoch " + std::to_string(e.epoch) + " at offset " +
                                               std::to_string(e.start_offset) +
                                               ": neither may be negative"};
        }
    }
    for (const auto& e : entries) changed = assign_in_memory(e) || changed;
    return changed ? write() : status{};
}

epoch_end leader_epoch_cache::end_offset_for(int32_t requested_epoch, int64_t log_end_offset) const {
    if (requested_epoch == kUndefinedEpoch) return {};
    if (latest_epoch() == requested_epoch) return {requested_epoch, log_end_offset};
    // The first entry above the requested epoch, and the one before it (the floor), if any.
    auto higher = std::find_if(entries_.begin(), entries_.end(),
                               [&](const epoch_entry& e) { return e.epoch > requested_epoch; });
    if (higher == entries_.end()) return {};
    if (higher == entries_.begin()) return {requested_epoch, higher->start_offset};
    return {std::prev(higher)->epoch, higher->start_offset};
}

status leader_epoch_cache::truncate_from_end(int64_t end_offset) {
    const size_t before = entries_.size();
    while (!entries_.empty() && entries_.back().start_offset >= end_offset) entries_.pop_back();
    if (entries_.size() == before) return {};
    return write();
}

status leader_epoch_cache::truncate_from_start(int64_t start_offset) {
    auto first_after = std::find_if(entries_.begin(), entries_.end(), [&](const epoch_entry& e) {
        return e.start_offset > start_offset;
    });
    if (first_after == entries_.begin()) return {};
    auto last_before = std::prev(first_after);
    if (last_before == entries_.begin() && last_before->start_offset == start_offset) return {};
    last_before->start_offset = start_offset;
    entries_.erase(entries_.begin(), last_before);
    return write();
}

status leader_epoch_cache::clear() {
    if (entries_.empty()) return {};
    entries_.clear();
    return write();
}

status leader_epoch_cache::write() {
    std::string text = "0\n" + std::to_string(entries_.size()) + "\n";
    for (const auto& e : entries_) {
        text += std::to_string(e.epoch) + " " + std::to_string(e.start_offset) + "\n";
    }
    if (status s = write_file_atomically(path_, wire::as_bytes(text)); !s.ok()) return s;
    file_exists_ = true;
    return {};
}

}  // namespace gregor::storage
