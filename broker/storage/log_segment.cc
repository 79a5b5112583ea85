#include "broker/storage/log_segment.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "broker/storage/open_segment_limiter.h"
#include "common/invariant.h"
#include "common/logger.h"
#include "common/record_batch.h"

namespace gregor::storage {
namespace fs = std::filesystem;
namespace rb = record_batch;

namespace {

// Bytes read per step when scanning a segment: large enough that recovery runs at disk speed.
constexpr size_t kScanChunk = 4 << 20;
// The header bytes needed to walk from batch to batch and know each one's offsets.
constexpr size_t kWalkHeader = rb::kLastOffsetDeltaPos + 4;

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("storage");
    return l;
}

result<std::vector<std::byte>> read_whole(const fs::path& path) {
    auto f = file_handle::open_read_only(path);
    if (!f) return f.error();
    auto size = (*f)->size();
    if (!size) return size.error();
    std::vector<std::byte> bytes(*size);
    auto n = (*f)->read_at(0, bytes);
    if (!n) return n.error();
    bytes.resize(*n);
    return bytes;
}

status write_whole(const fs::path& path, std::span<const std::byte> bytes, bool sync) {
    auto f = file_handle::open(path, true);
    if (!f) return f.error();
    if (auto s = (*f)->truncate(0); !s.ok()) return s;
    if (auto s = (*f)->write_at(0, bytes); !s.ok()) return s;
    if (sync) return (*f)->sync();
    return {};
}

status remove_file(const fs::path& path) {
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) return {errc::kafka_storage_error, "delete " + path.string() + ": " + ec.message()};
    return {};
}

}  // namespace

std::string segment_file_name(int64_t base_offset, const char* extension) {
    char name[32];
    std::snprintf(name, sizeof name, "%020lld", static_cast<long long>(base_offset));
    return std::string(name) + extension;
}

struct log_segment::scan_result {
    uint64_t end_position;
    std::string problem;  // empty: the scan reached the end of the file cleanly
};

log_segment::log_segment(fs::path dir, int64_t base_offset, options opts)
    : dir_(std::move(dir)), base_offset_(base_offset), opts_(opts), next_offset_(base_offset) {}

log_segment::~log_segment() {
    if (opts_.limiter) opts_.limiter->forget(this);
}

fs::path log_segment::log_path() const { return dir_ / segment_file_name(base_offset_, ".log"); }
fs::path log_segment::index_path() const { return dir_ / segment_file_name(base_offset_, ".index"); }
fs::path log_segment::time_index_path() const {
    return dir_ / segment_file_name(base_offset_, ".timeindex");
}

result<std::unique_ptr<log_segment>> log_segment::create(const fs::path& dir, int64_t base_offset,
                                                         options opts) {
    std::unique_ptr<log_segment> seg(new log_segment(dir, base_offset, opts));
    // A fresh file rather than a truncated one: on ext4, closing a file that was truncated
    // starts writeback of everything written to it since (auto_da_alloc), on whatever thread
    // closes it. Index files of an earlier segment with this base offset go too: they would
    // describe other bytes.
    for (const auto& p : {seg->log_path(), seg->index_path(), seg->time_index_path()}) {
        if (auto s = remove_file(p); !s.ok()) return s;
    }
    auto f = file_handle::open(seg->log_path(), true);
    if (!f) return f.error();
    seg->files_.store(std::make_shared<files>(
        files{std::move(*f), offset_index(base_offset), time_index(base_offset)}));
    return seg;
}

void log_segment::index_batch(files& f, const batch_info& b, uint64_t position) {
    if (b.max_timestamp > max_timestamp_) {
        max_timestamp_ = b.max_timestamp;
        offset_of_max_timestamp_ = b.base_offset;
    }
    if (bytes_since_index_entry_ > opts_.index_interval_bytes) {
        f.offsets.append(b.base_offset, static_cast<uint32_t>(position));
        f.times.maybe_append(max_timestamp_, offset_of_max_timestamp_);
        bytes_since_index_entry_ = 0;
    }
    bytes_since_index_entry_ += b.size;
}

