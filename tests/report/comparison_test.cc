// Predicted against measured: which iterations count, speedups, node order.
#include "dec/report/comparison.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dec/report/chart_data.h"
#include "fixture.h"

namespace dec::report {
namespace {

TEST(Comparison, MeanLeavesOutTheWarmUpIteration) {
  RunRecord r = parse_metrics(R"({"event":"iteration","step":1,"measured_s":5}
{"event":"iteration","step":2,"measured_s":1}
{"event":"iteration","step":3,"measured_s":null}
{"event":"iteration","step":4,"measured_s":3}
)",
                              "m");
  int64_t n = 0;
  EXPECT_DOUBLE_EQ(mean_measured_s(r, &n), 2.0);
  EXPECT_EQ(n, 2);
  r.iterations.resize(1);
  EXPECT_DOUBLE_EQ(mean_measured_s(r, &n), 5.0);  // one iteration: nothing to leave out
  EXPECT_EQ(n, 1);
  r.iterations.clear();
  EXPECT_TRUE(std::isnan(mean_measured_s(r, &n)));
  EXPECT_EQ(n, 0);
}

TEST(Comparison, DemoRunHasDecAndEveryBaseline) {
  const RunRecord r = read_metrics(testing::demo_metrics_path());
  const std::vector<TimeRow> rows = compare_times(r);
  ASSERT_EQ(rows.size(), 7u);  // dec + the plan's 6 baselines
  const TimeRow& dec = rows[0];
  EXPECT_EQ(dec.kind, "dec");
  EXPECT_DOUBLE_EQ(dec.predicted_s, r.plan->prediction.iteration_s);
  EXPECT_EQ(dec.iterations, 19);
  EXPECT_NEAR(dec.measured_s, 0.66, 0.02);
  EXPECT_NEAR(dec.ratio, dec.measured_s / dec.predicted_s, 1e-12);
  EXPECT_TRUE(std::isnan(dec.measured_speedup));
  EXPECT_EQ(rows[1].kind, "device-only");  // the plan's order
  EXPECT_NEAR(rows[1].measured_speedup, 1.121 / dec.measured_s, 1e-12);
  EXPECT_NEAR(rows[1].predicted_speedup, rows[1].predicted_s / dec.predicted_s, 1e-12);
  EXPECT_EQ(rows[1].iterations, 3);
  const TimeRow& dp = rows[4];
  EXPECT_EQ(dp.kind, "data-parallel");  // in the plan, never run
  EXPECT_TRUE(std::isnan(dp.measured_s));
  EXPECT_TRUE(std::isnan(dp.ratio));
  EXPECT_TRUE(std::isfinite(dp.predicted_s));
  // Its paths are DEC's: the summary's "fastest other plan" must skip it.
  EXPECT_TRUE(dp.same_plan_as_dec);
  EXPECT_FALSE(rows[1].same_plan_as_dec);
  EXPECT_EQ(rows[5].note, "best split: every block on the cloud (same plan as cloud-only)");
}

TEST(Comparison, BaselinesWithoutAPlan) {
  const RunRecord r = parse_metrics(R"({"event":"iteration","step":1,"measured_s":2,"predicted_s":1}
{"event":"baseline","kind":"cloud-only","predicted_s":2,"measured_s":4,"iterations":5}
{"event":"baseline","kind":"odd","predicted_s":null,"measured_s":null,"note":"does not apply"}
)",
                                    "m");
  const std::vector<TimeRow> rows = compare_times(r);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_DOUBLE_EQ(rows[0].predicted_s, 1);  // from the iterations
  EXPECT_DOUBLE_EQ(rows[0].measured_s, 2);
  EXPECT_DOUBLE_EQ(rows[1].measured_speedup, 2);
  EXPECT_DOUBLE_EQ(rows[1].predicted_speedup, 2);
  EXPECT_DOUBLE_EQ(rows[1].ratio, 2);
  EXPECT_EQ(rows[2].note, "does not apply");
  EXPECT_TRUE(std::isnan(rows[2].measured_speedup));
  EXPECT_TRUE(
      compare_times(parse_metrics("{\"event\":\"iteration\",\"step\":1,\"measured_s\":2}", "m"))
          .empty());
}

TEST(Comparison, NodesInTierOrder) {
  const RunRecord r = read_metrics(testing::demo_metrics_path());
  const std::vector<std::string> expected = {"dev0", "edge0", "cloud"};
  EXPECT_EQ(node_order(r), expected);  // the plan lists cloud first
  const RunRecord no_plan = parse_metrics(
      R"({"event":"trace","nodes":{"z":[],"a":[]}}
{"event":"iteration","step":1,"nodes":{"m":{"wall_s":1}}}
)",
      "m");
  const std::vector<std::string> seen = {"z", "a", "m"};
  EXPECT_EQ(node_order(no_plan), seen);
}

TEST(Comparison, NodeBreakdownAveragesAndKeepsTheRest) {
  const RunRecord r = parse_metrics(
      R"({"event":"iteration","step":1,"measured_s":9,"nodes":{"a":{"wall_s":9,"compute_s":9}}}
{"event":"iteration","step":2,"measured_s":1,"nodes":{"a":{"wall_s":1,"compute_s":0.5,"recv_wait_s":0.25}}}
{"event":"iteration","step":3,"measured_s":1,"nodes":{"a":{"wall_s":1,"compute_s":0.5,"sync_wait_s":0.25}}}
)",
      "m");
  const std::vector<NodeBreakdown> b = node_breakdown(r);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_DOUBLE_EQ(b[0].compute_s, 0.5);
  EXPECT_DOUBLE_EQ(b[0].recv_wait_s, 0.125);
  EXPECT_DOUBLE_EQ(b[0].sync_wait_s, 0.125);
  EXPECT_DOUBLE_EQ(b[0].other_s, 0.25);
}

}  // namespace
}  // namespace dec::report
