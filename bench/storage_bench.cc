// Throughput of the partition log (broker/storage) beside the machine's own memcpy, so that
// the figures can be quoted as ratios: append of 16 KiB RecordBatch v2 batches of 100-byte
// records to one log and round-robin to 1,000 logs, the read-back a fetch does (log::read, then
// pread of the returned range), full recovery of a 1 GiB log, and the CRC32C and validation
// that bound append and recovery. run_storage_bench.sh runs it beside dd in the same run.
//
// Data goes to a fresh directory under --data_dir=<dir> (default $TMPDIR, else /tmp), removed
// at exit; at most ~3 GiB lives there at once. Every figure is wall-clock (UseRealTime), so
// time spent waiting for the kernel or the disk counts. Single-threaded, like a partition's
// owner thread.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/storage/file_handle.h"
#include "broker/storage/log.h"
#include "broker/storage/log_manager.h"
#include "common/crc32c.h"
#include "common/logger.h"
#include "common/record_batch.h"

namespace {

namespace fs = std::filesystem;
namespace rb = gregor::record_batch;
using gregor::storage::log;
using gregor::storage::log_manager;

constexpr size_t kBatchBytes = 16 << 10;
constexpr size_t kValueBytes = 100;
// Upper bound of a record's framing around its value: length, attributes, timestamp and
// offset deltas, key and value lengths, header count, each a varint of at most 3 bytes here.
constexpr size_t kRecordFramingBound = 16;
// Distinct batches cycled through: 1 MiB of source, so the source stays in cache as a
// producer's request buffer would be, while the destination streams through memory.
constexpr size_t kDistinctBatches = 64;
// Batches per append or memcpy run: 1 GiB, enough to stream far past every cache and small
// enough that the dirty pages of one run stay under the kernel's background-writeback
// threshold on a machine with a few GiB of memory.
constexpr int64_t kBatchesPerRun = 65536;
constexpr size_t kPartitions = 1000;
constexpr size_t kFetchMaxBytes = 1 << 20;
constexpr size_t kMemcpyDestBytes = 256 << 20;

fs::path g_root;  // the run's data directory, made in main()

struct workload {
    std::vector<std::vector<std::byte>> batches;  // mutable: append rewrites offsets in place
    int32_t records_per_batch = 0;
    size_t batch_bytes = 0;
};

// kDistinctBatches batches of kValueBytes-byte values with no key, each as close to
// kBatchBytes as whole records allow; every batch has the same size and record count.
workload& batches() {
    static workload w = [] {
        workload out;
        std::mt19937_64 rng(42);
        std::string value(kValueBytes, '\0');
        rb::batch_builder builder;
        for (size_t b = 0; b < kDistinctBatches; ++b) {
            int64_t ts = 1'700'000'000'000;
            while (builder.size_bytes() + kValueBytes + kRecordFramingBound <= kBatchBytes) {
                for (auto& c : value) c = static_cast<char>('a' + rng() % 26);
                builder.add(ts++, std::nullopt, value);
            }
            out.records_per_batch = static_cast<int32_t>(builder.record_count());
            out.batches.push_back(builder.build());
        }
        out.batch_bytes = out.batches.front().size();
        return out;
    }();
    return w;
}

void set_rates(benchmark::State& state, int64_t batches_done, size_t bytes_per_batch,
               int32_t records_per_batch) {
    state.SetBytesProcessed(batches_done * static_cast<int64_t>(bytes_per_batch));
    state.counters["records/s"] = benchmark::Counter(
        static_cast<double>(batches_done) * records_per_batch, benchmark::Counter::kIsRate);
}

// Cuts every file under `dir` to zero length, dropping their dirty pages unwritten. Done before
// the logs close their files: log_segment::create ftruncate()s each new segment, and ext4
// (auto_da_alloc) then starts writeback of the whole file when it is closed, even once deleted:
// a GiB of disk writes per run, still going on while the next benchmark runs.
void drop_dirty_data(const fs::path& dir) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) fs::resize_file(e.path(), 0);
    }
}

