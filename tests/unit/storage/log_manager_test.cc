// The log manager over real directories: parallel load, clean and unclean restarts, the
// recovery-point and high-watermark checkpoints, directory locking and offline directories,
// the flusher, deletion, and the bound on open sealed segments.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "broker/storage/log_manager.h"
#include "broker/storage/offset_checkpoint.h"
#include "common/record_batch.h"

namespace gregor::storage {
namespace {
namespace fs = std::filesystem;

class temp_dir {
public:
    temp_dir() {
        char tmpl[] = "/tmp/gregor-lm-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::vector<std::byte> make_batch(int records, const std::string& tag) {
    record_batch::batch_builder b;
    for (int i = 0; i < records; ++i) {
        b.add(1'700'000'000'000 + i, "k" + std::to_string(i), tag + "-" + std::to_string(i));
    }
    return b.build();
}

void append(log& l, int records, const std::string& tag) {
    auto batch = make_batch(records, tag);
    auto r = l.append(batch, 0);
    ASSERT_TRUE(r.ok()) << r.error().message;
}

log_manager_config config_for(std::vector<fs::path> dirs) {
    log_manager_config c;
    c.log_dirs = std::move(dirs);
    c.recovery_threads_per_dir = 2;
    return c;
}

// Polls `cond` until it holds or `limit` passes; the flusher runs on its own thread.
template <typename F>
bool eventually(F cond, std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (cond()) return true;
        std::this_thread::yield();
    }
    return cond();
}

TEST(LogManager, CleanRestartLoadsEveryPartitionWithoutRecovery) {
    temp_dir a, b;
    std::map<topic_partition, int64_t> ends;
    {
        auto m = log_manager::open(config_for({a.path(), b.path()}));
        ASSERT_TRUE(m.ok()) << m.error().message;
        for (int p = 0; p < 20; ++p) {
            topic_partition tp{"orders", p};
            auto l = (*m)->get_or_create(tp, log_config{});
            ASSERT_TRUE(l.ok());
            for (int i = 0; i <= p % 4; ++i) append(**l, 3, "v");
            ends[tp] = (*l)->log_end_offset();
        }
        ASSERT_TRUE((*m)->shutdown().ok());
        EXPECT_TRUE(fs::exists(a.path() / kCleanShutdownMarker));
        EXPECT_TRUE(fs::exists(b.path() / kCleanShutdownMarker));
    }
    auto m = log_manager::open(config_for({a.path(), b.path()}));
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_FALSE(fs::exists(a.path() / kCleanShutdownMarker)) << "a later crash must recover";
    ASSERT_EQ((*m)->partitions().size(), 20u);
    for (const auto& [tp, end] : ends) {
        auto l = (*m)->get(tp);
        ASSERT_NE(l, nullptr);
        EXPECT_EQ(l->log_end_offset(), end);
        EXPECT_EQ(l->load_report().segments_recovered, 0u) << tp.dir_name();
    }
}

TEST(LogManager, NewPartitionsSpreadOverTheLeastLoadedDirectory) {
    temp_dir a, b;
    auto m = log_manager::open(config_for({a.path(), b.path()}));
    ASSERT_TRUE(m.ok());
    for (int p = 0; p < 6; ++p) ASSERT_TRUE((*m)->get_or_create({"t", p}, log_config{}).ok());
    size_t in_a = 0, in_b = 0;
    for (int p = 0; p < 6; ++p) {
        in_a += fs::exists(a.path() / ("t-" + std::to_string(p)));
        in_b += fs::exists(b.path() / ("t-" + std::to_string(p)));
    }
    EXPECT_EQ(in_a, 3u);
    EXPECT_EQ(in_b, 3u);
}

TEST(LogManager, CrashWithoutShutdownRecoversUnflushedSegments) {
    temp_dir a;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The "broker" appends and dies without a clean shutdown.
        auto m = log_manager::open(config_for({a.path()}));
        if (!m) ::_exit(2);
        auto l = (*m)->get_or_create({"events", 0}, log_config{});
        if (!l) ::_exit(3);
        for (int i = 0; i < 10; ++i) {
            auto batch = make_batch(5, "crash");
            if (!(*l)->append(batch, 0)) ::_exit(4);
        }
        ::_exit(0);
    }
    int wstatus = 0;
    ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
    ASSERT_TRUE(WIFEXITED(wstatus));
    ASSERT_EQ(WEXITSTATUS(wstatus), 0);
    EXPECT_FALSE(fs::exists(a.path() / kCleanShutdownMarker));

