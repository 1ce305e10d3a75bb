#include "dec/core/error.h"

#include <gtest/gtest.h>

namespace dec {
namespace {

TEST(Error, FormatsWhatWhereWhy) {
  ConfigError e("invalid flag", "--batch", "must be positive, got -3");
  EXPECT_STREQ(e.what(), "invalid flag (--batch): must be positive, got -3");
  EXPECT_EQ(e.where_part(), "--batch");
  EXPECT_EQ(e.exit_code(), 1);
}

TEST(Error, OmitsEmptyParts) {
  EXPECT_STREQ(Error("x", "", "").what(), "x");
  EXPECT_STREQ(Error("x", "", "y").what(), "x: y");
}

TEST(Error, CheckThrowsTypedErrorWithValues) {
  int batch = -3;
  try {
    DEC_CHECK(batch > 0, ConfigError, "invalid flag", "--batch", "must be positive, got ", batch);
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.why_part(), "must be positive, got -3");
  }
  EXPECT_NO_THROW(DEC_CHECK(batch < 0, ConfigError, "a", "b", "c"));
}

TEST(Error, AssertIsInternalError) {
  try {
    DEC_ASSERT(1 + 1 == 3, "math");
    FAIL() << "no throw";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("`1 + 1 == 3` math"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), 70);
  }
}

}  // namespace
}  // namespace dec