fs::path fresh_dir(const std::string& name) {
    const fs::path d = g_root / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

std::unique_ptr<log> open_log(const fs::path& dir, bool clean, int64_t recovery_point) {
    gregor::storage::log_options o;
    o.dir = dir;
    o.clean_shutdown = clean;
    o.recovery_point = recovery_point;
    auto l = log::open(std::move(o));
    if (!l) {
        std::fprintf(stderr, "storage_bench: open %s: %s\n", dir.c_str(),
                     l.error().message.c_str());
        std::exit(1);
    }
    return std::move(*l);
}

std::unique_ptr<log_manager> open_manager(const fs::path& dir) {
    gregor::storage::log_manager_config c;
    c.log_dirs = {dir};
    auto m = log_manager::open(std::move(c));
    if (!m) {
        std::fprintf(stderr, "storage_bench: log manager in %s: %s\n", dir.c_str(),
                     m.error().message.c_str());
        std::exit(1);
    }
    return std::move(*m);
}

gregor::topic_partition partition(size_t i) { return {"bench", static_cast<int32_t>(i)}; }

std::vector<std::shared_ptr<log>> create_partitions(log_manager& m) {
    std::vector<std::shared_ptr<log>> logs;
    for (size_t i = 0; i < kPartitions; ++i) {
        auto l = m.get_or_create(partition(i), gregor::storage::log_config{});
        if (!l) {
            std::fprintf(stderr, "storage_bench: create partition %zu: %s\n", i,
                         l.error().message.c_str());
            std::exit(1);
        }
        logs.push_back(std::move(*l));
    }
    return logs;
}

// Removes every partition of `m` and then `m`, without the clean shutdown that would first
// fsync every log and index.
void discard(std::unique_ptr<log_manager> m) {
    for (size_t i = 0; i < kPartitions; ++i) m->delete_log(partition(i)).ignore_error();
}

// Appends `count` batches round-robin over `logs` to set up a benchmark; exits on failure.
void fill(std::span<const std::shared_ptr<log>> logs, int64_t count) {
    auto& w = batches();
    for (int64_t i = 0; i < count; ++i) {
        auto& b = w.batches[static_cast<size_t>(i) % kDistinctBatches];
        if (auto r = logs[static_cast<size_t>(i) % logs.size()]->append(b, 0); !r) {
            std::fprintf(stderr, "storage_bench: append: %s\n", r.error().message.c_str());
            std::exit(1);
        }
    }
}

// One batch per append, round-robin over `logs`.
void append_loop(benchmark::State& state, std::span<const std::shared_ptr<log>> logs) {
    auto& w = batches();
    size_t i = 0;
    size_t p = 0;
    for (auto _ : state) {
        auto& b = w.batches[i++ % kDistinctBatches];
        if (auto r = logs[p]->append(b, 0); !r) {
            state.SkipWithError(r.error().message.c_str());
            break;
        }
        if (++p == logs.size()) p = 0;
    }
    set_rates(state, state.iterations(), w.batch_bytes, w.records_per_batch);
}

// memcpy of the same 16 KiB batches into a reused 256 MiB buffer: the memory bandwidth a
// write() into the page cache would have if the kernel cost nothing.
void BM_Memcpy(benchmark::State& state) {
    auto& w = batches();
    static std::vector<std::byte> dest(kMemcpyDestBytes, std::byte{1});
    size_t at = 0;
    int64_t i = 0;
    for (auto _ : state) {
        const auto& b = w.batches[static_cast<size_t>(i++) % kDistinctBatches];
        if (at + b.size() > dest.size()) at = 0;
        std::memcpy(dest.data() + at, b.data(), b.size());
        at += b.size();
        benchmark::ClobberMemory();
    }
    set_rates(state, state.iterations(), w.batch_bytes, w.records_per_batch);
}
BENCHMARK(BM_Memcpy)->Iterations(kBatchesPerRun)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The same copy into memory never touched before: adds a page fault and the zeroing of a
// fresh page every 4 KiB, the cost the page cache partly shares (it allocates, but does not
// zero, a page for each full-page write).
void BM_MemcpyFreshPages(benchmark::State& state) {
    auto& w = batches();
    const size_t bytes = static_cast<size_t>(kBatchesPerRun) * w.batch_bytes;
    void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        state.SkipWithError("mmap failed");
        return;
    }
    auto* dest = static_cast<std::byte*>(mem);
    size_t at = 0;
    int64_t i = 0;
    for (auto _ : state) {
        const auto& b = w.batches[static_cast<size_t>(i++) % kDistinctBatches];
        std::memcpy(dest + at, b.data(), b.size());
        at += b.size();
        benchmark::ClobberMemory();
    }
    ::munmap(mem, bytes);  // after the loop: untimed
    set_rates(state, state.iterations(), w.batch_bytes, w.records_per_batch);
}
BENCHMARK(BM_MemcpyFreshPages)
    ->Iterations(kBatchesPerRun)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// pwrite of the batches to the end of a file: the kernel's own write path into the page
