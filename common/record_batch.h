// Kafka RecordBatch v2 (magic 2): the one codec for the broker, the client and the tools.
// The byte layout is written out in docs/log-format.md; the constants below are its single
// source in code. A batch is used as its exact bytes: batch_view reads header fields in place,
// set_base_offset / set_leader_epoch rewrite the two fields that sit outside the CRC, and
// records are only decoded for tools and clients. Pure functions over caller-owned bytes:
// safe from any thread; a view is valid while the bytes it points at are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/errc.h"
#include "common/wire.h"

namespace gregor::record_batch {

// Field positions within the 61-byte header.
inline constexpr size_t kBaseOffsetPos = 0;            // int64
inline constexpr size_t kBatchLengthPos = 8;           // int32: bytes after this field
inline constexpr size_t kLeaderEpochPos = 12;          // int32 partitionLeaderEpoch
inline constexpr size_t kMagicPos = 16;                // int8, always 2
inline constexpr size_t kCrcPos = 17;                  // uint32 CRC32C of [kAttributesPos, end)
inline constexpr size_t kAttributesPos = 21;           // int16
inline constexpr size_t kLastOffsetDeltaPos = 23;      // int32
inline constexpr size_t kBaseTimestampPos = 27;        // int64
inline constexpr size_t kMaxTimestampPos = 35;         // int64
inline constexpr size_t kProducerIdPos = 43;           // int64
inline constexpr size_t kProducerEpochPos = 51;        // int16
inline constexpr size_t kBaseSequencePos = 53;         // int32
inline constexpr size_t kRecordCountPos = 57;          // int32
inline constexpr size_t kHeaderSize = 61;
// baseOffset and batchLength precede the length-counted part of the batch.
inline constexpr size_t kLogOverhead = 12;
inline constexpr int8_t kMagic = 2;

// Attribute bits.
inline constexpr int16_t kCompressionMask = 0x07;  // 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
inline constexpr int16_t kTimestampTypeBit = 0x08; // set: LogAppendTime
inline constexpr int16_t kTransactionalBit = 0x10;
inline constexpr int16_t kControlBit = 0x20;

enum class compression : int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
const char* compression_name(compression c) noexcept;

// Reads header fields of a batch in place. REQUIRES: bytes.size() >= kHeaderSize.
class batch_view {
public:
    explicit batch_view(std::span<const std::byte> bytes) noexcept : b_(bytes) {}

    int64_t base_offset() const noexcept { return get<int64_t>(kBaseOffsetPos); }
    int32_t batch_length() const noexcept { return get<int32_t>(kBatchLengthPos); }
    int32_t leader_epoch() const noexcept { return get<int32_t>(kLeaderEpochPos); }
    int8_t magic() const noexcept { return get<int8_t>(kMagicPos); }
    uint32_t crc() const noexcept { return get<uint32_t>(kCrcPos); }
    int16_t attributes() const noexcept { return get<int16_t>(kAttributesPos); }
    int32_t last_offset_delta() const noexcept { return get<int32_t>(kLastOffsetDeltaPos); }
    int64_t base_timestamp() const noexcept { return get<int64_t>(kBaseTimestampPos); }
    int64_t max_timestamp() const noexcept { return get<int64_t>(kMaxTimestampPos); }
    int64_t producer_id() const noexcept { return get<int64_t>(kProducerIdPos); }
    int16_t producer_epoch() const noexcept { return get<int16_t>(kProducerEpochPos); }
    int32_t base_sequence() const noexcept { return get<int32_t>(kBaseSequencePos); }
    int32_t record_count() const noexcept { return get<int32_t>(kRecordCountPos); }

    int64_t last_offset() const noexcept { return base_offset() + last_offset_delta(); }
    // Total bytes of the batch including baseOffset and batchLength.
    size_t size_bytes() const noexcept { return kLogOverhead + static_cast<uint32_t>(batch_length()); }
    compression compression_type() const noexcept {
        return static_cast<compression>(attributes() & kCompressionMask);
    }
    bool log_append_time() const noexcept { return attributes() & kTimestampTypeBit; }
    bool is_transactional() const noexcept { return attributes() & kTransactionalBit; }
    bool is_control() const noexcept { return attributes() & kControlBit; }
    // Recomputes the CRC over the bytes and compares it with the stored one.
    bool crc_valid() const noexcept;
    std::span<const std::byte> bytes() const noexcept { return b_; }

private:
    template <typename T>
    T get(size_t pos) const noexcept { return wire::load_be<T>(b_.data() + pos); }
    std::span<const std::byte> b_;
};

// What sits at the front of a buffer of concatenated batches.
struct frame {
    enum class kind {
        batch,       // a complete batch of `size` bytes whose header is sane (CRC not checked)
        incomplete,  // fewer bytes than the header or the batch length says: a torn tail
        corrupt,     // a header no writer produces (bad length or magic)
    };
    kind what;
    size_t size = 0;
};
frame next_frame(std::span<const std::byte> buf) noexcept;

// Full validation of one batch that a producer sent, before it is appended: exact size,
// magic, CRC, lastOffsetDelta + 1 == record count, and, for an uncompressed batch, each record
// well-formed with offset deltas 0..n-1 filling the batch exactly. `max_batch_bytes` is
// message.max.bytes. Errors: corrupt_message, invalid_record, message_too_large,
// unsupported_for_message_format.
status validate(std::span<const std::byte> batch, size_t max_batch_bytes);

// Rewrites the fields a broker assigns. Neither is covered by the CRC.
void set_base_offset(std::span<std::byte> batch, int64_t base_offset) noexcept;
void set_leader_epoch(std::span<std::byte> batch, int32_t leader_epoch) noexcept;

struct record_header {
    std::string key;
    std::optional<std::string> value;
    bool operator==(const record_header&) const = default;
};

// One record, decoded to owned values (tools and clients; never the broker's hot path).
struct record {
    int64_t offset = 0;
    // baseTimestamp + delta (CreateTime), or the batch's maxTimestamp when the batch has
    // the LogAppendTime bit, as Kafka reports it.
    int64_t timestamp = 0;
    int8_t attributes = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<record_header> headers;
};

// Decodes the records of an uncompressed batch. Errors: invalid_record, or
// unsupported_for_message_format for a compressed batch (no codecs are linked yet).
result<std::vector<record>> decode_records(std::span<const std::byte> batch);

// The producer's side of the codec: builds an uncompressed batch with baseOffset 0,
// timestamps relative to the first record, and a valid CRC.
struct batch_builder_options {
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    int32_t leader_epoch = -1;
};

class batch_builder {
public:
    explicit batch_builder(batch_builder_options opts = {});

    void add(int64_t timestamp, std::optional<std::string_view> key,
             std::optional<std::string_view> value, const std::vector<record_header>& headers = {});
    size_t record_count() const noexcept { return count_; }
    // Bytes of the batch if built now.
    size_t size_bytes() const noexcept { return kHeaderSize + records_.size(); }
    // REQUIRES: at least one record was added. Leaves the builder empty for reuse.
    std::vector<std::byte> build();

private:
    batch_builder_options opts_;
    std::vector<std::byte> records_;
    int32_t count_ = 0;
    int64_t base_timestamp_ = 0;
    int64_t max_timestamp_ = 0;
};

}  // namespace gregor::record_batch