result<log_segment::scan_result> log_segment::scan(files& f, uint64_t position, int64_t offset,
                                                   bool check_crc) {
    auto file_size = f.log->size();
    if (!file_size) return file_size.error();
    std::vector<std::byte> buf;
    uint64_t buf_pos = position;  // file position of buf[0]
    size_t at = 0;                // next unparsed byte in buf
    int64_t expected = offset;
    auto fail = [&](std::string why) -> result<scan_result> {
        next_offset_ = expected;
        return scan_result{buf_pos + at, std::move(why)};
    };
    while (true) {
        const uint64_t pos = buf_pos + at;
        if (pos == *file_size) {
            next_offset_ = expected;
            return scan_result{pos, {}};
        }
        auto avail = std::span<const std::byte>(buf).subspan(at);
        rb::frame fr = rb::next_frame(avail);
        if (fr.what == rb::frame::kind::incomplete && buf_pos + buf.size() < *file_size) {
            // Refill: keep the unparsed bytes, read at least the whole batch when it is known.
            const size_t want = std::max(kScanChunk, fr.size);
            std::vector<std::byte> next(std::min<uint64_t>(want, *file_size - pos));
            auto n = f.log->read_at(pos, next);
            if (!n) return n.error();
            next.resize(*n);
            buf = std::move(next);
            buf_pos = pos;
            at = 0;
            continue;
        }
        if (fr.what == rb::frame::kind::incomplete) {
            return fail("torn batch: " + std::to_string(*file_size - pos) +
                        " bytes at the end of the file do not make a whole batch");
        }
        if (fr.what == rb::frame::kind::corrupt) return fail("invalid batch header (length or magic)");
        rb::batch_view v(avail.first(fr.size));
        if (v.base_offset() != expected) {
            return fail("batch base offset " + std::to_string(v.base_offset()) + " where " +
                        std::to_string(expected) + " was expected");
        }
        if (v.last_offset_delta() < 0) return fail("negative lastOffsetDelta");
        if (check_crc && !v.crc_valid()) return fail("CRC32C mismatch");
        if (pos + fr.size > UINT32_MAX) return fail("segment larger than 4 GiB");
        index_batch(f, {v.base_offset(), v.last_offset(), v.max_timestamp(),
                        static_cast<uint32_t>(fr.size)},
                    pos);
        if (roll_base_ms_ == 0) roll_base_ms_ = v.max_timestamp();
        expected = v.last_offset() + 1;
        at += fr.size;
    }
}

