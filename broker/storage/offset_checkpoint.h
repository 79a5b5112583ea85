// A per-log.dir file mapping partitions to an offset, in the text format of Kafka's
// OffsetCheckpointFile so operators' tools and habits carry over:
//     0                      <- version
//     2                      <- number of entries
//     orders 0 1042          <- topic, partition, offset
//     orders 1 977
// Used for recovery-point-offset-checkpoint (and later replication-offset-checkpoint).
// Written atomically (temp file, fsync, rename, fsync of the directory). Pure functions:
// callers serialise writes to one path.
#pragma once

#include <filesystem>
#include <map>

#include "common/errc.h"
#include "common/topic_partition.h"

namespace gregor::storage {

using offset_map = std::map<topic_partition, int64_t>;

// A missing file reads as empty. Malformed content: corrupt_message naming the line.
result<offset_map> read_offset_checkpoint(const std::filesystem::path& path);
status write_offset_checkpoint(const std::filesystem::path& path, const offset_map& offsets);

}  // namespace gregor::storage
