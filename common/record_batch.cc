#include "common/record_batch.h"

#include <algorithm>
#include <string>

#include "common/crc32c.h"

namespace gregor::record_batch {
namespace {

using wire::byte_reader;

// The smallest record: one-byte length, attributes, timestamp delta, offset delta, key length,
// value length and header count.
constexpr size_t kMinRecordSize = 7;

// base + delta wrapping around like two's complement: both come from untrusted bytes, and a
// crafted base near INT64_MAX should decode to a meaningless number, not undefined behaviour.
int64_t wrapping_add(int64_t base, int64_t delta) noexcept {
    return static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(delta));
}

// Walks one record; on success `out` (when given) holds it. `expected_delta` is the record's
// index in the batch, which must equal its offsetDelta for a batch whose offsets are dense.
bool read_record(byte_reader& r, int32_t expected_delta, record* out) {
    int32_t length;
    if (!r.read_varint(length) || length < 0) return false;
    std::span<const std::byte> body;
    if (!r.read_bytes(static_cast<size_t>(length), body)) return false;
    byte_reader br(body);
    int8_t attributes;
    int64_t ts_delta;
    int32_t offset_delta;
    std::optional<std::span<const std::byte>> key, value;
    int32_t header_count;
    if (!br.read_be(attributes) || !br.read_varlong(ts_delta) || !br.read_varint(offset_delta) ||
        !br.read_varint_bytes(key) || !br.read_varint_bytes(value) ||
        !br.read_varint(header_count) || header_count < 0) {
        return false;
    }
    if (offset_delta != expected_delta) return false;
    // A header takes at least two bytes (two one-byte lengths), so a larger count is a lie;
    // checking it here keeps a corrupt count from becoming a huge allocation below.
    if (static_cast<size_t>(header_count) > br.remaining() / 2) return false;
    if (out) {
        out->attributes = attributes;
        out->timestamp = ts_delta;
        out->offset = offset_delta;
        if (key) out->key.emplace(wire::as_chars(*key));
        if (value) out->value.emplace(wire::as_chars(*value));
        out->headers.reserve(static_cast<size_t>(header_count));
    }
    for (int32_t h = 0; h < header_count; ++h) {
        std::optional<std::span<const std::byte>> hk, hv;
        if (!br.read_varint_bytes(hk) || !hk || !br.read_varint_bytes(hv)) return false;
        if (out) {
            record_header rh{std::string(wire::as_chars(*hk)), std::nullopt};
            if (hv) rh.value.emplace(wire::as_chars(*hv));
            out->headers.push_back(std::move(rh));
        }
    }
    return br.remaining() == 0;
}

// Walks every record of an uncompressed batch whose header is already checked.
status walk_records(std::span<const std::byte> batch, std::vector<record>* out) {
    batch_view v(batch);
    const int32_t count = v.record_count();
    if (count < 0) {
        return {errc::invalid_record, "record count " + std::to_string(count) + " is negative"};
    }
    byte_reader r(batch.subspan(kHeaderSize));
    // The count is untrusted (decode_records does not check the CRC): reserve no more records
    // than the bytes could hold, at kMinRecordSize each.
    if (out) out->reserve(std::min(static_cast<size_t>(count), r.remaining() / kMinRecordSize));
    // With LogAppendTime the broker's time, kept in maxTimestamp, is every record's timestamp
    // (as Kafka's DefaultRecord.readFrom); the per-record deltas still hold the create time.
    const bool log_append_time = v.log_append_time();
    for (int32_t i = 0; i < count; ++i) {
        record rec;
        if (!read_record(r, i, out ? &rec : nullptr)) {
            return {errc::invalid_record,
                    "record " + std::to_string(i) + " of " + std::to_string(count) +
                        " is malformed or its offset delta is not " + std::to_string(i)};
        }
        if (out) {
            rec.offset = wrapping_add(v.base_offset(), rec.offset);
            rec.timestamp = log_append_time ? v.max_timestamp()
                                            : wrapping_add(v.base_timestamp(), rec.timestamp);
            out->push_back(std::move(rec));
        }
    }
    if (r.remaining() != 0) {
        return {errc::invalid_record, std::to_string(r.remaining()) +
                                          " bytes follow the last record of the batch"};
    }
    return {};
}

}  // namespace

const char* compression_name(compression c) noexcept {
    switch (c) {
    case compression::none: return "none";
    case compression::gzip: return "gzip";
    case compression::snappy: return "snappy";
    case compression::lz4: return "lz4";
    case compression::zstd: return "zstd";
    }
    return "unknown";
}

bool batch_view::crc_valid() const noexcept {
    return crc32c::value(b_.subspan(kAttributesPos, size_bytes() - kAttributesPos)) == crc();
}

frame next_frame(std::span<const std::byte> buf) noexcept {
    if (buf.size() < kLogOverhead) return {frame::kind::incomplete};
    const auto length = wire::load_be<int32_t>(buf.data() + kBatchLengthPos);
    if (length < static_cast<int32_t>(kHeaderSize - kLogOverhead)) return {frame::kind::corrupt};
    if (buf.size() <= kMagicPos) return {frame::kind::incomplete};
    if (wire::load_be<int8_t>(buf.data() + kMagicPos) != kMagic) return {frame::kind::corrupt};
    const size_t size = kLogOverhead + static_cast<size_t>(length);
    if (buf.size() < size) return {frame::kind::incomplete, size};
    return {frame::kind::batch, size};
}

