#include "broker/storage/log.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "common/clock.h"
#include "common/invariant.h"
#include "common/logger.h"
#include "common/record_batch.h"

namespace gregor::storage {
namespace fs = std::filesystem;
namespace rb = record_batch;

namespace {

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = logging::get("storage");
    return l;
}

constexpr const char* kSegmentExtensions[] = {".log", ".index", ".timeindex"};

// The base offset in a segment file name `<20 digits><ext>`, if it is one.
std::optional<int64_t> parse_segment_name(const std::string& name, const std::string& ext) {
    if (name.size() != 20 + ext.size() || name.compare(20, ext.size(), ext) != 0) return {};
    int64_t v = 0;
    for (size_t i = 0; i < 20; ++i) {
        if (name[i] < '0' || name[i] > '9') return {};
        if (v > (INT64_MAX - (name[i] - '0')) / 10) return {};
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

// The base offset of the first batch in a segment file, if it has a whole, sane header that
// agrees with the batch after it: baseOffset is outside the CRC, and a flipped bit there must
// not pass for a misnamed file (renaming would make recovery cut the segment at its 2nd batch).
result<std::optional<int64_t>> first_batch_offset(const fs::path& log_file) {
    auto f = file_handle::open_read_only(log_file);
    if (!f) return f.error();
    std::byte hdr[rb::kHeaderSize];
    auto n = (*f)->read_at(0, hdr);
    if (!n) return n.error();
    if (*n < rb::kHeaderSize || rb::next_frame(hdr).what == rb::frame::kind::corrupt) {
        return std::optional<int64_t>{};
    }
    const rb::batch_view first(hdr);
    std::byte next[rb::kHeaderSize];
    auto m = (*f)->read_at(first.size_bytes(), next);
    if (!m) return m.error();
    if (*m == rb::kHeaderSize && rb::next_frame(next).what != rb::frame::kind::corrupt &&
        rb::batch_view(next).base_offset() != first.last_offset() + 1) {
        return std::optional<int64_t>{};
    }
    return std::optional(first.base_offset());
}

// Renames a segment's files from base `from` to `to`, or aside to `<name>.corrupt` when
// `to` < 0 (`<name>.corrupt.<n>` when an earlier one is there: what was moved aside before is
// never overwritten).
status rename_segment(const fs::path& dir, int64_t from, int64_t to) {
    std::string aside = ".corrupt";
    for (int n = 1; to < 0; ++n) {
        bool taken = false;
        for (const char* ext : kSegmentExtensions) {
            std::error_code ec;
            taken = taken || fs::exists(dir / (segment_file_name(from, ext) + aside), ec);
        }
        if (!taken) break;
        aside = ".corrupt." + std::to_string(n);
    }
    for (const char* ext : kSegmentExtensions) {
        const auto src = dir / segment_file_name(from, ext);
        std::error_code ec;
        if (!fs::exists(src, ec)) continue;
        auto dst = src;
        if (to >= 0) {
            dst = dir / segment_file_name(to, ext);
        } else {
            dst += aside;
        }
        fs::rename(src, dst, ec);
        if (ec) return {errc::kafka_storage_error, "rename " + src.string() + ": " + ec.message()};
    }
    return {};
}

}  // namespace

log::log(log_options opts)
    : opts_(std::move(opts)), flush_interval_ms_(opts_.config.flush_interval_ms) {
    health_ = opts_.health ? opts_.health
                           : std::make_shared<log_dir_health>(opts_.dir.parent_path());
}

int64_t log::now_ms() const {
    if (opts_.clock) return opts_.clock();
    return wall_clock_ms();
}

log_segment::options log::segment_options() const {
    return {static_cast<uint32_t>(
                std::clamp<int64_t>(opts_.config.index_interval_bytes, 0, UINT32_MAX)),
            opts_.limiter};
}

status log::io_failure(const status& s) {
    if (s.code != errc::kafka_storage_error) return s;
    return health_->mark_offline(s);
}

result<std::unique_ptr<log>> log::open(log_options opts) {
    std::unique_ptr<log> l(new log(std::move(opts)));
    if (l->health_->offline()) return l->health_->offline_error();
    if (status s = l->load(); !s.ok()) return l->io_failure(s);
    return l;
}

status log::load() {
    std::error_code ec;
    fs::create_directories(opts_.dir, ec);
    if (ec) return {errc::kafka_storage_error, "create " + opts_.dir.string() + ": " + ec.message()};

    std::set<int64_t> bases;
    std::vector<std::pair<int64_t, fs::path>> indexes;
    for (const auto& entry : fs::directory_iterator(opts_.dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (auto b = parse_segment_name(name, ".log"); b && entry.is_regular_file()) {
            bases.insert(*b);
        } else if (auto i = parse_segment_name(name, ".index")) {
            indexes.emplace_back(*i, entry.path());
        } else if (auto t = parse_segment_name(name, ".timeindex")) {
            indexes.emplace_back(*t, entry.path());
        } else if (name == kLeaderEpochCheckpoint) {
            // Read once the segments are loaded.
        } else if (name.ends_with(".tmp")) {
            // An interrupted atomic write of ours: the file it was replacing is still whole.
            fs::remove(entry.path(), ec);
        } else {
            report_.ignored_files.push_back(name);
            logger()->warn("{}: {} is not a segment file; leaving it alone", opts_.dir.string(), name);
        }
    }
    if (ec) return {errc::kafka_storage_error, "list " + opts_.dir.string() + ": " + ec.message()};
    for (const auto& [base, path] : indexes) {
        if (!bases.contains(base)) fs::remove(path, ec);  // an index of no segment: derived data
    }

    // Segments in the order of their first batch's offset (the name's when the file has no
    // trustworthy first header), so that a misnamed segment is judged where its batches belong
    // and does not make its successor by name look like a gap.
    struct found {
        int64_t first;  // the first batch's base offset, else the named one
        int64_t named;
    };
    std::vector<found> order;
    for (int64_t named : bases) {
        auto first = first_batch_offset(opts_.dir / segment_file_name(named, ".log"));
        if (!first) return first.error();
        order.push_back({first->value_or(named), named});
    }
    std::sort(order.begin(), order.end(), [](const found& a, const found& b) {
        return a.first != b.first ? a.first < b.first : a.named < b.named;
    });
    std::vector<std::shared_ptr<log_segment>> loaded;
    for (size_t i = 0; i < order.size(); ++i) {
        const int64_t named = order[i].named;
        const auto path = opts_.dir / segment_file_name(named, ".log");
        // The next segment must start where the log so far ends; the first may start anywhere.
        const int64_t expected = loaded.empty() ? -1 : loaded.back()->next_offset();
        int64_t base = named;
        if (order[i].first != named) {
            const int64_t actual = order[i].first;
            const bool fits = (expected < 0 || actual == expected) &&
                              (i + 1 == order.size() || actual < order[i + 1].first) &&
                              !bases.contains(actual);
            logger()->warn("{}: the name says base offset {} but the first batch has offset {}; {}",
                           path.string(), named, actual,
                           fits ? "renaming the segment to match" : "it does not fit the log");
            if (fits) {
                if (auto s = rename_segment(opts_.dir, named, actual); !s.ok()) return s;
                base = actual;
            } else {
                base = -1;
            }
        } else if (expected >= 0 && named != expected) {
            logger()->warn("{}: the segment starts at offset {} but the log before it ends at {}",
                           path.string(), named, expected);
            base = -1;
        }
        if (base < 0) {
            // Not part of a consistent log: kept for an operator to inspect, never deleted.
            logger()->warn("{}: moving the segment aside as *.corrupt", path.string());
            if (auto s = rename_segment(opts_.dir, named, -1); !s.ok()) return s;
            report_.moved_aside.push_back(segment_file_name(named, ".log"));
            continue;
        }
        const bool last = i + 1 == order.size();
        const bool may_be_unflushed = last || order[i + 1].first > opts_.recovery_point;
        const auto mode = !opts_.clean_shutdown && may_be_unflushed ? log_segment::open_mode::recover
                                                                    : log_segment::open_mode::trust;
        log_segment::open_report rep;
        auto seg = log_segment::open(opts_.dir, base, last, mode, segment_options(), rep);
        if (!seg) return seg.error();
        report_.segments_recovered += rep.recovered;
        report_.indexes_rebuilt += rep.indexes_rebuilt;
        report_.bytes_truncated += rep.truncated_bytes;
        loaded.push_back(std::move(*seg));
    }
    if (loaded.empty()) {
        auto seg = log_segment::create(opts_.dir, 0, segment_options());
        if (!seg) return seg.error();
        loaded.push_back(std::move(*seg));
    } else if (loaded.back()->sealed()) {
        if (auto s = loaded.back()->unseal(); !s.ok()) return s;
    }
    report_.segments = loaded.size();
    {
        std::lock_guard lock(mu_);
        segments_ = std::move(loaded);
    }
    start_offset_ = segments_.front()->base_offset();
    end_offset_ = segments_.back()->next_offset();
    recovery_point_ = opts_.clean_shutdown
                          ? end_offset_.load()
                          : std::clamp(opts_.recovery_point, start_offset_.load(), end_offset_.load());
    high_watermark_ = std::clamp(opts_.high_watermark, start_offset_.load(), end_offset_.load());
    last_flush_ms_ = now_ms();
    if (status s = load_epoch_cache(); !s.ok()) return s;
    if (report_.segments_recovered > 0) {
        logger()->info("{}: loaded {} segments, recovered {} (log start {}, end {})",
                       opts_.dir.string(), report_.segments, report_.segments_recovered,
                       start_offset_.load(), end_offset_.load());
    }
    return {};
}

status log::load_epoch_cache() {
    auto cache = leader_epoch_cache::load(opts_.dir / kLeaderEpochCheckpoint);
    if (!cache) return cache.error();
    epochs_ = std::move(*cache);
    if (!epochs_->file_exists() && start_offset_.load() < end_offset_.load()) {
        std::vector<epoch_entry> found;
        for (const auto& seg : segments_) {
            status s = seg->visit_batch_headers([&](const rb::batch_view& v) {
                if (v.leader_epoch() >= 0 && (found.empty() || found.back().epoch != v.leader_epoch())) {
                    found.push_back({v.leader_epoch(), v.base_offset()});
                }
            });
            if (!s.ok()) return s;
        }
        if (status s = epochs_->assign(found); !s.ok()) return s;
        // Written even when no batch had an epoch, so that the scan happens once.
        if (status s = epochs_->write(); !s.ok()) return s;
        logger()->info("{}: rebuilt {} from the batches ({} epochs)", opts_.dir.string(),
                       kLeaderEpochCheckpoint, epochs_->entries().size());
    }
    // A crash can leave entries for batches that recovery cut, or for segments that retention
    // deleted: the log is the truth.
    if (status s = epochs_->truncate_from_end(end_offset_.load()); !s.ok()) return s;
    return epochs_->truncate_from_start(start_offset_.load());
}

result<int32_t> log::validate_batches(std::span<std::byte> records, size_t max_batch_bytes) {
    infos_.clear();
    int32_t count = 0;
    for (size_t pos = 0; pos < records.size();) {
        auto rest = records.subspan(pos);
        const rb::frame f = rb::next_frame(rest);
        const size_t size = f.what == rb::frame::kind::batch ? f.size : rest.size();
        if (status s = rb::validate(rest.first(size), max_batch_bytes); !s.ok()) {
            if (!infos_.empty() || size != records.size()) {
                s.message = "batch at byte " + std::to_string(pos) + " of the records: " + s.message;
            }
            return s;
        }
        rb::batch_view v(rest.first(size));
        // last_offset holds the delta until offsets are known.
        infos_.push_back({0, v.last_offset_delta(), v.max_timestamp(), static_cast<uint32_t>(size)});
        count += v.record_count();
        pos += size;
    }
    if (infos_.empty()) return status(errc::corrupt_message, "no record batch in the request");
    return count;
}

result<log::append_result> log::append(std::span<std::byte> records, int32_t leader_epoch) {
    if (health_->offline()) return health_->offline_error();
    auto count = validate_batches(records, static_cast<size_t>(opts_.config.max_message_bytes));
    if (!count) return count.error();

    int64_t next = end_offset_.load();
    size_t pos = 0;
    for (auto& b : infos_) {
        auto batch = records.subspan(pos, b.size);
        rb::set_base_offset(batch, next);
        rb::set_leader_epoch(batch, leader_epoch);
        b.base_offset = next;
        b.last_offset += next;
        next = b.last_offset + 1;
        pos += b.size;
    }
    const auto latest = epochs_->latest_epoch();
    if (leader_epoch >= 0 && (!latest || leader_epoch > *latest)) {
        if (status s = epochs_->assign(leader_epoch, infos_.front().base_offset); !s.ok()) {
            return io_failure(s);
        }
    }
    return write_batches(records, *count);
}

result<log::append_result> log::append_as_follower(std::span<std::byte> records) {
    if (health_->offline()) return health_->offline_error();
    const int64_t end = end_offset_.load();
    if (records.empty()) return append_result{end, end - 1, 0, start_offset_.load()};
    // The leader accepted these batches, perhaps under a larger max.message.bytes than this
    // replica has now: refusing them would stop replication for good (Kafka does not check).
    auto count = validate_batches(records, SIZE_MAX);
    if (!count) return count.error();

    std::vector<epoch_entry> starts;
    int64_t expected = end;
    size_t pos = 0;
    for (auto& b : infos_) {
        const rb::batch_view v(records.subspan(pos, b.size));
        if (v.base_offset() != expected) {
            return status(errc::invalid_record,
                          pos == 0 ? "replicated batch at offset " + std::to_string(v.base_offset()) +
                                         " does not start at the log end offset " +
                                         std::to_string(expected)
                                   : "replicated batch at offset " + std::to_string(v.base_offset()) +
                                         " does not follow the previous batch, which ends at " +
                                         std::to_string(expected - 1));
        }
        b.base_offset = expected;
        b.last_offset += expected;
        expected = b.last_offset + 1;
        pos += b.size;
        if (v.leader_epoch() >= 0 && (starts.empty() || starts.back().epoch != v.leader_epoch())) {
            starts.push_back({v.leader_epoch(), v.base_offset()});
        }
    }
    // Before the batches: a crash in between leaves an entry past the log end, which load
    // trims, rather than batches of an epoch the cache does not know.
    if (status s = epochs_->assign(starts); !s.ok()) return io_failure(s);
    return write_batches(records, *count);
}

result<log::append_result> log::write_batches(std::span<std::byte> records, int32_t record_count) {
    const int64_t now = now_ms();
    const auto& active = segments_.back();
    const bool too_big = active->size_bytes() + records.size() >
                         static_cast<uint64_t>(opts_.config.segment_bytes);
    const bool too_old = now - active->roll_base_ms() >= opts_.config.segment_ms;
    status s;
    if (!active->empty() && (too_big || too_old)) s = roll();
    if (s.ok()) s = segments_.back()->append(records, infos_, now);
    if (!s.ok()) {
        // An epoch recorded for these batches must not outlive them.
        epochs_->truncate_from_end(end_offset_.load()).ignore_error();
        return io_failure(s);
    }
    end_offset_ = infos_.back().last_offset + 1;
    const int64_t unflushed = unflushed_messages_.fetch_add(record_count) + record_count;
    if (unflushed >= opts_.config.flush_interval_messages && opts_.request_flush) {
        opts_.request_flush(*this);
    }
    return append_result{infos_.front().base_offset, infos_.back().last_offset, record_count,
                         start_offset_.load()};
}

status log::assign_epoch_start(int32_t epoch, int64_t start_offset) {
    if (health_->offline()) return health_->offline_error();
    return io_failure(epochs_->assign(epoch, start_offset));
}

std::optional<int32_t> log::latest_epoch() const { return epochs_->latest_epoch(); }

log::epoch_end log::end_offset_for_epoch(int32_t epoch) const {
    return epochs_->end_offset_for(epoch, end_offset_.load());
}

void log::set_high_watermark(int64_t hw) {
    high_watermark_ = std::clamp(hw, start_offset_.load(), end_offset_.load());
}

status log::roll() {
    const int64_t base = end_offset_.load();
    logger()->debug("{}: rolling a new segment at offset {}", opts_.dir.string(), base);
    if (status s = segments_.back()->seal(); !s.ok()) return s;
    auto seg = log_segment::create(opts_.dir, base, segment_options());
    if (!seg) return seg.error();
    {
        std::lock_guard lock(mu_);
        segments_.push_back(std::move(*seg));
    }
    // The sealed segment will not change again: make it durable soon, as Kafka does at roll.
    if (opts_.request_flush) opts_.request_flush(*this);
    return {};
}

result<log::read_result> log::read(int64_t offset, size_t max_bytes, int64_t upper_bound) {
    if (health_->offline()) return health_->offline_error();
    const int64_t start = start_offset_.load();
    const int64_t end = end_offset_.load();
    if (offset < start || offset > end) {
        return status(errc::offset_out_of_range,
                      "offset " + std::to_string(offset) + " is outside the log's range [" +
                          std::to_string(start) + ", " + std::to_string(end) + "]");
    }
    read_result out{{}, start, end};
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](int64_t o, const auto& s) { return o < s->base_offset(); });
    GREGOR_INVARIANT(it != segments_.begin(), "an offset in range lies in a segment");
    for (--it; it != segments_.end() && offset < end; ++it) {
        if (offset >= (*it)->next_offset()) continue;
        auto r = (*it)->read(std::max(offset, (*it)->base_offset()), max_bytes, upper_bound);
        if (!r) return io_failure(r.error());
        out.range = std::move(*r);
        break;
    }
    return out;
}

result<std::optional<timestamp_offset>> log::offset_for_timestamp(int64_t timestamp) {
    if (health_->offline()) return health_->offline_error();
    for (const auto& seg : segments_) {
        if (seg->max_timestamp() < timestamp) continue;
        auto r = seg->find_by_timestamp(timestamp);
        if (!r) return io_failure(r.error());
        if (*r) return *r;
    }
    return std::optional<timestamp_offset>{};
}

status log::drop_segments(size_t from, size_t to) {
    std::vector<std::shared_ptr<log_segment>> dropped;
    {
        std::lock_guard lock(mu_);
        dropped.assign(segments_.begin() + static_cast<ptrdiff_t>(from),
                       segments_.begin() + static_cast<ptrdiff_t>(to));
        segments_.erase(segments_.begin() + static_cast<ptrdiff_t>(from),
                        segments_.begin() + static_cast<ptrdiff_t>(to));
        ++truncations_;
    }
    for (const auto& seg : dropped) {
        if (status s = seg->delete_files(); !s.ok()) return s;
    }
    return {};
}

status log::truncate_to(int64_t offset) {
    if (health_->offline()) return health_->offline_error();
    if (offset >= end_offset_.load()) return {};
    if (offset <= start_offset_.load()) return truncate_fully_and_start_at(offset);
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](int64_t o, const auto& s) { return o < s->base_offset(); });
    const size_t keep = static_cast<size_t>(it - segments_.begin());
    if (status s = drop_segments(keep, segments_.size()); !s.ok()) return io_failure(s);
    auto next = segments_.back()->truncate_to(offset);
    if (!next) return io_failure(next.error());
    {
        std::lock_guard lock(mu_);
        ++truncations_;
        end_offset_ = *next;
        recovery_point_ = std::min(recovery_point_.load(), *next);
    }
    high_watermark_ = std::min(high_watermark_.load(), *next);
    logger()->info("{}: truncated to offset {}", opts_.dir.string(), *next);
    return io_failure(epochs_->truncate_from_end(*next));
}

