// The emulated compute speed (docs/runtime.md, emulation): a stretched compute
// takes its emulated time, cpu_s / speed in all. Sleeps go through the pacer's
// seam and are recorded, not timed.
#include "dec/profile/compute_pacer.h"

#include <gtest/gtest.h>

#include <vector>

#include "dec/core/error.h"

namespace dec::profile {
namespace {

TEST(ComputePacer, SleepsTheRestOfTheEmulatedTime) {
  std::vector<double> slept;
  auto pacer = make_speed_pacer(0.2, [&](double s) { slept.push_back(s); });
  ASSERT_NE(pacer, nullptr);
  // 1 ms of CPU at a fifth of a core is 5 ms: 2 ms already passed, 3 ms to sleep.
  EXPECT_NEAR(pacer->stretch(0.002, 0.001), 0.003, 1e-12);
  // Compute that already took longer than its emulated time does not sleep.
  EXPECT_EQ(pacer->stretch(0.006, 0.001), 0);
  ASSERT_EQ(slept.size(), 1u);
  EXPECT_NEAR(slept[0], 0.003, 1e-12);
}

TEST(ComputePacer, FullSpeedNeedsNoPacerAndOtherSpeedsAreRefused) {
  EXPECT_EQ(make_speed_pacer(1), nullptr);
  EXPECT_THROW(make_speed_pacer(0), ConfigError);
  EXPECT_THROW(make_speed_pacer(1.5), ConfigError);
  EXPECT_THROW(make_speed_pacer(-0.5, [](double) {}), ConfigError);
}

}  // namespace
}  // namespace dec::profile
