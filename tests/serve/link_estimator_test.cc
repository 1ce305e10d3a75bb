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

// A link that collapses and recovers (the probes of an idle hop alternate an
// empty transfer and one of the model input's size) is believed at the first
// transfer far off the prediction, whichever way it changed.
TEST(LinkEstimator, RestartsWhenATransferIsFarOffThePrediction) {
  LinkEstimator e;
  const double input = 3136;  // a 1x28x28 sample
  const double fast = 18.88e6 / 8, slow = 100e3 / 8, latency = 0.005;
  for (int i = 0; i < 30; ++i) e.observe(i % 2 ? input : 0, transfer_s(i % 2 ? input : 0, fast, latency));
  EXPECT_NEAR(e.predict_s(input), transfer_s(input, fast, latency), 1e-4);
  e.observe(input, transfer_s(input, slow, latency));  // 0.26 s where 6.7 ms was predicted
  EXPECT_NEAR(e.predict_s(input), transfer_s(input, slow, latency), 1e-3);
  for (int i = 0; i < 30; ++i) e.observe(i % 2 ? input : 0, transfer_s(i % 2 ? input : 0, slow, latency));
  e.observe(0, latency);                               // an empty probe: agrees, nothing restarts
  EXPECT_GT(e.predict_s(input), 0.2);
  e.observe(input, transfer_s(input, fast, latency));  // recovered
  EXPECT_NEAR(e.predict_s(input), transfer_s(input, fast, latency), 1e-3);
}

// Jitter within the ratio (or under restart_min_s) is averaged, not believed at once.
TEST(LinkEstimator, AveragesTransfersNearThePrediction) {
  LinkEstimator e;
  for (int i = 0; i < 30; ++i) e.observe(1e4, transfer_s(1e4, 1e6, 0.01));
  e.observe(1e4, 3 * transfer_s(1e4, 1e6, 0.01));
  EXPECT_LT(e.predict_s(1e4), 2 * transfer_s(1e4, 1e6, 0.01));
  LinkEstimator loopback;
  for (int i = 0; i < 30; ++i) loopback.observe(1e4, 1e-4);
  loopback.observe(1e4, 1.5e-3);  // 15x off, but 1.4 ms: scheduling noise, not a link change
  EXPECT_LT(loopback.predict_s(1e4), 5e-4);
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