    auto m = log_manager::open(config_for({a.path()}));
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto l = (*m)->get({"events", 0});
    ASSERT_NE(l, nullptr);
    EXPECT_GE(l->load_report().segments_recovered, 1u);
    EXPECT_EQ(l->log_end_offset(), 50);  // the page cache outlived the process
}

TEST(LogManager, FlushMessagesTriggersTheBackgroundFlusherAndCheckpoint) {
    temp_dir a;
    auto cfg = config_for({a.path()});
    cfg.checkpoint_interval_ms = 0;
    auto m = log_manager::open(cfg);
    ASSERT_TRUE(m.ok());
    log_config lc;
    lc.flush_interval_messages = 5;
    auto l = (*m)->get_or_create({"durable", 0}, lc);
    ASSERT_TRUE(l.ok());
    append(**l, 5, "x");
    ASSERT_TRUE(eventually([&] { return (*l)->recovery_point() == 5; }))
        << "recovery point " << (*l)->recovery_point();
    ASSERT_TRUE(eventually([&] {
        auto points = read_offset_checkpoint(a.path() / kRecoveryPointCheckpoint);
        return points.ok() && points->contains({"durable", 0}) && points->at({"durable", 0}) == 5;
    }));
}

TEST(LogManager, FlushMsFlushesOnSchedule) {
    temp_dir a;
    auto cfg = config_for({a.path()});
    cfg.flush_check_interval_ms = 10;
    auto m = log_manager::open(cfg);
    ASSERT_TRUE(m.ok());
    log_config lc;
    lc.flush_interval_ms = 0;
    auto l = (*m)->get_or_create({"timed", 0}, lc);
    ASSERT_TRUE(l.ok());
    append(**l, 3, "x");
    EXPECT_TRUE(eventually([&] { return (*l)->recovery_point() == 3; }));
}

TEST(LogManager, SecondProcessOnTheSameDirectoryIsRefused) {
    temp_dir a;
    auto first = log_manager::open(config_for({a.path()}));
    ASSERT_TRUE(first.ok());
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto second = log_manager::open(config_for({a.path()}));
        ::_exit(!second.ok() && second.error().message.find("in use") != std::string::npos ? 0 : 1);
    }
    int wstatus = 0;
    ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
}

TEST(LogManager, UnusableDirectoryGoesOfflineWhileOthersServe) {
    temp_dir a, b;
    const fs::path not_a_dir = b.path() / "file";
    std::ofstream(not_a_dir) << "x";
    auto m = log_manager::open(config_for({not_a_dir, a.path()}));
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto dirs = (*m)->dirs();
    EXPECT_TRUE(dirs[0]->offline());
    EXPECT_FALSE(dirs[1]->offline());
    auto l = (*m)->get_or_create({"t", 0}, log_config{});
    ASSERT_TRUE(l.ok());
    EXPECT_EQ((*l)->dir().parent_path(), a.path());

    auto none = log_manager::open(config_for({not_a_dir}));
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, errc::kafka_storage_error);
}

