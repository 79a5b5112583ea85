// gregor-dump-log: prints what is inside a partition's segment files, modelled on Kafka's
// kafka-dump-log.sh so that operators read both the same way. A .log prints one line per batch
// (and, with --print-data-log, one per record); a .index or .timeindex one line per entry. The
// formats are described in docs/log-format.md.
// Read-only: files are opened O_RDONLY and never written, so it is safe to point at a live
// broker's directory (the active segment may then show a torn tail). A .log is read through a
// sliding buffer, so memory stays near one read chunk plus the largest batch however big the
// segment. Single-threaded.
// Exit status: 0 when every file was read and is sound; 1 when any file could not be read,
// had a batch failing its CRC or record decoding, a torn or corrupt tail, or an invalid index.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "broker/storage/file_handle.h"
#include "broker/storage/offset_index.h"
#include "broker/storage/time_index.h"
#include "common/record_batch.h"
#include "common/wire.h"

namespace {

using namespace gregor;
namespace rb = gregor::record_batch;
namespace fs = std::filesystem;

constexpr size_t kDefaultReadChunk = 8 << 20;

struct options {
    std::vector<std::string> files;
    bool print_data_log = false;
    size_t read_chunk_bytes = kDefaultReadChunk;
};

// The base offset a segment file is named after ("00000000000000000100.log" -> 100).
std::optional<int64_t> base_offset_from_name(const fs::path& file) {
    const std::string stem = file.stem().string();
    if (stem.empty() || stem.size() > 20) return std::nullopt;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), v);
    if (ec != std::errc() || end != stem.data() + stem.size() || v < 0) return std::nullopt;
    return v;
}

// Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from INT32_MAX to 0.
// REQUIRES: sequence >= 0. A negative increment only comes from a corrupt lastOffsetDelta;
// it is excluded from the wrap test, where it would overflow.
int32_t increment_sequence(int32_t sequence, int32_t increment) {
    if (increment >= 0 && sequence > INT32_MAX - increment) {
        return increment - (INT32_MAX - sequence) - 1;
    }
    return sequence + increment;
}