result<std::unique_ptr<log_segment>> log_segment::open(const fs::path& dir, int64_t base_offset,
                                                       bool active, open_mode mode, options opts,
                                                       open_report& report) {
    std::unique_ptr<log_segment> seg(new log_segment(dir, base_offset, opts));
    auto lf = file_handle::open(seg->log_path(), false);
    if (!lf) return lf.error();
    auto f = std::make_shared<files>(files{std::move(*lf), offset_index(base_offset),
                                           time_index(base_offset)});
    auto log_size = f->log->size();
    if (!log_size) return log_size.error();

    bool full_scan = mode == open_mode::recover;
    if (!full_scan) {
        auto load = [&]() -> status {
            std::error_code ec;
            if (!fs::exists(seg->index_path(), ec) || !fs::exists(seg->time_index_path(), ec)) {
                if (*log_size == 0) return {};
                return {errc::corrupt_message, "index file missing"};
            }
            auto ib = read_whole(seg->index_path());
            if (!ib) return ib.error();
            auto oi = offset_index::decode(base_offset, *ib, *log_size);
            if (!oi) return oi.error();
            auto tb = read_whole(seg->time_index_path());
            if (!tb) return tb.error();
            auto ti = time_index::decode(base_offset, *tb, INT64_MAX);
            if (!ti) return ti.error();
            f->offsets = std::move(*oi);
            f->times = std::move(*ti);
            if (auto last = f->times.last()) {
                seg->max_timestamp_ = last->timestamp;
                seg->offset_of_max_timestamp_ = last->offset;
            }
            const auto from = f->offsets.lookup(INT64_MAX);
            if (from.position > 0) {
                // The tail scan below starts at the last index entry, but the segment's age
                // (segment.ms) counts from its first batch, as after a recovering open.
                std::byte hdr[rb::kHeaderSize];
                auto n = f->log->read_at(0, hdr);
                if (!n) return n.error();
                if (*n < rb::kHeaderSize) return {errc::corrupt_message, "torn first batch"};
                seg->roll_base_ms_ = rb::batch_view(hdr).max_timestamp();
            }
            auto tail = seg->scan(*f, from.position, from.offset, false);
            if (!tail) return tail.error();
            if (!tail->problem.empty()) return {errc::corrupt_message, tail->problem};
            if (auto last = f->times.last(); last && last->offset >= seg->next_offset_) {
                return {errc::corrupt_message, "time index points beyond the log"};
            }
            seg->size_ = *log_size;
            return {};
        };
        if (status s = load(); !s.ok()) {
            if (s.code == errc::kafka_storage_error) return s;
            logger()->warn("rebuilding indexes of {}: {}", seg->log_path().string(), s.message);
            report.indexes_rebuilt = true;
            full_scan = true;
        }
    }
    if (full_scan) {
        seg->max_timestamp_ = -1;
        seg->offset_of_max_timestamp_ = -1;
        seg->bytes_since_index_entry_ = 0;
        seg->roll_base_ms_ = 0;
        f->offsets.clear();
        f->times.clear();
        auto r = seg->scan(*f, 0, base_offset, true);
        if (!r) return r.error();
        report.recovered = true;
        report.indexes_rebuilt = true;
        seg->size_ = r->end_position;
        if (!r->problem.empty()) {
            report.truncated_bytes = *log_size - r->end_position;
            report.problem = r->problem;
            logger()->warn("{}: {} at byte position {}; truncating {} bytes to the last valid "
                           "batch (log end offset {})",
                           seg->log_path().string(), r->problem, r->end_position,
                           report.truncated_bytes, seg->next_offset_);
            if (auto s = f->log->truncate(r->end_position); !s.ok()) return s;
        }
    }
    seg->files_.store(f);
    if (!active) {
        // Rebuilt indexes are written now so the next clean start can trust them.
        if (report.indexes_rebuilt) {
            if (auto s = seg->seal(); !s.ok()) return s;
        } else {
            seg->sealed_ = true;
            if (opts.limiter) opts.limiter->opened(seg.get());
        }
    }
    return seg;
}

result<std::shared_ptr<log_segment::files>> log_segment::acquire() {
    if (auto f = files_.load()) {
        recently_used_.store(true, std::memory_order_relaxed);
        return f;
    }
    // A sealed segment whose files the limiter released: its indexes were validated at open.
    auto lf = file_handle::open(log_path(), false);
    if (!lf) return lf.error();
    auto f = std::make_shared<files>(files{std::move(*lf), offset_index(base_offset_),
                                           time_index(base_offset_)});
    auto ib = read_whole(index_path());
    if (!ib) return ib.error();
    auto oi = offset_index::decode(base_offset_, *ib, size_);
    if (!oi) return status(errc::kafka_storage_error, index_path().string() + ": " + oi.error().message);
    auto tb = read_whole(time_index_path());
    if (!tb) return tb.error();
    auto ti = time_index::decode(base_offset_, *tb, next_offset_);
    if (!ti) return status(errc::kafka_storage_error, time_index_path().string() + ": " + ti.error().message);
    f->offsets = std::move(*oi);
    f->times = std::move(*ti);
    files_.store(f);
    if (opts_.limiter) opts_.limiter->opened(this);
    return f;
}

status log_segment::visit_batch_headers(
    const std::function<void(const rb::batch_view&)>& visit) {
    auto f = acquire();
    if (!f) return f.error();
    std::vector<std::byte> buf;
    uint64_t buf_pos = 0;  // file position of buf[0]
    for (uint64_t pos = 0; pos < size_;) {
        if (pos + rb::kHeaderSize > buf_pos + buf.size()) {
            buf.resize(std::min<uint64_t>(kScanChunk, size_ - pos));
            auto n = (*f)->log->read_at(pos, buf);
            if (!n) return n.error();
            buf.resize(*n);
            buf_pos = pos;
        }
        const auto header = std::span<const std::byte>(buf).subspan(pos - buf_pos);
        if (header.size() < rb::kHeaderSize ||
            rb::next_frame(header.first(rb::kHeaderSize)).what == rb::frame::kind::corrupt) {
            return {errc::kafka_storage_error, log_path().string() + ": no valid batch header at byte " +
                                                   std::to_string(pos)};
        }
        const rb::batch_view v(header.first(rb::kHeaderSize));
        visit(v);
        pos += v.size_bytes();
    }
    return {};
}

