#include "tests/chaos/replica_logs.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>

#include "common/record_batch.h"

namespace gregor::chaos {

namespace fs = std::filesystem;
namespace rb = gregor::record_batch;

namespace {

// A segment file's base offset from its name ("00000000000000000100.log" -> 100).
std::optional<int64_t> segment_base(const fs::path& file) {
    if (file.extension() != ".log") return std::nullopt;
    const std::string stem = file.stem().string();
    if (stem.size() != 20) return std::nullopt;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), v);
    if (ec != std::errc() || end != stem.data() + stem.size()) return std::nullopt;
    return v;
}

std::vector<std::byte> read_all(const fs::path& file, bool& ok) {
    std::ifstream in(file, std::ios::binary);
    ok = static_cast<bool>(in);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::transform(chars.begin(), chars.end(), out.begin(), [](char c) { return static_cast<std::byte>(c); });
    return out;
}

std::string what_is_at(const replica_log& r, int64_t offset) {
    if (const auto* b = r.batch_at(offset)) return "batch " + describe(*b);
    return "nothing there (its log ends at " + std::to_string(r.end_offset()) + ")";
}

}  // namespace

int64_t replica_log::end_offset() const { return batches.empty() ? 0 : batches.back().last_offset + 1; }

const batch_summary* replica_log::batch_at(int64_t offset) const {
    auto it = std::upper_bound(batches.begin(), batches.end(), offset,
                               [](int64_t o, const batch_summary& b) { return o < b.base_offset; });
    if (it == batches.begin()) return nullptr;
    --it;
    return offset <= it->last_offset ? &*it : nullptr;
}

replica_log read_replica_log(int32_t broker_id, const fs::path& partition_dir) {
    replica_log out;
    out.broker_id = broker_id;
    std::error_code ec;
    if (!fs::is_directory(partition_dir, ec)) return out;
    std::vector<std::pair<int64_t, fs::path>> segments;
    for (const auto& entry : fs::directory_iterator(partition_dir, ec)) {
        if (auto base = segment_base(entry.path())) segments.emplace_back(*base, entry.path());
    }
    std::sort(segments.begin(), segments.end());
    for (size_t i = 0; i < segments.size(); ++i) {
        const auto& [base, file] = segments[i];
        bool readable = false;
        const auto bytes = read_all(file, readable);
        if (!readable) {
            out.problem = "cannot read " + file.string();
            return out;
        }
        std::span<const std::byte> rest(bytes);
        size_t position = 0;
        while (!rest.empty()) {
            const rb::frame f = rb::next_frame(rest);
            if (f.what == rb::frame::kind::incomplete) {
                // Only the last segment may still be growing; a torn tail anywhere else is damage.
                if (i + 1 < segments.size()) {
                    out.problem = file.filename().string() + " ends in a torn batch at byte " + std::to_string(position);
                }
                return out;
            }
            if (f.what == rb::frame::kind::corrupt) {
                out.problem = file.filename().string() + " has a corrupt batch header at byte " + std::to_string(position);
                return out;
            }
            const rb::batch_view v(rest.first(f.size));
            out.batches.push_back({v.base_offset(), v.last_offset(), v.crc(), v.leader_epoch(), v.crc_valid()});
            rest = rest.subspan(f.size);
            position += f.size;
        }
    }
    return out;
}

std::string describe(const batch_summary& b) {
    return "[" + std::to_string(b.base_offset) + ".." + std::to_string(b.last_offset) + "] crc " +
           std::to_string(b.crc) + (b.crc_valid ? "" : " (CRC INVALID)") + " epoch " + std::to_string(b.leader_epoch);
}

std::vector<std::string> compare_replicas(const std::string& partition, const std::vector<replica_log>& replicas,
                                          int64_t upto) {
    std::vector<std::string> problems;
    if (replicas.empty()) return problems;
    const replica_log& leader = replicas.front();
    const std::string prefix = "replica logs of " + partition + " differ at offset ";
    for (const auto& r : replicas) {
        if (!r.problem.empty()) problems.push_back("broker " + std::to_string(r.broker_id) + "'s log of " + partition +
                                                   " cannot be read whole: " + r.problem);
        for (const auto& b : r.batches) {
            if (b.base_offset < upto && !b.crc_valid) {
                problems.push_back("broker " + std::to_string(r.broker_id) + " holds a batch of " + partition +
                                   " whose CRC does not match its bytes: " + describe(b));
            }
        }
    }
    // The leader's log must cover every offset below the high watermark, without gaps.
    int64_t expected = leader.batches.empty() ? 0 : leader.batches.front().base_offset;
    for (const auto& b : leader.batches) {
        if (b.base_offset >= upto) break;
        if (b.base_offset != expected) {
            problems.push_back("broker " + std::to_string(leader.broker_id) + " (the leader) has a gap in " +
                               partition + ": offsets " + std::to_string(expected) + ".." +
                               std::to_string(b.base_offset - 1) + " are missing");
        }
        expected = b.last_offset + 1;
    }
    if (expected < upto) {
        problems.push_back("broker " + std::to_string(leader.broker_id) + " (the leader) holds " + partition +
                           " only up to offset " + std::to_string(expected) + ", below the high watermark " +
                           std::to_string(upto));
    }
    for (size_t i = 1; i < replicas.size(); ++i) {
        const replica_log& r = replicas[i];
        // Every offset below `upto` the leader holds, the replica must hold in the same batch.
        for (const auto& b : leader.batches) {
            if (b.base_offset >= upto) break;
            const batch_summary* mine = r.batch_at(b.base_offset);
            if (mine == nullptr || *mine != b) {
                problems.push_back(prefix + std::to_string(b.base_offset) + ": broker " +
                                   std::to_string(leader.broker_id) + " (the leader) has batch " + describe(b) +
                                   ", broker " + std::to_string(r.broker_id) + " has " + what_is_at(r, b.base_offset));
                break;
            }
        }
        // And nothing the leader lacks below the high watermark.
        for (const auto& b : r.batches) {
            if (b.base_offset >= upto) break;
            if (leader.batch_at(b.base_offset) == nullptr) {
                problems.push_back(prefix + std::to_string(b.base_offset) + ": broker " + std::to_string(r.broker_id) +
                                   " has batch " + describe(b) + ", broker " + std::to_string(leader.broker_id) +
                                   " (the leader) has " + what_is_at(leader, b.base_offset));
                break;
            }
        }
    }
    return problems;
}

}  // namespace gregor::chaos
