// Test support for the partition log: a temporary directory, a fake clock, a producer-side
// batch factory over record_batch::batch_builder, readers that pread a file_range's bytes and
// decode them, file-damage helpers for crash simulations, and a scope guard for
// RLIMIT_FSIZE. Header-only; every helper reports failure through googletest's ADD_FAILURE
// or a returned value, never by aborting. Not thread-safe: one test thread.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/storage/file_handle.h"
#include "broker/storage/log.h"
#include "broker/storage/log_segment.h"
#include "common/crc32c.h"
#include "common/record_batch.h"
#include "common/wire.h"

namespace gregor::storage::test {

namespace fs = std::filesystem;
namespace rb = record_batch;
using bytes = std::vector<std::byte>;

// ---- the filesystem ---------------------------------------------------------------------

// Where temporary directories go: $TMPDIR, else /tmp.
inline fs::path default_temp_base() {
    const char* base = std::getenv("TMPDIR");
    return base && *base ? fs::path(base) : fs::path("/tmp");
}

// A memory-backed base (/dev/shm, where fsync costs nothing) for tests that check logic rather
// than durability and would otherwise spend their time waiting for a shared disk; the default
// base when there is none or GREGOR_TEST_ON_DISK is set.
inline fs::path memory_temp_base() {
    std::error_code ec;
    if (!std::getenv("GREGOR_TEST_ON_DISK") && fs::is_directory("/dev/shm", ec) &&
        ::access("/dev/shm", W_OK) == 0) {
        return "/dev/shm";
    }
    return default_temp_base();
}

// A fresh directory under `base`, removed with everything in it at destruction.
class temp_dir {
public:
    explicit temp_dir(const fs::path& base = default_temp_base()) {
        std::string tmpl = (base / "gregor-log-test-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
        }
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const fs::path& path() const noexcept { return path_; }

private:
    fs::path path_;
};

inline bytes read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes out(chars.size());
    std::transform(chars.begin(), chars.end(), out.begin(), [](char c) { return std::byte(c); });
    return out;
}

inline void write_file(const fs::path& p, const bytes& b) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out) ADD_FAILURE() << "could not write " << p;
}

inline void append_to_file(const fs::path& p, const bytes& b) {
    std::ofstream out(p, std::ios::binary | std::ios::app);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out) ADD_FAILURE() << "could not append to " << p;
}

inline void truncate_file(const fs::path& p, uint64_t size) {
    std::error_code ec;
    fs::resize_file(p, size, ec);
    if (ec) ADD_FAILURE() << "resize " << p << ": " << ec.message();
}

inline void flip_bit(const fs::path& p, uint64_t byte_pos, int bit) {
    bytes b = read_file(p);
    if (byte_pos >= b.size()) {
        ADD_FAILURE() << "flip_bit past the end of " << p;
        return;
    }
    b[byte_pos] ^= std::byte(1u << bit);
    write_file(p, b);
}

inline uint64_t size_on_disk(const fs::path& p) {
    std::error_code ec;
    auto n = fs::file_size(p, ec);
    if (ec) ADD_FAILURE() << "size of " << p << ": " << ec.message();
    return ec ? 0 : n;
}