status log_segment::append(std::span<const std::byte> batches, std::span<const batch_info> infos,
                           int64_t now_ms) {
    GREGOR_INVARIANT(!sealed_, "only the active segment is appended to");
    GREGOR_INVARIANT(!infos.empty() && infos.front().base_offset == next_offset_,
                     "appended offsets continue the segment");
    auto f = files_.load();
    if (status s = f->log->write_at(size_, batches); !s.ok()) {
        // Cut a partial write so the file ends at a batch boundary again.
        f->log->truncate(size_).ignore_error();
        return s;
    }
    if (size_ == 0) roll_base_ms_ = now_ms;
    uint64_t pos = size_;
    for (const auto& b : infos) {
        index_batch(*f, b, pos);
        pos += b.size;
    }
    size_ = pos;
    next_offset_ = infos.back().last_offset + 1;
    return {};
}

result<std::pair<uint64_t, int64_t>> log_segment::locate(files& f, int64_t offset) {
    const auto e = f.offsets.lookup(offset);
    uint64_t pos = e.position;
    std::byte hdr[kWalkHeader];
    while (pos < size_) {
        auto n = f.log->read_at(pos, hdr);
        if (!n) return n.error();
        if (*n < kWalkHeader) break;
        const auto base = wire::load_be<int64_t>(hdr + rb::kBaseOffsetPos);
        const auto last = base + wire::load_be<int32_t>(hdr + rb::kLastOffsetDeltaPos);
        if (last >= offset) return std::pair{pos, base};
        pos += rb::kLogOverhead + static_cast<uint32_t>(wire::load_be<int32_t>(hdr + rb::kBatchLengthPos));
    }
    return std::pair{size_, next_offset_};
}

result<file_range> log_segment::read(int64_t offset, size_t max_bytes, int64_t upper_bound) {
    auto f = acquire();
    if (!f) return f.error();
    auto start = locate(**f, offset);
    if (!start) return start.error();
    file_range out{(*f)->log, start->first, 0, start->second};
    uint64_t pos = start->first;
    std::byte hdr[kWalkHeader];
    while (pos < size_) {
        auto n = (*f)->log->read_at(pos, hdr);
        if (!n) return n.error();
        if (*n < kWalkHeader) break;
        const auto base = wire::load_be<int64_t>(hdr + rb::kBaseOffsetPos);
        const auto last = base + wire::load_be<int32_t>(hdr + rb::kLastOffsetDeltaPos);
        const uint64_t size =
            rb::kLogOverhead + static_cast<uint32_t>(wire::load_be<int32_t>(hdr + rb::kBatchLengthPos));
        if (last >= upper_bound) break;
        if (out.size > 0 && out.size + size > max_bytes) break;
        out.size += static_cast<uint32_t>(size);
        pos += size;
    }
    return out;
}

result<std::optional<timestamp_offset>> log_segment::find_by_timestamp(int64_t target) {
    if (max_timestamp_ < target) return std::optional<timestamp_offset>{};
    auto f = acquire();
    if (!f) return f.error();
    auto start = locate(**f, (*f)->times.lookup(target));
    if (!start) return start.error();
    uint64_t pos = start->first;
    std::vector<std::byte> batch;
    while (pos < size_) {
        std::byte hdr[rb::kHeaderSize];
        auto n = (*f)->log->read_at(pos, hdr);
        if (!n) return n.error();
        if (*n < rb::kHeaderSize) break;
        rb::batch_view v(hdr);
        if (v.max_timestamp() >= target) {
            if (v.compression_type() != rb::compression::none) {
                return std::optional(timestamp_offset{v.max_timestamp(), v.base_offset()});
            }
            batch.resize(v.size_bytes());
            auto m = (*f)->log->read_at(pos, batch);
            if (!m) return m.error();
            auto records = rb::decode_records(std::span<const std::byte>(batch).first(*m));
            if (!records) {
                return status(errc::corrupt_message, log_path().string() + " at position " +
                                                         std::to_string(pos) + ": " +
                                                         records.error().message);
            }
            for (const auto& r : *records) {
                if (r.timestamp >= target) return std::optional(timestamp_offset{r.timestamp, r.offset});
            }
        }
        pos += v.size_bytes();
    }
    return std::optional<timestamp_offset>{};
}