// cache, the floor under log::append (which adds validation and indexing).
void BM_PwritePageCache(benchmark::State& state) {
    auto& w = batches();
    const fs::path dir = fresh_dir("pwrite");
    auto f = gregor::storage::file_handle::open(dir / "data", true);
    if (!f) {
        state.SkipWithError(f.error().message.c_str());
        return;
    }
    uint64_t at = 0;
    int64_t i = 0;
    for (auto _ : state) {
        const auto& b = w.batches[static_cast<size_t>(i++) % kDistinctBatches];
        if (auto s = (*f)->write_at(at, b); !s.ok()) {
            state.SkipWithError(s.message.c_str());
            break;
        }
        at += b.size();
    }
    f->reset();
    fs::remove_all(dir);  // the dirty pages go unwritten
    set_rates(state, state.iterations(), w.batch_bytes, w.records_per_batch);
}
BENCHMARK(BM_PwritePageCache)
    ->Iterations(kBatchesPerRun)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// What append costs in CPU before any byte is written: CRC32C and the walk of every record.
void BM_ValidateBatch(benchmark::State& state) {
    auto& w = batches();
    int64_t i = 0;
    for (auto _ : state) {
        const auto& b = w.batches[static_cast<size_t>(i++) % kDistinctBatches];
        if (auto s = rb::validate(b, b.size()); !s.ok()) {
            state.SkipWithError(s.message.c_str());
            break;
        }
    }
    set_rates(state, state.iterations(), w.batch_bytes, w.records_per_batch);
}
BENCHMARK(BM_ValidateBatch)->UseRealTime();

// One 16 KiB batch per append, as a producer with linger sends one batch per partition per
// request; the request buffer is already in memory, so the append is timed from it directly.
void BM_AppendSinglePartition(benchmark::State& state) {
    const fs::path dir = fresh_dir("append-1");
    const std::vector<std::shared_ptr<log>> logs{open_log(dir / "bench-0", false, 0)};
    append_loop(state, logs);
    drop_dirty_data(dir);
    fs::remove_all(dir);
}
BENCHMARK(BM_AppendSinglePartition)
    ->Iterations(kBatchesPerRun)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The same volume round-robin over 1,000 partitions of one log_manager: every append lands
// in a different file, so the kernel's per-file state and the log's per-partition state are
// cold in the CPU caches.
void BM_Append1000Partitions(benchmark::State& state) {
    const fs::path dir = fresh_dir("append-1000");
    auto manager = open_manager(dir);
    append_loop(state, create_partitions(*manager));
    drop_dirty_data(dir);
    discard(std::move(manager));
    fs::remove_all(dir);
}
BENCHMARK(BM_Append1000Partitions)
    ->Iterations(kBatchesPerRun)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// About 1 GiB written once for each read-back benchmark, flushed so that it sits clean in the
// page cache and no writeback competes with the reads.
struct read_fixture {
    std::unique_ptr<log_manager> manager;  // the 1,000-partition case only
    std::vector<std::shared_ptr<log>> logs;
};
std::unique_ptr<read_fixture> g_read_single;
std::unique_ptr<read_fixture> g_read_many;

read_fixture& read_single() {
    if (!g_read_single) {
        g_read_single = std::make_unique<read_fixture>();
        g_read_single->logs.push_back(open_log(fresh_dir("read-1") / "bench-0", false, 0));
        fill(g_read_single->logs, kBatchesPerRun);
        g_read_single->logs.front()->flush().ignore_error();
    }
    return *g_read_single;
}

