// The replicas of a partition as their segment files hold them, for checking after a fault
// that every replica has the same log below the high watermark. A replica's log is read from
// `<log.dirs>/<topic>-<partition>/`: the `.log` files named after their base offset, in order,
// batch by batch (common/record_batch.h framing, docs/log-format.md). Only what identifies a
// batch is kept: its offsets, its CRC and the leader epoch that wrote it. Followers store the
// leader's bytes unchanged, so equal replicas have equal batches, CRCs included.
// Reading is safe while the broker runs: a batch still being written at the tail reads as torn
// and ends the list. Pure functions over files: any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace gregor::chaos {

struct batch_summary {
    int64_t base_offset = 0;
    int64_t last_offset = 0;
    uint32_t crc = 0;
    int32_t leader_epoch = -1;
    bool crc_valid = true;  // the stored CRC matches the bytes

    bool operator==(const batch_summary&) const = default;
};

struct replica_log {
    int32_t broker_id = -1;
    std::vector<batch_summary> batches;  // in offset order
    // What ended the reading before the end of the last segment other than a torn tail (a
    // file that cannot be read, a corrupt header); empty when nothing did.
    std::string problem;

    // The offset after the last batch; 0 for an empty log.
    int64_t end_offset() const;
    // The batch holding `offset`, or nullptr.
    const batch_summary* batch_at(int64_t offset) const;
};

// Reads one replica's partition directory (an absent directory is an empty log).
replica_log read_replica_log(int32_t broker_id, const std::filesystem::path& partition_dir);

// A batch as the comparison's messages show it: "[5..9] crc 1234 epoch 2".
std::string describe(const batch_summary& b);

// Empty when every replica has exactly the batches of the first (the leader's) below `upto`
// (the high watermark): same base and last offsets, CRC and leader epoch, and the first covers
// every offset from its first batch up to `upto`. Otherwise one message per difference found,
// each naming `partition` (for the message), the offset, the brokers and what each holds there;
// the first difference per replica only, since everything after it differs too.
std::vector<std::string> compare_replicas(const std::string& partition, const std::vector<replica_log>& replicas,
                                          int64_t upto);

}  // namespace gregor::chaos