result<int64_t> log_segment::truncate_to(int64_t offset) {
    auto f = acquire();
    if (!f) return f.error();
    auto at = locate(**f, offset);
    if (!at) return at.error();
    if (at->first >= size_) return next_offset_;
    if (auto s = unseal(); !s.ok()) return s;
    if (auto s = (*f)->log->truncate(at->first); !s.ok()) return s;
    size_ = at->first;
    (*f)->offsets.truncate_to(at->second);
    (*f)->times.truncate_to(at->second);
    // Recompute what the cut bytes contributed to: the max timestamp and the index cadence.
    max_timestamp_ = -1;
    offset_of_max_timestamp_ = -1;
    if (auto last = (*f)->times.last()) {
        max_timestamp_ = last->timestamp;
        offset_of_max_timestamp_ = last->offset;
    }
    bytes_since_index_entry_ = 0;
    const auto from = (*f)->offsets.lookup(at->second);
    auto tail = scan(**f, from.position, from.offset, false);
    if (!tail) return tail.error();
    GREGOR_INVARIANT(tail->problem.empty() && next_offset_ == at->second,
                     "a truncated segment ends at the cut batch");
    if (size_ == 0) roll_base_ms_ = 0;
    // The index files on disk describe the old bytes.
    if (auto s = write_indexes(false); !s.ok()) return s;
    return next_offset_;
}

status log_segment::write_indexes(bool sync) {
    auto f = files_.load();
    if (!f) return {};  // released by the limiter: the files on disk are current
    if (auto s = write_whole(index_path(), f->offsets.encode(), sync); !s.ok()) return s;
    return write_whole(time_index_path(), f->times.encode(), sync);
}

status log_segment::unseal() {
    if (!sealed_) return {};
    // Hold the files open from now on: the limiter must never release an active segment's.
    auto f = acquire();
    if (!f) return f.error();
    sealed_ = false;
    if (opts_.limiter) opts_.limiter->forget(this);
    return {};
}

status log_segment::seal() {
    if (sealed_) return {};
    auto f = files_.load();
    if (max_timestamp_ >= 0) f->times.maybe_append(max_timestamp_, offset_of_max_timestamp_);
    if (auto s = write_indexes(false); !s.ok()) return s;
    sealed_ = true;
    if (opts_.limiter) opts_.limiter->opened(this);
    return {};
}

log_segment::sync_targets log_segment::sync_targets_now() const {
    auto f = files_.load();
    return {f ? f->log : nullptr, sealed_.load(), dir_, base_offset_};
}

status log_segment::sync(const sync_targets& t) {
    std::shared_ptr<const file_handle> log = t.log;
    if (!log) {
        auto lf = file_handle::open_read_only(t.dir / segment_file_name(t.base_offset, ".log"));
        if (!lf) return lf.error();
        log = std::move(*lf);
    }
    if (auto s = log->sync(); !s.ok()) return s;
    if (!t.indexes) return {};
    for (const char* ext : {".index", ".timeindex"}) {
        auto idx = file_handle::open_read_only(t.dir / segment_file_name(t.base_offset, ext));
        if (!idx) return idx.error();
        if (auto s = (*idx)->sync(); !s.ok()) return s;
    }
    return {};
}

std::shared_ptr<void> log_segment::release_files() {
    if (!sealed_) return nullptr;
    return files_.exchange(nullptr);
}

status log_segment::delete_files() {
    if (opts_.limiter) opts_.limiter->forget(this);
    files_.store(nullptr);
    for (const auto& p : {log_path(), index_path(), time_index_path()}) {
        if (auto s = remove_file(p); !s.ok()) return s;
    }
    return {};
}

}  // namespace gregor::storage
