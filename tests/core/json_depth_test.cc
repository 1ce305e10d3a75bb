#include "dec/core/json_depth.h"

#include <gtest/gtest.h>

#include <string>

namespace dec {
namespace {

TEST(JsonDepth, CountsArraysAndObjects) {
  EXPECT_EQ(json_depth(""), 0);
  EXPECT_EQ(json_depth("42"), 0);
  EXPECT_EQ(json_depth("[]"), 1);
  EXPECT_EQ(json_depth(R"({"a": [1, {"b": [2]}], "c": {}})"), 4);
}

TEST(JsonDepth, SkipsBracketsInStrings) {
  EXPECT_EQ(json_depth(R"(["[[[{{{", "\"[[["])"), 1);
}

TEST(JsonDepth, MalformedTextNeverFails) {
  EXPECT_EQ(json_depth(std::string(100000, '[')), 100000);
  EXPECT_EQ(json_depth("]]]}}"), 0);
  EXPECT_EQ(json_depth("\"unterminated [[[ \\"), 0);
}

}  // namespace
}  // namespace dec
