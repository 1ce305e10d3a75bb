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
  EXPECT_EQ(format_bytes(3.0 * (1 << 30)), "3.0 GiB");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1234567), "1.2M");
  EXPECT_EQ(format_flops(512), "512 FLOPs");
  EXPECT_EQ(format_flops(8.59e6), "8.59 MFLOPs");
  EXPECT_EQ(format_flops(3e15), "3000.00 TFLOPs");  // the largest unit, however large
}

}  // namespace
}  // namespace dec