status log::truncate_fully_and_start_at(int64_t offset) {
    if (health_->offline()) return health_->offline_error();
    if (status s = drop_segments(0, segments_.size()); !s.ok()) return io_failure(s);
    auto seg = log_segment::create(opts_.dir, offset, segment_options());
    if (!seg) return io_failure(seg.error());
    {
        std::lock_guard lock(mu_);
        segments_.push_back(std::move(*seg));
        start_offset_ = offset;
        end_offset_ = offset;
        recovery_point_ = offset;
    }
    high_watermark_ = offset;
    unflushed_messages_ = 0;
    logger()->info("{}: truncated fully; the log restarts at offset {}", opts_.dir.string(), offset);
    return io_failure(epochs_->clear());
}

result<size_t> log::delete_retained_segments() {
    if (health_->offline()) return health_->offline_error();
    const int64_t now = now_ms();
    const auto& c = opts_.config;
    const size_t sealed = segments_.size() - 1;
    size_t n = 0;
    if (c.retention_ms >= 0) {
        while (n < sealed && segments_[n]->max_timestamp() < now - c.retention_ms) ++n;
    }
    if (c.retention_bytes >= 0) {
        uint64_t total = 0;
        for (size_t i = n; i < segments_.size(); ++i) total += segments_[i]->size_bytes();
        while (n < sealed &&
               total - segments_[n]->size_bytes() >= static_cast<uint64_t>(c.retention_bytes)) {
            total -= segments_[n]->size_bytes();
            ++n;
        }
    }
    if (n == 0) return size_t{0};
    if (status s = drop_segments(0, n); !s.ok()) return io_failure(s);
    {
        std::lock_guard lock(mu_);
        start_offset_ = segments_.front()->base_offset();
        recovery_point_ = std::max(recovery_point_.load(), start_offset_.load());
    }
    high_watermark_ = std::max(high_watermark_.load(), start_offset_.load());
    logger()->info("{}: retention deleted {} segments; log start offset is now {}",
                   opts_.dir.string(), n, start_offset_.load());
    if (status s = epochs_->truncate_from_start(start_offset_.load()); !s.ok()) return io_failure(s);
    return n;
}