read_fixture& read_many() {
    if (!g_read_many) {
        g_read_many = std::make_unique<read_fixture>();
        g_read_many->manager = open_manager(fresh_dir("read-1000"));
        g_read_many->logs = create_partitions(*g_read_many->manager);
        // As many batches per partition as one fetch returns, so every read is a full one.
        const auto per_fetch = static_cast<int64_t>(kFetchMaxBytes / batches().batch_bytes);
        fill(g_read_many->logs, per_fetch * static_cast<int64_t>(kPartitions));
        for (const auto& l : g_read_many->logs) l->flush().ignore_error();
    }
    return *g_read_many;
}

struct fetched {
    int64_t next_offset;
    int64_t bytes;
    int64_t records;
};

// One fetch of up to kFetchMaxBytes from `offset`, as a consumer does it: the log finds the
// range, its bytes are copied out (pread, what a fetch without sendfile sends), and the next
// offset is the one after the last batch received, 0 once the log's end is reached.
gregor::result<fetched> fetch(log& l, int64_t offset, std::span<std::byte> buf) {
    auto r = l.read(offset, kFetchMaxBytes);
    if (!r) return r.error();
    const auto& range = r->range;
    auto got = range.file->read_at(range.position, buf.first(range.size));
    if (!got) return got.error();
    if (*got != range.size) return gregor::status(gregor::errc::corrupt_message, "short pread");
    fetched out{offset, range.size, 0};
    for (std::span<const std::byte> rest = buf.first(range.size); !rest.empty();) {
        const rb::frame f = rb::next_frame(rest);
        const rb::batch_view v(rest.first(f.size));
        out.records += v.record_count();
        out.next_offset = v.last_offset() + 1;
        rest = rest.subspan(f.size);
    }
    if (out.next_offset == l.log_end_offset()) out.next_offset = 0;
    return out;
}

// Fetches from each log in turn, each from its start and round again at its end. One untimed
// pass over everything first puts it all in the page cache, whatever ran before (a cold
// recovery empties the cache).
void read_back(benchmark::State& state, read_fixture& fx) {
    std::vector<std::byte> buf(kFetchMaxBytes);
    for (const auto& l : fx.logs) {
        int64_t offset = 0;
        do {
            auto f = fetch(*l, offset, buf);
            if (!f) {
                state.SkipWithError(f.error().message.c_str());
                return;
            }
            offset = f->next_offset;
        } while (offset != 0);
    }
    std::vector<int64_t> next(fx.logs.size(), 0);
    size_t p = 0;
    int64_t bytes = 0;
    int64_t records = 0;
    for (auto _ : state) {
        auto f = fetch(*fx.logs[p], next[p], buf);
        if (!f) {
            state.SkipWithError(f.error().message.c_str());
            break;
        }
        bytes += f->bytes;
        records += f->records;
        next[p] = f->next_offset;
        if (++p == fx.logs.size()) p = 0;
    }
    state.SetBytesProcessed(bytes);
    state.counters["records/s"] =
        benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
    state.counters["bytes/read"] =
        benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kAvgIterations);
}

void BM_ReadBackSinglePartition(benchmark::State& state) { read_back(state, read_single()); }
BENCHMARK(BM_ReadBackSinglePartition)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_ReadBack1000Partitions(benchmark::State& state) { read_back(state, read_many()); }
BENCHMARK(BM_ReadBack1000Partitions)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Empties the page cache, so that the next read of the log comes from the disk; false when
// not permitted (not root, or no write access to /proc/sys).
bool drop_page_cache() {
    ::sync();
    const int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, "1", 1) == 1;
    ::close(fd);
    return ok;
}

const fs::path& recovery_dir() {
    static const fs::path dir = [] {
        const fs::path d = fresh_dir("recovery") / "bench-0";
        fill(std::vector<std::shared_ptr<log>>{open_log(d, false, 0)}, kBatchesPerRun);
        // The log was dropped unclosed: no index files, no clean marker, as after a crash. Its
        // bytes are synced so that a cold run reads them from the disk.
        ::sync();
        return d;
    }();
    return dir;
}

