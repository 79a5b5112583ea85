// Kafka's topic name rules and the '.'/'_' collision check.
#include <gtest/gtest.h>

#include "coordination/topic_name.h"

namespace gregor::coordination {
namespace {

TEST(TopicName, LegalNames) {
    for (const char* name : {"orders", "a", "A.b_c-9", "__consumer_offsets", "..."}) {
        EXPECT_TRUE(validate_topic_name(name).ok()) << name;
    }
    EXPECT_TRUE(validate_topic_name(std::string(249, 'x')).ok());
}

TEST(TopicName, IllegalNamesCarryKafkasMessages) {
    EXPECT_EQ(validate_topic_name("").message, "Topic name is illegal, it can't be empty");
    EXPECT_EQ(validate_topic_name(".").message, "Topic name cannot be \".\" or \"..\"");
    EXPECT_EQ(validate_topic_name("..").code, errc::invalid_topic_exception);
    const auto too_long = validate_topic_name(std::string(250, 'x'));
    EXPECT_EQ(too_long.code, errc::invalid_topic_exception);
    EXPECT_NE(too_long.message.find("can't be longer than 249 characters"), std::string::npos);
    for (const char* name : {"a b", "a/b", "ä", "a\nb", "a:b", "a*"}) {
        const auto s = validate_topic_name(name);
        EXPECT_EQ(s.code, errc::invalid_topic_exception) << name;
        EXPECT_NE(s.message.find("contains a character other than ASCII alphanumerics"), std::string::npos);
    }
}

TEST(TopicName, DotAndUnderscoreCollide) {
    EXPECT_TRUE(topic_names_collide("a.b", "a_b"));
    EXPECT_TRUE(topic_names_collide("a_b.c", "a.b_c"));
    EXPECT_FALSE(topic_names_collide("a.b", "a.b"));
    EXPECT_FALSE(topic_names_collide("a.b", "a-b"));
    EXPECT_FALSE(topic_names_collide("a.b", "a.bc"));
}

}  // namespace
}  // namespace gregor::coordination
