// What the verifiable producer and consumer printed (admin-cli/gregor_verifiable_*.cc), read
// back from their JSON lines, and the checks the chaos tests make with it after a fault:
//   - every acknowledged value is in the final log at the partition and offset it was
//     acknowledged at (a replicated, acks=all write is never lost or overwritten);
//   - a consumer's offsets only ever go forwards in each partition (it never read a record
//     that later disappeared and had to be reset);
//   - what a consumer read while the fault went on is what the final log holds at that place
//     (consumers only see records that stay).
// A check returns one message per problem (at most `limit`, then a count of the rest), each
// naming the value, the partition and the offset. Plain values: single-threaded use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gregor::chaos {

struct acknowledgement {
    std::string value;
    int32_t partition = -1;
    int64_t offset = -1;
    int64_t timestamp = 0;  // when the producer heard of it, ms since the epoch
};

struct consumed_record {
    int32_t partition = -1;
    int64_t offset = -1;
    std::optional<std::string> value;
    int64_t timestamp = 0;  // when the consumer printed it
};

// The producer's lines, fed one at a time as they come.
class producer_history {
public:
    void add(const std::string& line);
    // Feeds lines[fed..] and remembers how far it got, for a growing list of lines.
    void catch_up(const std::vector<std::string>& lines);

    const std::vector<acknowledgement>& acks() const noexcept { return acks_; }
    int64_t send_errors() const noexcept { return send_errors_; }
    // "3 x class ...NotEnoughReplicasException, ..." for failure messages.
    std::string error_summary() const;
    bool shut_down() const noexcept { return shut_down_; }
    // Lines that are no JSON event of the producer's.
    const std::vector<std::string>& unparsed() const noexcept { return unparsed_; }

private:
    std::vector<acknowledgement> acks_;
    int64_t send_errors_ = 0;
    std::map<std::string, int64_t> errors_;
    bool shut_down_ = false;
    std::vector<std::string> unparsed_;
    size_t fed_ = 0;
};

// The consumer's lines (it must run with --verbose, which prints a line per record).
class consumer_history {
public:
    void add(const std::string& line);
    void catch_up(const std::vector<std::string>& lines);

    const std::vector<consumed_record>& records() const noexcept { return records_; }
    // Per partition, the offset after the highest one read (absent: nothing read there).
    const std::map<int32_t, int64_t>& next_offsets() const noexcept { return next_; }
    bool shut_down() const noexcept { return shut_down_; }
    const std::vector<std::string>& unparsed() const noexcept { return unparsed_; }

private:
    std::vector<consumed_record> records_;
    std::map<int32_t, int64_t> next_;
    bool shut_down_ = false;
    std::vector<std::string> unparsed_;
    size_t fed_ = 0;
};

// A partition's records as a complete read saw them: offset -> value.
using partition_contents = std::map<int64_t, std::optional<std::string>>;
using log_contents = std::map<int32_t, partition_contents>;
log_contents contents_of(const consumer_history& read);

std::vector<std::string> missing_acknowledgements(const std::string& topic, const std::vector<acknowledgement>& acks,
                                                  const log_contents& final_log, size_t limit = 20);
std::vector<std::string> offsets_going_backwards(const std::string& topic, const consumer_history& read,
                                                 size_t limit = 20);
std::vector<std::string> records_not_in_log(const std::string& topic, const consumer_history& read,
                                            const log_contents& final_log, size_t limit = 20);

// The messages one per line, for a gtest failure.
std::string lines_of(const std::vector<std::string>& messages);

}  // namespace gregor::chaos
