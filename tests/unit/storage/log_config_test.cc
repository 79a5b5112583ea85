// log_config's parsing of min.insync.replicas at broker and topic level: the value flows into
// the config, and an invalid one is refused with a message naming key and value.
#include "broker/storage/log_config.h"

#include <string>

#include <gtest/gtest.h>

namespace gregor::storage {
namespace {

TEST(LogConfig, MinInsyncReplicasDefaultsToOne) {
    auto c = log_config::from_broker_properties({});
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->min_insync_replicas, 1);
}

TEST(LogConfig, MinInsyncReplicasComesFromTheBrokerAndATopicOverridesIt) {
    auto broker = log_config::from_broker_properties({{"min.insync.replicas", "2"}});
    ASSERT_TRUE(broker.ok()) << broker.error().message;
    EXPECT_EQ(broker->min_insync_replicas, 2);
    auto topic = broker->with_topic_overrides({{"min.insync.replicas", "3"}});
    ASSERT_TRUE(topic.ok()) << topic.error().message;
    EXPECT_EQ(topic->min_insync_replicas, 3);
    auto plain = broker->with_topic_overrides({{"retention.ms", "1000"}});
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    EXPECT_EQ(plain->min_insync_replicas, 2);
}

TEST(LogConfig, InvalidMinInsyncReplicasIsRefusedNamingKeyAndValue) {
    for (const char* bad : {"0", "-1", "x", "", "2abc", "1.5", "99999999999"}) {
        const std::string want = std::string("invalid value '") + bad +
                                 "' for min.insync.replicas: must be an integer >= 1";
        auto topic = log_config{}.with_topic_overrides({{"min.insync.replicas", bad}});
        ASSERT_FALSE(topic.ok()) << bad;
        EXPECT_EQ(topic.code(), errc::invalid_config);
        EXPECT_EQ(topic.error().message, want);
        auto broker = log_config::from_broker_properties({{"min.insync.replicas", bad}});
        ASSERT_FALSE(broker.ok()) << bad;
        EXPECT_EQ(broker.error().message, want);
    }
}

}  // namespace
}  // namespace gregor::storage