// Keys and values are printed as text, one record per line: control bytes (a newline in a
// value would split the record's line) and the backslash become escapes. Bytes >= 0x80 pass
// through so UTF-8 text stays readable.
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\\') {
            out += "\\\\";
        } else if (u < 0x20 || u == 0x7F) {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02X", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

const char* timestamp_type(const rb::batch_view& v) {
    return v.log_append_time() ? "LogAppendTime" : "CreateTime";
}

void print_batch_line(const rb::batch_view& v, uint64_t position, bool crc_ok) {
    const int32_t base_seq = v.base_sequence();
    const int32_t last_seq = base_seq < 0 ? -1 : increment_sequence(base_seq, v.last_offset_delta());
    std::cout << "baseOffset: " << v.base_offset() << " lastOffset: " << v.last_offset()
              << " count: " << v.record_count() << " baseSequence: " << base_seq
              << " lastSequence: " << last_seq << " producerId: " << v.producer_id()
              << " producerEpoch: " << v.producer_epoch()
              << " partitionLeaderEpoch: " << v.leader_epoch()
              << " isTransactional: " << (v.is_transactional() ? "true" : "false")
              << " isControl: " << (v.is_control() ? "true" : "false")
              << " position: " << position << ' ' << timestamp_type(v) << ": "
              << v.max_timestamp() << " size: " << v.size_bytes()
              << " magic: " << int(v.magic())
              << " compresscodec: " << rb::compression_name(v.compression_type())
              << " crc: " << v.crc() << " isvalid: " << (crc_ok ? "true" : "false") << '\n';
}

// Prints one line per record; false when the records could not be decoded.
bool print_records(const rb::batch_view& v) {
    if (v.compression_type() != rb::compression::none) {
        // No decompressor is linked; saying so is not a fault in the file.
        std::cout << "| records compressed with " << rb::compression_name(v.compression_type())
                  << " are not shown\n";
        return true;
    }
    auto recs = rb::decode_records(v.bytes());
    if (!recs) {
        std::cout << "| records could not be decoded: " << recs.error().message << '\n';
        return false;
    }
    const int32_t base_seq = v.base_sequence();
    for (const auto& r : *recs) {
        const auto delta = static_cast<int32_t>(r.offset - v.base_offset());
        std::cout << "| offset: " << r.offset << ' ' << timestamp_type(v) << ": " << r.timestamp
                  << " keySize: " << (r.key ? static_cast<int64_t>(r.key->size()) : -1)
                  << " valueSize: " << (r.value ? static_cast<int64_t>(r.value->size()) : -1)
                  << " sequence: " << (base_seq < 0 ? -1 : increment_sequence(base_seq, delta))
                  << " headerKeys: [";
        for (size_t i = 0; i < r.headers.size(); ++i) {
            std::cout << (i ? "," : "") << printable(r.headers[i].key);
        }
        std::cout << ']';
        // As kafka-dump-log: a null key or value is left out (its size above says -1).
        if (r.key) std::cout << " key: " << printable(*r.key);
        if (r.value) std::cout << " value: " << printable(*r.value);
        if (!r.headers.empty()) {
            std::cout << " headers: [";
            for (size_t i = 0; i < r.headers.size(); ++i) {
                const auto& h = r.headers[i];
                std::cout << (i ? "," : "") << printable(h.key) << ':'
                          << (h.value ? printable(*h.value) : std::string("null"));
            }
            std::cout << ']';
        }
        std::cout << '\n';
    }
    return true;
}

// Why the bytes at the front of `rest` (all that is left of the file) are no whole batch.
std::string why_not_a_batch(std::span<const std::byte> rest, const rb::frame& f) {
    if (rest.size() < rb::kLogOverhead) {
        return std::to_string(rest.size()) + " bytes are too few for a batch's offset and length";
    }
    const auto length = wire::load_be<int32_t>(rest.data() + rb::kBatchLengthPos);
    const int64_t min_length = rb::kHeaderSize - rb::kLogOverhead;
    if (length < min_length) {
        return "batch length " + std::to_string(length) + " is below the minimum of " +
               std::to_string(min_length);
    }
    if (f.what == rb::frame::kind::corrupt) {
        return "magic byte is " +
               std::to_string(wire::load_be<int8_t>(rest.data() + rb::kMagicPos)) +
               ", not 2";
    }
    return "the batch declares " + std::to_string(rb::kLogOverhead + static_cast<uint64_t>(length)) +
           " bytes but only " + std::to_string(rest.size()) +
           " remain (a torn write, or a corrupt length)";
}

// Walks a .log file batch by batch. Returns false if anything in it was unsound.
bool dump_log(const storage::file_handle& file, const options& opts) {
    auto size_or = file.size();
    if (!size_or) {
        std::cerr << "gregor-dump-log: " << size_or.error().message << '\n';
        return false;
    }
    const uint64_t file_size = *size_or;
    bool ok = true;

    // buf[begin, end) holds file bytes [buf_pos + begin, buf_pos + end); next_read is the
    // first file byte not yet read. Only the file size seen at the start is read, so a
    // segment that grows while we read gives a consistent snapshot.
    std::vector<std::byte> buf(std::max<size_t>(opts.read_chunk_bytes, 1));
    size_t begin = 0, end = 0;
    uint64_t buf_pos = 0, next_read = 0;

    for (;;) {
        const auto avail = std::span<const std::byte>(buf).subspan(begin, end - begin);
        const uint64_t position = buf_pos + begin;
        const rb::frame f = rb::next_frame(avail);
        if (f.what == rb::frame::kind::batch) {
            const rb::batch_view v(avail.first(f.size));
            const bool crc_ok = v.crc_valid();
            ok &= crc_ok;
            print_batch_line(v, position, crc_ok);
            if (opts.print_data_log) ok &= print_records(v);
            begin += f.size;
            continue;
        }
        const uint64_t unread = file_size - next_read;
        // A declared size past the end of the file is a torn tail however much we read; so
        // is running out of file. Either way stop, without allocating for a bogus length.
        const bool beyond_file = f.what == rb::frame::kind::incomplete && f.size > 0 &&
                                 f.size > avail.size() + unread;
        if (f.what == rb::frame::kind::incomplete && !beyond_file && unread > 0) {
            std::copy(buf.begin() + static_cast<ptrdiff_t>(begin),
                      buf.begin() + static_cast<ptrdiff_t>(end), buf.begin());
            buf_pos += begin;
            end -= begin;
            begin = 0;
            if (buf.size() < f.size) buf.resize(f.size);
            if (end == buf.size()) buf.resize(buf.size() * 2);  // header not yet whole
            const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size() - end, unread));
            auto n = file.read_at(next_read, std::span<std::byte>(buf).subspan(end, want));
            if (!n) {
                std::cerr << "gregor-dump-log: " << n.error().message << '\n';
                return false;
            }
            if (*n == 0) {
                std::cout << "File " << file.path().string() << " ended at " << next_read
                          << " bytes, before the " << file_size << " it had when opened\n";
                return false;
            }
            end += *n;
            next_read += *n;
            continue;
        }
        if (avail.empty() && f.what == rb::frame::kind::incomplete) break;  // clean end
        // Kafka's wording, then where and why.
        std::cout << "Found " << (file_size - position) << " invalid bytes at the end of "
                  << file.path().filename().string() << " at position " << position << ": "
                  << why_not_a_batch(avail, f) << '\n';
        return false;
    }
    return ok;
}

