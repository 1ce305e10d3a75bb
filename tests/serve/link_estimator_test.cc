#include "dec/serve/link_estimator.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dec/core/error.h"

namespace dec::serve {
namespace {

double transfer_s(double bytes, double bandwidth, double latency) { return latency + bytes / bandwidth; }

TEST(LinkEstimator, FitsBandwidthAndLatencyFromTransfersOfSeveralSizes) {
  LinkEstimator e;
  const double sizes[] = {1e3, 5e4, 2e5, 8e3};
  for (int i = 0; i < 20; ++i) e.observe(sizes[i % 4], transfer_s(sizes[i % 4], 2e6, 0.03));
  EXPECT_NEAR(e.bandwidth_Bps(), 2e6, 2e6 * 1e-6);
  EXPECT_NEAR(e.latency_s(), 0.03, 1e-9);
  EXPECT_NEAR(e.predict_s(1e5), 0.08, 1e-9);
  EXPECT_EQ(e.transfers(), 20);
}

TEST(LinkEstimator, KeepsTheKnownLatencyWhenSizesAreAlike) {
  LinkEstimatorOptions o;
  o.prior_latency_s = 0.02;
  LinkEstimator e(o);
  for (int i = 0; i < 5; ++i) e.observe(1e5, transfer_s(1e5, 5e5, 0.02));
  EXPECT_NEAR(e.latency_s(), 0.02, 1e-12);
  EXPECT_NEAR(e.bandwidth_Bps(), 5e5, 1e-3);
}

TEST(LinkEstimator, FollowsARateChangeWithinAFewTransfers) {
  LinkEstimator e;
  const double sizes[] = {2e4, 1e5};
  for (int i = 0; i < 30; ++i) e.observe(sizes[i % 2], transfer_s(sizes[i % 2], 731250, 0.05));
  EXPECT_NEAR(e.bandwidth_Bps(), 731250, 1);
  // The WAN collapses to a tenth: alpha 0.2 leaves 0.8^k of the old points' weight.
  int k = 0;
  while (std::fabs(e.bandwidth_Bps() / 71250 - 1) > 0.1 && k < 100) {
    e.observe(sizes[k % 2], transfer_s(sizes[k % 2], 71250, 0.05));
    ++k;
  }
  EXPECT_LE(k, 25);
  for (int i = 0; i < 100; ++i) e.observe(sizes[i % 2], transfer_s(sizes[i % 2], 71250, 0.05));
  EXPECT_NEAR(e.bandwidth_Bps(), 71250, 71250 * 1e-3);
  EXPECT_NEAR(e.latency_s(), 0.05, 1e-4);
}

TEST(LinkEstimator, ProbesMeasureTheLatency) {
  LinkEstimator e;
  for (int i = 0; i < 50; ++i) e.observe_probe(0.1);
  EXPECT_NEAR(e.latency_s(), 0.05, 1e-12);
  // Probes between equal transfers let the fit see both terms.
  for (int i = 0; i < 50; ++i) {
    e.observe(1e5, transfer_s(1e5, 1e6, 0.05));
    e.observe_probe(0.1);
  }
  EXPECT_NEAR(e.bandwidth_Bps(), 1e6, 1);
  EXPECT_NEAR(e.latency_s(), 0.05, 1e-9);
}

TEST(LinkEstimator, RoundTripsGiveTheOneWayLatency) {
  LinkEstimator e;
  const double up[] = {3e3, 1e5, 2.5e4}, down[] = {50, 50, 50};
  for (int i = 0; i < 30; ++i) {
    const double wire = 2 * 0.02 + (up[i % 3] + down[i % 3]) / 4e5;
    e.observe_round_trip(up[i % 3], down[i % 3], wire);
  }
  EXPECT_NEAR(e.latency_s(), 0.02, 1e-9);
  EXPECT_NEAR(e.bandwidth_Bps(), 4e5, 1e-3);
}

TEST(LinkEstimator, TransfersFasterThanTheKnownLatencyLowerIt) {
  LinkEstimatorOptions o;
  o.prior_latency_s = 0.5;
  LinkEstimator e(o);
  e.observe(1e4, 0.1);
  EXPECT_LT(e.latency_s(), 0.1);
  EXPECT_GT(e.bandwidth_Bps(), 0);
  EXPECT_NEAR(e.predict_s(1e4), 0.1, 1e-12);
}

TEST(LinkEstimator, IgnoresInvalidTransfersAndRefusesBadOptions) {
  LinkEstimator e;
  EXPECT_FALSE(e.observe(-1, 0.1));
  EXPECT_FALSE(e.observe(10, 0));
  EXPECT_FALSE(e.observe(10, std::nan("")));
  EXPECT_FALSE(e.observe(INFINITY, 1));
  EXPECT_EQ(e.transfers(), 0);
  EXPECT_DOUBLE_EQ(e.bandwidth_Bps(), LinkEstimatorOptions{}.prior_bandwidth_Bps);
  LinkEstimatorOptions o;
  o.alpha = 0;
  EXPECT_THROW(LinkEstimator{o}, ConfigError);
  o = {};
  o.prior_bandwidth_Bps = 0;
  EXPECT_THROW(LinkEstimator{o}, ConfigError);
  o = {};
  o.prior_latency_s = -1;
  EXPECT_THROW(LinkEstimator{o}, ConfigError);
}

}  // namespace
}  // namespace dec::serve