// log::open after an unclean shutdown with recovery point 0: every batch of the 1 GiB segment
// is read and CRC-checked and the indexes are rebuilt. Arg 0: the log's pages are cached;
// arg 1: the page cache is dropped before each open, so the scan reads from the disk.
void BM_Recovery1GiB(benchmark::State& state) {
    const bool cold = state.range(0) == 1;
    const fs::path& dir = recovery_dir();
    const auto bytes =
        static_cast<int64_t>(fs::file_size(dir / gregor::storage::segment_file_name(0, ".log")));
    if (cold && !drop_page_cache()) {
        state.SkipWithError("cannot write /proc/sys/vm/drop_caches (root needed)");
        return;
    }
    if (!cold) open_log(dir, false, 0);  // brings every page into the cache, untimed
    int64_t records = 0;
    for (auto _ : state) {
        if (cold) {
            state.PauseTiming();
            drop_page_cache();
            state.ResumeTiming();
        }
        auto l = open_log(dir, false, 0);
        if (l->load_report().segments_recovered != 1 || l->load_report().bytes_truncated != 0) {
            state.SkipWithError("recovery did not scan the whole segment cleanly");
            break;
        }
        records += l->log_end_offset();
        state.PauseTiming();
        l.reset();
        state.ResumeTiming();
    }
    state.SetBytesProcessed(bytes * state.iterations());
    state.counters["records/s"] =
        benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Recovery1GiB)
    ->ArgName("cold")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

using crc_fn = uint32_t (*)(uint32_t, std::span<const std::byte>) noexcept;

// CRC32C over one batch-sized block in cache: the per-byte CPU bound of validation and of a
// warm recovery.
void BM_Crc32c(benchmark::State& state, crc_fn fn, bool needs_hardware) {
    if (needs_hardware && !gregor::crc32c::hardware_accelerated()) {
        state.SkipWithError("this CPU has no SSE4.2: extend() runs the portable code");
        return;
    }
    const auto& b = batches().batches.front();
    const auto block = std::span<const std::byte>(b).first(static_cast<size_t>(state.range(0)));
    uint32_t crc = 0;
    for (auto _ : state) {
        crc = fn(crc, block);
        benchmark::DoNotOptimize(crc);
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK_CAPTURE(BM_Crc32c, hardware, &gregor::crc32c::extend, true)
    ->Arg(16 << 10)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Crc32c, portable, &gregor::crc32c::extend_portable, false)
    ->Arg(16 << 10)
    ->UseRealTime();

// Takes --data_dir=<dir> out of argv (benchmark::Initialize rejects flags it does not know).
fs::path take_data_dir_flag(int& argc, char** argv) {
    const char* tmp = std::getenv("TMPDIR");
    fs::path dir = tmp && *tmp ? tmp : "/tmp";
    constexpr std::string_view kFlag = "--data_dir=";
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a.starts_with(kFlag)) {
            dir = a.substr(kFlag.size());
        } else {
            argv[out++] = argv[i];
        }
    }
    argc = out;
    return dir;
}

}  // namespace

int main(int argc, char** argv) {
    const fs::path parent = take_data_dir_flag(argc, argv);
    std::string templ = (parent / "storage_bench.XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
        std::fprintf(stderr, "storage_bench: cannot make a directory under %s: %s\n",
                     parent.c_str(), std::strerror(errno));
        return 1;
    }
    g_root = templ;
    gregor::logging::set_level("warn");

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        fs::remove_all(g_root);
        return 1;
    }
    benchmark::AddCustomContext("data_dir", g_root.string());
    benchmark::AddCustomContext("crc32c",
                                gregor::crc32c::hardware_accelerated() ? "sse4.2" : "portable");
    benchmark::AddCustomContext("batch_bytes", std::to_string(batches().batch_bytes));
    benchmark::AddCustomContext("records_per_batch", std::to_string(batches().records_per_batch));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    g_read_single.reset();
    if (g_read_many) discard(std::move(g_read_many->manager));
    g_read_many.reset();
    fs::remove_all(g_root);
    return 0;
}