TEST(LogManager, DeleteRemovesTheDirectoryAndInterruptedDeletesAreFinished) {
    temp_dir a;
    {
        auto m = log_manager::open(config_for({a.path()}));
        ASSERT_TRUE(m.ok());
        auto l = (*m)->get_or_create({"gone", 0}, log_config{});
        ASSERT_TRUE(l.ok());
        append(**l, 2, "x");
        ASSERT_TRUE((*m)->delete_log({"gone", 0}).ok());
        EXPECT_FALSE(fs::exists(a.path() / "gone-0"));
        EXPECT_EQ((*m)->get({"gone", 0}), nullptr);
        EXPECT_EQ((*m)->delete_log({"gone", 0}).code, errc::unknown_topic_or_partition);
        ASSERT_TRUE((*m)->shutdown().ok());
    }
    fs::create_directories(a.path() / "half-0.12345-delete");
    fs::create_directories(a.path() / "not_a_partition");
    auto m = log_manager::open(config_for({a.path()}));
    ASSERT_TRUE(m.ok());
    EXPECT_FALSE(fs::exists(a.path() / "half-0.12345-delete"));
    EXPECT_TRUE(fs::exists(a.path() / "not_a_partition")) << "foreign directories are left alone";
    EXPECT_TRUE((*m)->partitions().empty());
}

TEST(LogManager, OpenSealedSegmentsStayWithinTheLimit) {
    temp_dir a;
    auto cfg = config_for({a.path()});
    cfg.max_open_segments = 8;
    log_config lc;
    lc.segment_bytes = 1024;
    {
        auto m = log_manager::open(cfg);
        ASSERT_TRUE(m.ok());
        for (int p = 0; p < 30; ++p) {
            auto l = (*m)->get_or_create({"many", p}, lc);
            ASSERT_TRUE(l.ok());
            for (int i = 0; i < 10; ++i) append(**l, 10, "payload-payload-payload");
            ASSERT_GT((*l)->segment_count(), 3u);
            EXPECT_LE((*m)->limiter().open_count(), 8u);
        }
        ASSERT_TRUE((*m)->shutdown().ok());
    }
    auto m = log_manager::open(cfg);
    ASSERT_TRUE(m.ok());
    for (int p = 0; p < 30; ++p) {
        auto l = (*m)->get({"many", p});
        ASSERT_NE(l, nullptr);
        l->set_config(lc);
        for (int64_t off = 0; off < l->log_end_offset(); off += 10) {
            auto r = l->read(off, 1 << 20);
            ASSERT_TRUE(r.ok()) << r.error().message;
            EXPECT_EQ(r->range.first_offset, off);
            EXPECT_LE((*m)->limiter().open_count(), 8u);
        }
    }
}

TEST(LogManager, CorruptCheckpointMeansFullRecoveryNotFailure) {
    temp_dir a;
    {
        auto m = log_manager::open(config_for({a.path()}));
        ASSERT_TRUE(m.ok());
        auto l = (*m)->get_or_create({"cp", 0}, log_config{});
        ASSERT_TRUE(l.ok());
        append(**l, 4, "x");
        ASSERT_TRUE((*m)->shutdown().ok());
    }
    std::ofstream(a.path() / kRecoveryPointCheckpoint, std::ios::trunc) << "garbage\n";
    auto m = log_manager::open(config_for({a.path()}));
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto l = (*m)->get({"cp", 0});
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->log_end_offset(), 4);
    EXPECT_GE(l->load_report().segments_recovered, 1u);
}

TEST(LogManager, HighWatermarksAreCheckpointedPerDirectoryAndRestored) {
    temp_dir a, b;
    std::map<topic_partition, int64_t> hws;
    std::map<topic_partition, fs::path> homes;
    {
        auto m = log_manager::open(config_for({a.path(), b.path()}));
        ASSERT_TRUE(m.ok()) << m.error().message;
        for (int p = 0; p < 4; ++p) {
            topic_partition tp{"replicated", p};
            auto l = (*m)->get_or_create(tp, log_config{});
            ASSERT_TRUE(l.ok());
            append(**l, 5 + p, "v");
            (*l)->set_high_watermark(2 + p);
            hws[tp] = 2 + p;
            homes[tp] = (*l)->dir().parent_path();
        }
        ASSERT_TRUE((*m)->shutdown().ok());
    }
    for (const auto& dir : {a.path(), b.path()}) {
        auto file = read_offset_checkpoint(dir / kReplicationOffsetCheckpoint);
        ASSERT_TRUE(file.ok()) << file.error().message;
        offset_map want;
        for (const auto& [tp, hw] : hws) {
            if (homes[tp] == dir) want[tp] = hw;
        }
        EXPECT_EQ(*file, want) << dir;
        EXPECT_EQ(want.size(), 2u);
    }
    auto m = log_manager::open(config_for({a.path(), b.path()}));
    ASSERT_TRUE(m.ok()) << m.error().message;
    for (const auto& [tp, hw] : hws) {
        auto l = (*m)->get(tp);
        ASSERT_NE(l, nullptr);
        EXPECT_EQ(l->high_watermark(), hw) << tp.dir_name();
        EXPECT_EQ(l->load_report().segments_recovered, 0u) << "a clean shutdown skips recovery";
    }
}

