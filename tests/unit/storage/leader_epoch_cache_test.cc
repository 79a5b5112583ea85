// The leader epoch cache on its own: Kafka's assign rules (the latest epoch again, conflicting
// entries dropped), endOffsetFor's answers, truncation from either end, the checkpoint file's
// exact text, reload, writes only on change, and malformed files.
#include "broker/storage/leader_epoch_cache.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/storage/log_test_support.h"

namespace gregor::storage {
namespace {

using namespace gregor::storage::test;
using entries = std::vector<epoch_entry>;

std::string file_text(const fs::path& p) {
    const bytes b = read_file(p);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

void write_text(const fs::path& p, const std::string& text) {
    write_file(p, bytes(reinterpret_cast<const std::byte*>(text.data()),
                        reinterpret_cast<const std::byte*>(text.data()) + text.size()));
}

class leader_epoch_cache_test : public ::testing::Test {
protected:
    // A load that fails throws from value(), which googletest reports as a failure.
    leader_epoch_cache load() {
        auto c = leader_epoch_cache::load(path_);
        EXPECT_TRUE(c.ok()) << c.error().message;
        return std::move(c).value();
    }

    // A cache holding exactly `want`, assigned in order.
    leader_epoch_cache with(const entries& want) {
        auto c = load();
        for (const auto& e : want) EXPECT_TRUE(c.assign(e.epoch, e.start_offset).ok());
        EXPECT_EQ(c.entries(), want);
        return c;
    }

    temp_dir tmp_{memory_temp_base()};
    fs::path path_ = tmp_.path() / kLeaderEpochCheckpoint;
};

TEST_F(leader_epoch_cache_test, MissingFileIsAnEmptyCacheAndIsNotCreated) {
    auto c = load();
    EXPECT_TRUE(c.entries().empty());
    EXPECT_FALSE(c.file_exists());
    EXPECT_EQ(c.latest_epoch(), std::nullopt);
    EXPECT_FALSE(fs::exists(path_));
}

TEST_F(leader_epoch_cache_test, AssignAppendsNewerEpochsInKafkasTextFormat) {
    auto c = with({{2, 10}, {4, 20}, {7, 35}});
    EXPECT_EQ(c.latest_epoch(), 7);
    EXPECT_TRUE(c.file_exists());
    EXPECT_EQ(file_text(path_), "0\n3\n2 10\n4 20\n7 35\n");
}

TEST_F(leader_epoch_cache_test, TheLatestEpochAgainAtALaterOffsetChangesNothingAndWritesNothing) {
    auto c = with({{2, 10}, {4, 20}});
    fs::remove(path_);
    ASSERT_TRUE(c.assign(4, 20).ok());
    ASSERT_TRUE(c.assign(4, 25).ok());
    EXPECT_EQ(c.entries(), (entries{{2, 10}, {4, 20}}));
    EXPECT_FALSE(fs::exists(path_)) << "an assign that changes nothing must not write";
}

TEST_F(leader_epoch_cache_test, TheLatestEpochAtAnEarlierOffsetMovesItsStart) {
    auto c = with({{2, 10}, {4, 20}});
    ASSERT_TRUE(c.assign(4, 15).ok());
    EXPECT_EQ(c.entries(), (entries{{2, 10}, {4, 15}}));
    EXPECT_EQ(file_text(path_), "0\n2\n2 10\n4 15\n");
}

TEST_F(leader_epoch_cache_test, AnOlderEpochDropsEveryEntryItConflictsWith) {
    auto c = with({{1, 0}, {3, 10}, {5, 20}});
    ASSERT_TRUE(c.assign(4, 25).ok());  // epoch 5 is >= 4
    EXPECT_EQ(c.entries(), (entries{{1, 0}, {3, 10}, {4, 25}}));
    ASSERT_TRUE(c.assign(2, 30).ok());  // epochs 3 and 4 are >= 2
    EXPECT_EQ(c.entries(), (entries{{1, 0}, {2, 30}}));
    EXPECT_EQ(load().entries(), (entries{{1, 0}, {2, 30}}));
}

TEST_F(leader_epoch_cache_test, ANewerEpochStartingEarlierDropsEntriesAtOrAfterItsStart) {
    auto c = with({{1, 0}, {3, 10}, {5, 20}});
    ASSERT_TRUE(c.assign(6, 10).ok());
    EXPECT_EQ(c.entries(), (entries{{1, 0}, {6, 10}}));
}

TEST_F(leader_epoch_cache_test, NegativeEpochOrOffsetIsRefusedAndChangesNothing) {
    auto c = with({{1, 0}});
    EXPECT_EQ(c.assign(-1, 5).code, errc::invalid_request);
    EXPECT_EQ(c.assign(2, -1).code, errc::invalid_request);
    const std::vector<epoch_entry> batch = {{2, 5}, {-3, 9}};
    EXPECT_EQ(c.assign(batch).code, errc::invalid_request);
    EXPECT_EQ(c.entries(), (entries{{1, 0}}));
}

TEST_F(leader_epoch_cache_test, AssignOfManyWritesOnceWithTheSameRulesInOrder) {
    auto c = with({{1, 0}});
    const std::vector<epoch_entry> batch = {{1, 3}, {2, 5}, {2, 6}, {4, 9}};
    ASSERT_TRUE(c.assign(batch).ok());
    EXPECT_EQ(c.entries(), (entries{{1, 0}, {2, 5}, {4, 9}}));
    EXPECT_EQ(file_text(path_), "0\n3\n1 0\n2 5\n4 9\n");
}

TEST_F(leader_epoch_cache_test, EndOffsetForFollowsKafkasFloorAndHigherEntryRules) {
    auto c = with({{2, 10}, {4, 20}, {7, 35}});
    constexpr int64_t leo = 50;
    EXPECT_EQ(c.end_offset_for(-1, leo), (epoch_end{-1, -1})) << "undefined epoch";
    EXPECT_EQ(c.end_offset_for(0, leo), (epoch_end{0, 10})) << "below the first epoch";
    EXPECT_EQ(c.end_offset_for(1, leo), (epoch_end{1, 10})) << "below the first epoch";
    EXPECT_EQ(c.end_offset_for(2, leo), (epoch_end{2, 20}));
    EXPECT_EQ(c.end_offset_for(3, leo), (epoch_end{2, 20})) << "between: the floor epoch";
    EXPECT_EQ(c.end_offset_for(4, leo), (epoch_end{4, 35}));
    EXPECT_EQ(c.end_offset_for(6, leo), (epoch_end{4, 35})) << "between: the floor epoch";
    EXPECT_EQ(c.end_offset_for(7, leo), (epoch_end{7, leo})) << "the latest: the log end";
    EXPECT_EQ(c.end_offset_for(8, leo), (epoch_end{-1, -1})) << "above the latest";
}

TEST_F(leader_epoch_cache_test, EndOffsetForOnAnEmptyCacheIsUndefined) {
    auto c = load();
    EXPECT_EQ(c.end_offset_for(0, 0), (epoch_end{-1, -1}));
    EXPECT_EQ(c.end_offset_for(5, 100), (epoch_end{-1, -1}));
}

TEST_F(leader_epoch_cache_test, TruncateFromEndDropsEntriesStartingAtOrAfterTheEnd) {
    auto c = with({{2, 10}, {4, 20}, {7, 35}});
    fs::remove(path_);
    ASSERT_TRUE(c.truncate_from_end(36).ok());
    EXPECT_EQ(c.entries(), (entries{{2, 10}, {4, 20}, {7, 35}}));
    EXPECT_FALSE(fs::exists(path_)) << "nothing dropped, nothing written";
    ASSERT_TRUE(c.truncate_from_end(35).ok());
    EXPECT_EQ(c.entries(), (entries{{2, 10}, {4, 20}}));
    EXPECT_EQ(file_text(path_), "0\n2\n2 10\n4 20\n");
    ASSERT_TRUE(c.truncate_from_end(15).ok());
    EXPECT_EQ(c.entries(), (entries{{2, 10}}));
    ASSERT_TRUE(c.truncate_from_end(10).ok());
    EXPECT_TRUE(c.entries().empty());
    EXPECT_EQ(file_text(path_), "0\n0\n");
}

TEST_F(leader_epoch_cache_test, TruncateFromStartMovesTheLastEntryBeforeItToTheNewStart) {
    auto c = with({{2, 10}, {4, 20}, {7, 35}});
    fs::remove(path_);
    ASSERT_TRUE(c.truncate_from_start(5).ok());
    ASSERT_TRUE(c.truncate_from_start(10).ok());
    EXPECT_EQ(c.entries(), (entries{{2, 10}, {4, 20}, {7, 35}}));
    EXPECT_FALSE(fs::exists(path_)) << "nothing changed, nothing written";
    ASSERT_TRUE(c.truncate_from_start(25).ok());
    EXPECT_EQ(c.entries(), (entries{{4, 25}, {7, 35}}));
    EXPECT_EQ(file_text(path_), "0\n2\n4 25\n7 35\n");
    ASSERT_TRUE(c.truncate_from_start(35).ok());
    EXPECT_EQ(c.entries(), (entries{{7, 35}}));
    ASSERT_TRUE(c.truncate_from_start(40).ok());
    EXPECT_EQ(c.entries(), (entries{{7, 40}}));
    EXPECT_EQ(load().entries(), (entries{{7, 40}}));
}

TEST_F(leader_epoch_cache_test, ClearEmptiesTheFile) {
    auto c = with({{2, 10}, {4, 20}});
    ASSERT_TRUE(c.clear().ok());
    EXPECT_TRUE(c.entries().empty());
    EXPECT_EQ(file_text(path_), "0\n0\n");
    EXPECT_TRUE(load().entries().empty());
}

TEST_F(leader_epoch_cache_test, EntriesSurviveAReload) {
    with({{0, 0}, {3, 17}, {9, 2'000'000'000'000}});
    auto c = load();
    EXPECT_TRUE(c.file_exists());
    EXPECT_EQ(c.entries(), (entries{{0, 0}, {3, 17}, {9, 2'000'000'000'000}}));
    EXPECT_EQ(c.latest_epoch(), 9);
}

TEST_F(leader_epoch_cache_test, OutOfOrderEntriesLoadAsKafkaLoadsThem) {
    write_text(path_, "0\n3\n1 0\n5 20\n3 30\n");  // epoch 3 after 5 drops 5
    EXPECT_EQ(load().entries(), (entries{{1, 0}, {3, 30}}));
}

TEST_F(leader_epoch_cache_test, MalformedFilesAreErrorsNamingTheLine) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "line 1"},
        {"1\n0\n", "line 1"},
        {"0\n", "line 2"},
        {"0\nx\n", "line 2"},
        {"0\n-1\n", "line 2"},
        {"0\n2\n1 0\n", "line 4"},
        {"0\n1\n1\n", "line 3"},
        {"0\n1\n1 0 9\n", "line 3"},
        {"0\n1\n1 abc\n", "line 3"},
        {"0\n1\n1.5 3\n", "line 3"},
        {"0\n1\n-1 0\n", "line 3"},
        {"0\n1\n1 -4\n", "line 3"},
        {"0\n1\n99999999999 0\n", "line 3"},
        {"0\n1\n1 0\n2 5\n", "line 4"},
    };
    for (const auto& [text, where] : cases) {
        write_text(path_, text);
        auto c = leader_epoch_cache::load(path_);
        ASSERT_FALSE(c.ok()) << "accepted: '" << text << "'";
        EXPECT_EQ(c.code(), errc::corrupt_message) << text;
        EXPECT_NE(c.error().message.find(path_.string()), std::string::npos) << c.error().message;
        EXPECT_NE(c.error().message.find(where), std::string::npos)
            << "'" << text << "': " << c.error().message;
    }
}

}  // namespace
}  // namespace gregor::storage