result<std::vector<std::byte>> read_whole(const storage::file_handle& file) {
    auto size = file.size();
    if (!size) return size.error();
    std::vector<std::byte> out(*size);
    auto n = file.read_at(0, out);
    if (!n) return n.error();
    out.resize(*n);
    return out;
}

void print_entry(const storage::offset_index::entry& e) {
    std::cout << "offset: " << e.offset << " position: " << e.position << '\n';
}

void print_entry(const storage::time_index::entry& e) {
    std::cout << "timestamp: " << e.timestamp << " offset: " << e.offset << '\n';
}

// Both index kinds dump alike: `decode(bytes)` checks the whole file, `raw_entry(at)` reads the
// entry at `at` as stored, without a check, for an index that fails them. `label` names the
// kind in the "is invalid" line.
template <typename Decode, typename RawEntry>
bool dump_index(const storage::file_handle& file, const char* label, size_t entry_size,
                Decode decode, RawEntry raw_entry) {
    auto bytes = read_whole(file);
    if (!bytes) {
        std::cerr << "gregor-dump-log: " << bytes.error().message << '\n';
        return false;
    }
    if (bytes->empty()) {
        std::cout << file.path().string() << " is empty.\n";
        return true;
    }
    auto idx = decode(*bytes);
    if (idx) {
        for (const auto& e : idx->entries()) print_entry(e);
        return true;
    }
    // Show the raw entries anyway: the broken one is what the reader is looking for.
    for (size_t at = 0; at + entry_size <= bytes->size(); at += entry_size) {
        print_entry(raw_entry(bytes->data() + at));
    }
    std::cout << label << " " << file.path().filename().string()
              << " is invalid: " << idx.error().message << '\n';
    return false;
}

bool dump_offset_index(const storage::file_handle& file, int64_t base_offset) {
    using storage::offset_index;
    return dump_index(
        file, "Index", offset_index::kEntrySize,
        [&](std::span<const std::byte> bytes) {
            // Without the segment at hand any position is plausible: the log-size check is off.
            return offset_index::decode(base_offset, bytes, UINT64_MAX);
        },
        [&](const std::byte* at) {
            return offset_index::entry{base_offset + wire::load_be<int32_t>(at),
                                       wire::load_be<uint32_t>(at + 4)};
        });
}

bool dump_time_index(const storage::file_handle& file, int64_t base_offset) {
    using storage::time_index;
    return dump_index(
        file, "Time index", time_index::kEntrySize,
        [&](std::span<const std::byte> bytes) {
            return time_index::decode(base_offset, bytes, INT64_MAX);
        },
        [&](const std::byte* at) {
            return time_index::entry{wire::load_be<int64_t>(at),
                                     base_offset + wire::load_be<int32_t>(at + 8)};
        });
}

bool dump_file(const fs::path& path, const options& opts) {
    std::cout << "Dumping " << path.string() << '\n';
    const std::string ext = path.extension().string();
    if (ext != ".log" && ext != ".index" && ext != ".timeindex") {
        std::cerr << "gregor-dump-log: " << path.string()
                  << ": unknown file type; expected a .log, .index or .timeindex file\n";
        return false;
    }
    const auto base_offset = base_offset_from_name(path);
    if (!base_offset) {
        std::cerr << "gregor-dump-log: " << path.string()
                  << ": the file name is not a base offset (a segment is named like "
                     "00000000000000000000"
                  << ext << ")\n";
        return false;
    }
    auto file = storage::file_handle::open_read_only(path);
    if (!file) {
        std::cerr << "gregor-dump-log: " << file.error().message << '\n';
        return false;
    }
    if (ext == ".log") {
        std::cout << "Log starting offset: " << *base_offset << '\n';
        return dump_log(**file, opts);
    }
    if (ext == ".index") return dump_offset_index(**file, *base_offset);
    return dump_time_index(**file, *base_offset);
}

}  // namespace

int main(int argc, char** argv) {
    options opts;
    CLI::App app{
        "Prints the batches and records of Gregor log segments (.log) and the entries of their "
        "indexes (.index, .timeindex), like kafka-dump-log.sh. Never writes to the files.",
        "gregor-dump-log"};
    app.add_option("--files", opts.files, "Comma-separated list of files to dump")
        ->required()
        ->delimiter(',');
    app.add_flag("--print-data-log", opts.print_data_log,
                 "Also print every record: offset, timestamp, sizes, sequence, headers, key and "
                 "value");
    app.add_option("--read-chunk-bytes", opts.read_chunk_bytes,
                   "Bytes read from a .log at a time (default 8 MiB)")
        ->check(CLI::Range(size_t{1}, size_t{1} << 30));
    CLI11_PARSE(app, argc, argv);

    std::ios::sync_with_stdio(false);
    bool all_ok = true;
    for (const auto& f : opts.files) all_ok &= dump_file(f, opts);
    std::cout.flush();
    return all_ok ? 0 : 1;
}
