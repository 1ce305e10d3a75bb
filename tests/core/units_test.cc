#include "dec/core/units.h"

#include <gtest/gtest.h>

#include "dec/core/error.h"

namespace dec {
namespace {

TEST(Units, Bytes) {
  EXPECT_DOUBLE_EQ(parse_bytes("512MiB", "f"), 512.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_bytes("2GB", "f"), 2e9);
  EXPECT_DOUBLE_EQ(parse_bytes("100", "f"), 100);
  EXPECT_DOUBLE_EQ(parse_bytes("1.5 KiB", "f"), 1536);
}

TEST(Units, Bandwidth) {
  EXPECT_DOUBLE_EQ(parse_mbps("18.88Mbit/s", "f"), 18.88);
  EXPECT_DOUBLE_EQ(parse_mbps("1Gbit/s", "f"), 1000);
  EXPECT_DOUBLE_EQ(parse_mbps("130kbit/s", "f"), 0.13);
  EXPECT_DOUBLE_EQ(parse_mbps("5.85", "f"), 5.85);
}

TEST(Units, Seconds) {
  EXPECT_DOUBLE_EQ(parse_seconds("30ms", "f"), 0.03);
  EXPECT_DOUBLE_EQ(parse_seconds("2", "f"), 2);
  EXPECT_DOUBLE_EQ(parse_seconds("1min", "f"), 60);
}

TEST(Units, RejectsBadInputNamingTheField) {
  for (const char* bad : {"", "abc", "-1MiB", "12 parsecs", "nan", "inf"}) {
    try {
      parse_bytes(bad, "nodes[0].memory");
      FAIL() << bad;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.where_part(), "nodes[0].memory") << bad;
    }
  }
  EXPECT_THROW(parse_mbps("10 furlongs", "x"), ConfigError);
  EXPECT_THROW(parse_seconds("-5ms", "x"), ConfigError);
}

TEST(Units, Formats) {
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(12), "12 B");
  EXPECT_EQ(format_seconds(0.0312), "31.2 ms");
  EXPECT_EQ(format_seconds(2.5), "2.50 s");
}

}  // namespace
}  // namespace dec