status log::flush() {
    if (health_->offline()) return health_->offline_error();
    std::vector<log_segment::sync_targets> targets;
    int64_t target;
    uint64_t generation;
    int64_t unflushed;
    {
        std::lock_guard lock(mu_);
        target = end_offset_.load();
        generation = truncations_;
        unflushed = unflushed_messages_.load();
        if (target <= recovery_point_.load() && unflushed == 0) return {};
        // A segment ends where the next begins; base offsets never change, unlike the active
        // segment's next offset, which its owner thread moves without this lock.
        for (size_t i = 0; i < segments_.size(); ++i) {
            const bool last = i + 1 == segments_.size();
            if (last || segments_[i + 1]->base_offset() > recovery_point_.load()) {
                targets.push_back(segments_[i]->sync_targets_now());
            }
        }
    }
    for (const auto& t : targets) {
        if (status s = log_segment::sync(t); !s.ok()) {
            std::lock_guard lock(mu_);
            if (truncations_ != generation) return {};  // the segment went away meanwhile
            return io_failure(s);
        }
    }
    // New segment files are durable only once their directory entry is.
    if (status s = sync_directory(opts_.dir); !s.ok()) return io_failure(s);
    {
        std::lock_guard lock(mu_);
        if (truncations_ == generation) {
            recovery_point_ = std::max(recovery_point_.load(), target);
        }
    }
    unflushed_messages_.fetch_sub(unflushed);
    last_flush_ms_ = now_ms();
    return {};
}

bool log::flush_due(int64_t now_ms) const {
    return unflushed_messages_.load() > 0 && now_ms - last_flush_ms_.load() >= flush_interval_ms_.load();
}

status log::close() {
    if (health_->offline()) return health_->offline_error();
    if (status s = segments_.back()->write_indexes(true); !s.ok()) return io_failure(s);
    return flush();
}

void log::set_config(const log_config& c) {
    opts_.config = c;
    flush_interval_ms_ = c.flush_interval_ms;
}

uint64_t log::size_bytes() const {
    uint64_t total = 0;
    for (const auto& s : segments_) total += s->size_bytes();
    return total;
}

std::vector<int64_t> log::segment_base_offsets() const {
    std::vector<int64_t> out;
    for (const auto& s : segments_) out.push_back(s->base_offset());
    return out;
}

}  // namespace gregor::storage