TEST(LogManager, TheFlusherCheckpointsHighWatermarksWithRecoveryPoints) {
    temp_dir a;
    auto cfg = config_for({a.path()});
    cfg.checkpoint_interval_ms = 0;
    cfg.flush_check_interval_ms = 10;
    auto m = log_manager::open(cfg);
    ASSERT_TRUE(m.ok());
    auto l = (*m)->get_or_create({"hw", 0}, log_config{});
    ASSERT_TRUE(l.ok());
    append(**l, 6, "x");
    (*l)->set_high_watermark(4);
    EXPECT_TRUE(eventually([&] {
        auto hw = read_offset_checkpoint(a.path() / kReplicationOffsetCheckpoint);
        auto rp = read_offset_checkpoint(a.path() / kRecoveryPointCheckpoint);
        return hw.ok() && rp.ok() && hw->contains({"hw", 0}) && hw->at({"hw", 0}) == 4 &&
               rp->contains({"hw", 0});
    }));
}

TEST(LogManager, ACheckpointedHighWatermarkPastTheLogIsClampedAndABadFileIsNotFatal) {
    temp_dir a;
    {
        auto m = log_manager::open(config_for({a.path()}));
        ASSERT_TRUE(m.ok());
        auto l = (*m)->get_or_create({"hw", 0}, log_config{});
        ASSERT_TRUE(l.ok());
        append(**l, 3, "x");
        ASSERT_TRUE((*m)->shutdown().ok());
    }
    ASSERT_TRUE(write_offset_checkpoint(a.path() / kReplicationOffsetCheckpoint, {{{"hw", 0}, 99}}).ok());
    {
        auto m = log_manager::open(config_for({a.path()}));
        ASSERT_TRUE(m.ok()) << m.error().message;
        EXPECT_EQ((*m)->get({"hw", 0})->high_watermark(), 3);
        ASSERT_TRUE((*m)->shutdown().ok());
    }
    std::ofstream(a.path() / kReplicationOffsetCheckpoint, std::ios::trunc) << "garbage\n";
    auto m = log_manager::open(config_for({a.path()}));
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto l = (*m)->get({"hw", 0});
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->high_watermark(), 0);
    EXPECT_EQ(l->log_end_offset(), 3);
    EXPECT_EQ(l->load_report().segments_recovered, 0u) << "the high watermarks do not vouch for logs";
}

TEST(OffsetCheckpoint, RoundTripsAndRejectsMalformedFiles) {
    temp_dir a;
    const auto path = a.path() / "cp";
    offset_map m{{{"a-b", 0}, 5}, {{"a-b", 10}, 0}, {{"x", 3}, 123456789012}};
    ASSERT_TRUE(write_offset_checkpoint(path, m).ok());
    auto back = read_offset_checkpoint(path);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, m);
    EXPECT_TRUE(read_offset_checkpoint(a.path() / "missing")->empty());
    for (const char* bad : {"1\n0\n", "0\n2\nx 0 1\n", "0\nx\n", "0\n1\nx -1 5\n", "0\n1\nx 0 5 9\n"}) {
        std::ofstream(path, std::ios::trunc) << bad;
        auto r = read_offset_checkpoint(path);
        EXPECT_FALSE(r.ok()) << bad;
    }
}

}  // namespace
}  // namespace gregor::storage