status validate(std::span<const std::byte> batch, size_t max_batch_bytes) {
    const frame f = next_frame(batch);
    if (f.what != frame::kind::batch || f.size != batch.size()) {
        if (batch.size() > kMagicPos &&
            wire::load_be<int8_t>(batch.data() + kMagicPos) != kMagic) {
            return {errc::unsupported_for_message_format,
                    "batch magic is " +
                        std::to_string(wire::load_be<int8_t>(batch.data() + kMagicPos)) +
                        "; only magic 2 (RecordBatch v2) is supported"};
        }
        return {errc::corrupt_message, "batch length field does not match the " +
                                           std::to_string(batch.size()) + " bytes received"};
    }
    if (batch.size() > max_batch_bytes) {
        return {errc::message_too_large, "batch of " + std::to_string(batch.size()) +
                                             " bytes is larger than message.max.bytes (" +
                                             std::to_string(max_batch_bytes) + ")"};
    }
    batch_view v(batch);
    if (!v.crc_valid()) return {errc::corrupt_message, "batch CRC32C does not match its bytes"};
    if (v.record_count() <= 0 || v.last_offset_delta() != v.record_count() - 1) {
        return {errc::invalid_record, "record count " + std::to_string(v.record_count()) +
                                          " does not match lastOffsetDelta " +
                                          std::to_string(v.last_offset_delta())};
    }
    if (v.compression_type() != compression::none) {
        if (static_cast<int>(v.compression_type()) > static_cast<int>(compression::zstd)) {
            return {errc::corrupt_message, "unknown compression codec in batch attributes"};
        }
        return {};  // records are opaque to the broker when compressed
    }
    return walk_records(batch, nullptr);
}

void set_base_offset(std::span<std::byte> batch, int64_t base_offset) noexcept {
    wire::store_be<int64_t>(batch.data() + kBaseOffsetPos, base_offset);
}

void set_leader_epoch(std::span<std::byte> batch, int32_t leader_epoch) noexcept {
    wire::store_be<int32_t>(batch.data() + kLeaderEpochPos, leader_epoch);
}

result<std::vector<record>> decode_records(std::span<const std::byte> batch) {
    const frame f = next_frame(batch);
    if (f.what != frame::kind::batch) return status(errc::corrupt_message);
    batch = batch.first(f.size);
    batch_view v(batch);
    if (v.compression_type() != compression::none) {
        return status(errc::unsupported_for_message_format,
                      std::string("records compressed with ") +
                          compression_name(v.compression_type()) + " cannot be decoded");
    }
    std::vector<record> out;
    status s = walk_records(batch, &out);
    if (!s.ok()) return s;
    return out;
}

batch_builder::batch_builder(batch_builder_options opts) : opts_(opts) {}

void batch_builder::add(int64_t timestamp, std::optional<std::string_view> key,
                        std::optional<std::string_view> value,
                        const std::vector<record_header>& headers) {
    if (count_ == 0) {
        base_timestamp_ = timestamp;
        max_timestamp_ = timestamp;
    }
    max_timestamp_ = std::max(max_timestamp_, timestamp);
    std::vector<std::byte> body;
    wire::byte_writer w(body);
    w.write_be<int8_t>(0);
    w.write_varlong(timestamp - base_timestamp_);
    w.write_varint(count_);
    auto opt_bytes = [](const std::optional<std::string_view>& s) {
        return s ? std::optional(wire::as_bytes(*s)) : std::nullopt;
    };
    w.write_varint_bytes(opt_bytes(key));
    w.write_varint_bytes(opt_bytes(value));
    w.write_varint(static_cast<int32_t>(headers.size()));
    for (const auto& h : headers) {
        w.write_varint_bytes(wire::as_bytes(h.key));
        w.write_varint_bytes(h.value ? std::optional(wire::as_bytes(*h.value)) : std::nullopt);
    }
    wire::byte_writer out(records_);
    out.write_varint(static_cast<int32_t>(body.size()));
    out.write_bytes(body);
    ++count_;
}

std::vector<std::byte> batch_builder::build() {
    std::vector<std::byte> b;
    b.reserve(kHeaderSize + records_.size());
    wire::byte_writer w(b);
    w.write_be<int64_t>(0);
    w.write_be<int32_t>(static_cast<int32_t>(kHeaderSize - kLogOverhead + records_.size()));
    w.write_be<int32_t>(opts_.leader_epoch);
    w.write_be<int8_t>(kMagic);
    w.write_be<uint32_t>(0);  // CRC, filled below
    w.write_be<int16_t>(0);   // attributes: uncompressed, CreateTime
    w.write_be<int32_t>(count_ - 1);
    w.write_be<int64_t>(base_timestamp_);
    w.write_be<int64_t>(max_timestamp_);
    w.write_be<int64_t>(opts_.producer_id);
    w.write_be<int16_t>(opts_.producer_epoch);
    w.write_be<int32_t>(opts_.base_sequence);
    w.write_be<int32_t>(count_);
    w.write_bytes(records_);
    const uint32_t crc = crc32c::value(std::span(b).subspan(kAttributesPos));
    wire::store_be<uint32_t>(b.data() + kCrcPos, crc);
    records_.clear();
    count_ = 0;
    return b;
}

}  // namespace gregor::record_batch