// The names of the entries of `dir`, sorted.
inline std::vector<std::string> list_dir(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

inline fs::path segment_path(const fs::path& dir, int64_t base, const char* ext) {
    return dir / segment_file_name(base, ext);
}

// ---- time ---------------------------------------------------------------------------------

// A clock the test moves by hand; copies share the time. Start well after the epoch so that
// timestamps and "now - retention" stay positive.
class fake_clock {
public:
    static constexpr int64_t kStart = 1'700'000'000'000;

    int64_t now() const noexcept { return now_->load(); }
    void set(int64_t ms) noexcept { now_->store(ms); }
    void advance(int64_t ms) noexcept { now_->fetch_add(ms); }
    std::function<int64_t()> fn() const {
        return [t = now_] { return t->load(); };
    }

private:
    std::shared_ptr<std::atomic<int64_t>> now_ = std::make_shared<std::atomic<int64_t>>(kStart);
};

// ---- batches ------------------------------------------------------------------------------

// One record as a producer sends it.
struct record_spec {
    int64_t timestamp = fake_clock::kStart;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<rb::record_header> headers;

    bool operator==(const record_spec&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const record_spec& r) {
    os << "{ts " << r.timestamp << ", key " << (r.key ? "'" + *r.key + "'" : "null") << ", value "
       << (r.value ? std::to_string(r.value->size()) + " bytes" : "null") << ", "
       << r.headers.size() << " headers}";
    return os;
}

// A producer's batch of `records` (baseOffset 0, leader epoch -1, valid CRC).
inline bytes make_batch(const std::vector<record_spec>& records) {
    rb::batch_builder b;
    for (const auto& r : records) {
        std::optional<std::string_view> k, v;
        if (r.key) k = *r.key;
        if (r.value) v = *r.value;
        b.add(r.timestamp, k, v, r.headers);
    }
    return b.build();
}

// `n` records with the same timestamp, values "<tag>-<i>" padded to `value_size` bytes.
inline std::vector<record_spec> simple_records(int n, int64_t timestamp, const std::string& tag = "v",
                                               size_t value_size = 0) {
    std::vector<record_spec> out;
    for (int i = 0; i < n; ++i) {
        std::string v = tag + "-" + std::to_string(i);
        if (v.size() < value_size) v.resize(value_size, '.');
        out.push_back({timestamp, "k" + std::to_string(i), std::move(v), {}});
    }
    return out;
}

inline bytes concat(const std::vector<bytes>& parts) {
    bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Recomputes a batch's CRC after a test edited the covered bytes on purpose.
inline void fix_crc(std::span<std::byte> batch) {
    const uint32_t crc = crc32c::value(batch.subspan(rb::kAttributesPos));
    wire::store_be<uint32_t>(batch.data() + rb::kCrcPos, crc);
}

// Random records: keys/values possibly null or empty, 0-3 headers, timestamps around `t0`
// (deliberately not monotonic).
inline std::vector<record_spec> random_records(std::mt19937_64& rng, int n, int64_t t0) {
    auto pick = [&](uint64_t lo, uint64_t hi) {
        return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
    };
    auto random_string = [&](size_t max_len) {
        std::string s(pick(0, max_len), '\0');
        for (auto& c : s) c = static_cast<char>(pick(0, 255));
        return s;
    };
    std::vector<record_spec> out;
    for (int i = 0; i < n; ++i) {
        record_spec r;
        r.timestamp = t0 + static_cast<int64_t>(pick(0, 2000)) - 1000;
        if (pick(0, 9) != 0) r.key = random_string(16);
        if (pick(0, 19) != 0) r.value = random_string(pick(0, 3) == 0 ? 300 : 40);
        for (uint64_t h = pick(0, 3); h > 0; --h) {
            rb::record_header hdr{random_string(8), std::nullopt};
            if (pick(0, 3) != 0) hdr.value = random_string(12);
            r.headers.push_back(std::move(hdr));
        }
        out.push_back(std::move(r));
    }
    return out;
}

// ---- reading back -------------------------------------------------------------------------

// The bytes of a file_range, read with pread from the range's own descriptor.
inline bytes range_bytes(const file_range& r) {
    bytes out(r.size);
    if (r.size == 0) return out;
    if (!r.file) {
        ADD_FAILURE() << "a non-empty file_range without a file";
        return {};
    }
    size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(r.file->fd(), out.data() + done, out.size() - done,
                            static_cast<off_t>(r.position + done));
        if (n <= 0) {
            ADD_FAILURE() << "pread of a file_range failed or hit the end of the file";
            out.resize(done);
            return out;
        }
        done += static_cast<size_t>(n);
    }
    return out;
}

// One stored batch, as found in a read's bytes.
struct stored_batch {
    int64_t base_offset;
    int64_t last_offset;
    int32_t leader_epoch;
    bool crc_valid;
    bytes data;
};

// Splits concatenated batches; a trailing partial batch is a test failure.
inline std::vector<stored_batch> split_batches(std::span<const std::byte> data) {
    std::vector<stored_batch> out;
    while (!data.empty()) {
        const rb::frame f = rb::next_frame(data);
        if (f.what != rb::frame::kind::batch) {
            ADD_FAILURE() << "read returned " << data.size() << " bytes that are not a whole batch";
            break;
        }
        rb::batch_view v(data.first(f.size));
        out.push_back({v.base_offset(), v.last_offset(), v.leader_epoch(), v.crc_valid(),
                       bytes(data.begin(), data.begin() + static_cast<ptrdiff_t>(f.size))});
        data = data.subspan(f.size);
    }
    return out;
}

// Every record in concatenated batches.
inline std::vector<rb::record> decode_all(std::span<const std::byte> data) {
    std::vector<rb::record> out;
    for (const auto& b : split_batches(data)) {
        EXPECT_TRUE(b.crc_valid) << "stored batch at offset " << b.base_offset << " fails its CRC";
        auto recs = rb::decode_records(b.data);
        if (!recs) {
            ADD_FAILURE() << "batch at offset " << b.base_offset << ": " << recs.error().message;
            continue;
        }
        out.insert(out.end(), recs->begin(), recs->end());
    }
    return out;
}

inline record_spec to_spec(const rb::record& r) {
    return {r.timestamp, r.key, r.value, r.headers};
}

// A record read back from the log, in a form tests compare with what they appended.
struct stored_record {
    int64_t offset;
    record_spec rec;
    bool operator==(const stored_record&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const stored_record& r) {
    return os << "@" << r.offset << " " << r.rec;
}

inline std::vector<stored_record> to_stored(const std::vector<rb::record>& recs) {
    std::vector<stored_record> out;
    for (const auto& r : recs) out.push_back({r.offset, to_spec(r)});
    return out;
}

// Reads [from, log end) by repeated reads of `max_bytes`, checking that each read makes
// progress and returns whole batches that start at or before the offset asked for.
inline std::vector<stored_record> read_all(log& l, int64_t from, size_t max_bytes = 1 << 20) {
    std::vector<stored_record> out;
    int64_t next = from;
    while (next < l.log_end_offset()) {
        auto r = l.read(next, max_bytes);
        if (!r) {
            ADD_FAILURE() << "read at " << next << ": " << r.error().message;
            break;
        }
        if (r->range.size == 0) {
            ADD_FAILURE() << "empty read at " << next << " below the log end " << l.log_end_offset();
            break;
        }
        EXPECT_LE(r->range.first_offset, next);
        for (const auto& rec : to_stored(decode_all(range_bytes(r->range)))) {
            if (rec.offset >= next) out.push_back(rec);
        }
        if (out.empty() || out.back().offset < next) {
            ADD_FAILURE() << "read at " << next << " made no progress";
            break;
        }
        next = out.back().offset + 1;
    }
    return out;
}

inline std::vector<stored_record> read_all(log& l) { return read_all(l, l.log_start_offset()); }

// ---- the log --------------------------------------------------------------------------------

// Appends `batch` (a copy: append rewrites its bytes in place) and fails the test on error.
inline log::append_result must_append(log& l, const bytes& batch, int32_t epoch = 0) {
    bytes copy = batch;
    auto r = l.append(copy, epoch);
    if (!r) {
        ADD_FAILURE() << "append failed: " << r.error().message;
        return {-1, -1, 0, -1};
    }
    return *r;
}

inline std::unique_ptr<log> must_open(log_options opts) {
    auto r = log::open(std::move(opts));
    if (!r) {
        ADD_FAILURE() << "open failed: " << r.error().message;
        return nullptr;
    }
    return std::move(*r);
}

// ---- damage -----------------------------------------------------------------------------

// Positions of the batches in a segment file: {position, size} in order.
inline std::vector<std::pair<uint64_t, uint64_t>> batch_positions(const fs::path& log_file) {
    const bytes b = read_file(log_file);
    std::vector<std::pair<uint64_t, uint64_t>> out;
    std::span<const std::byte> rest(b);
    uint64_t pos = 0;
    while (!rest.empty()) {
        const rb::frame f = rb::next_frame(rest);
        if (f.what != rb::frame::kind::batch) break;
        out.emplace_back(pos, f.size);
        pos += f.size;
        rest = rest.subspan(f.size);
    }
    return out;
}

// Lowers RLIMIT_FSIZE for its lifetime (with SIGXFSZ ignored, so an oversized write fails with
// EFBIG instead of killing the process) and restores both on destruction, also when a test
// assertion returns early.
class file_size_limit_guard {
public:
    explicit file_size_limit_guard(rlim_t soft_limit) {
        old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
        ok_ = ::getrlimit(RLIMIT_FSIZE, &old_) == 0;
        if (!ok_) {
            ADD_FAILURE() << "getrlimit(RLIMIT_FSIZE) failed";
            return;
        }
        rlimit lowered = old_;
        lowered.rlim_cur = soft_limit;
        ok_ = ::setrlimit(RLIMIT_FSIZE, &lowered) == 0;
        if (!ok_) ADD_FAILURE() << "setrlimit(RLIMIT_FSIZE) failed";
    }
    ~file_size_limit_guard() {
        if (ok_ && ::setrlimit(RLIMIT_FSIZE, &old_) != 0) {
            // A leaked limit would break every later test of the process: stop here.
            std::fprintf(stderr, "could not restore RLIMIT_FSIZE\n");
            std::abort();
        }
        ::signal(SIGXFSZ, old_handler_);
    }
    file_size_limit_guard(const file_size_limit_guard&) = delete;
    file_size_limit_guard& operator=(const file_size_limit_guard&) = delete;

    bool ok() const noexcept { return ok_; }

private:
    rlimit old_{};
    bool ok_ = false;
    sighandler_t old_handler_ = SIG_DFL;
};

}  // namespace gregor::storage::test
