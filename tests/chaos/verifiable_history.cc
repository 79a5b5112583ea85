#include "tests/chaos/verifiable_history.h"

#include <nlohmann/json.hpp>

namespace gregor::chaos {
namespace {

using json = nlohmann::json;

std::optional<json> parse(const std::string& line) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string()) return std::nullopt;
    return j;
}

std::string quoted(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; }

std::string place(const std::string& topic, int32_t partition, int64_t offset) {
    return topic + "-" + std::to_string(partition) + "/" + std::to_string(offset);
}

// Collects at most `limit` messages and counts the rest.
class problems {
public:
    explicit problems(size_t limit) : limit_(limit) {}
    void add(std::string message) {
        if (out_.size() < limit_) {
            out_.push_back(std::move(message));
        } else {
            ++more_;
        }
    }
    std::vector<std::string> take() {
        if (more_ > 0) out_.push_back("... and " + std::to_string(more_) + " more");
        return std::move(out_);
    }

private:
    size_t limit_;
    size_t more_ = 0;
    std::vector<std::string> out_;
};

}  // namespace

void producer_history::add(const std::string& line) {
    auto j = parse(line);
    if (!j) {
        unparsed_.push_back(line);
        return;
    }
    const std::string name = (*j)["name"];
    try {
        if (name == "producer_send_success") {
            acks_.push_back({(*j)["value"].get<std::string>(), (*j)["partition"].get<int32_t>(),
                             (*j)["offset"].get<int64_t>(), (*j)["timestamp"].get<int64_t>()});
        } else if (name == "producer_send_error") {
            ++send_errors_;
            ++errors_[j->value("exception", std::string("?"))];
        } else if (name == "shutdown_complete") {
            shut_down_ = true;
        }
    } catch (const json::exception&) {
        unparsed_.push_back(line);
    }
}

void producer_history::catch_up(const std::vector<std::string>& lines) {
    for (; fed_ < lines.size(); ++fed_) add(lines[fed_]);
}

std::string producer_history::error_summary() const {
    std::string out;
    for (const auto& [exception, n] : errors_) out += (out.empty() ? "" : ", ") + std::to_string(n) + " x " + exception;
    return out.empty() ? "none" : out;
}

void consumer_history::add(const std::string& line) {
    auto j = parse(line);
    if (!j) {
        unparsed_.push_back(line);
        return;
    }
    const std::string name = (*j)["name"];
    try {
        if (name == "record_data") {
            consumed_record r;
            r.partition = (*j)["partition"].get<int32_t>();
            r.offset = (*j)["offset"].get<int64_t>();
            if (!(*j)["value"].is_null()) r.value = (*j)["value"].get<std::string>();
            r.timestamp = (*j)["timestamp"].get<int64_t>();
            auto& next = next_[r.partition];
            next = std::max(next, r.offset + 1);
            records_.push_back(std::move(r));
        } else if (name == "shutdown_complete") {
            shut_down_ = true;
        }
    } catch (const json::exception&) {
        unparsed_.push_back(line);
    }
}

void consumer_history::catch_up(const std::vector<std::string>& lines) {
    for (; fed_ < lines.size(); ++fed_) add(lines[fed_]);
}

log_contents contents_of(const consumer_history& read) {
    log_contents out;
    for (const auto& r : read.records()) out[r.partition][r.offset] = r.value;
    return out;
}

std::vector<std::string> missing_acknowledgements(const std::string& topic, const std::vector<acknowledgement>& acks,
                                                  const log_contents& final_log, size_t limit) {
    problems found(limit);
    for (const auto& a : acks) {
        auto p = final_log.find(a.partition);
        const partition_contents* records = p == final_log.end() ? nullptr : &p->second;
        auto r = records == nullptr ? partition_contents::const_iterator{} : records->find(a.offset);
        if (records == nullptr || r == records->end()) {
            const std::string end = records == nullptr || records->empty()
                                        ? "nothing was read from the partition"
                                        : "the log read back ends at " + std::to_string(records->rbegin()->first + 1);
            found.add("acknowledged value \"" + a.value + "\" at " + place(topic, a.partition, a.offset) +
                      " missing (" + end + ")");
        } else if (r->second != a.value) {
            found.add("acknowledged value \"" + a.value + "\" at " + place(topic, a.partition, a.offset) +
                      ", but the log holds " + quoted(r->second) + " there");
        }
    }
    return found.take();
}

std::vector<std::string> offsets_going_backwards(const std::string& topic, const consumer_history& read,
                                                 size_t limit) {
    problems found(limit);
    std::map<int32_t, int64_t> last;
    for (const auto& r : read.records()) {
        auto [it, first] = last.try_emplace(r.partition, r.offset);
        if (first) continue;
        if (r.offset <= it->second) {
            found.add("the consumer's offsets went backwards in " + topic + "-" + std::to_string(r.partition) +
                      ": offset " + std::to_string(r.offset) + " (value " + quoted(r.value) + ") came after offset " +
                      std::to_string(it->second));
        }
        it->second = r.offset;
    }
    return found.take();
}

std::vector<std::string> records_not_in_log(const std::string& topic, const consumer_history& read,
                                            const log_contents& final_log, size_t limit) {
    problems found(limit);
    for (const auto& r : read.records()) {
        auto p = final_log.find(r.partition);
        if (p == final_log.end() || !p->second.contains(r.offset)) {
            found.add("a consumer read value " + quoted(r.value) + " at " + place(topic, r.partition, r.offset) +
                      " during the fault, and the final log has no record there");
        } else if (p->second.at(r.offset) != r.value) {
            found.add("a consumer read value " + quoted(r.value) + " at " + place(topic, r.partition, r.offset) +
                      " during the fault, and the final log holds " + quoted(p->second.at(r.offset)) + " there");
        }
    }
    return found.take();
}

std::string lines_of(const std::vector<std::string>& messages) {
    std::string out;
    for (const auto& m : messages) out += m + "\n";
    return out;
}

}  // namespace gregor::chaos
