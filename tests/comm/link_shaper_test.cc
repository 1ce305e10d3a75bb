#include "dec/comm/link_shaper.h"

#include <gtest/gtest.h>

#include "comm_testing.h"
#include "dec/core/error.h"

namespace dec::comm {
namespace {

using testing::FakeClock;

constexpr double kMB = 1e6;

LinkSpec spec(double mbps, double latency_s, double burst_s = 0) {
  LinkSpec s;
  s.mbps = mbps;
  s.latency_s = latency_s;
  s.burst_s = burst_s;
  return s;
}

TEST(TokenBucket, MessageTakesBytesOverRatePlusLatency) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0.010));  // 10 MB/s, 10 ms
  const double t0 = clock.now();
  shaper.pace(0, 1, 1 * kMB);
  EXPECT_NEAR(clock.now() - t0, 0.100 + 0.010, 1e-9);
}

TEST(TokenBucket, BackToBackSendsPayLatencyEachButRateOnce) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0.010));
  const double t0 = clock.now();
  for (int i = 0; i < 10; ++i) shaper.pace(0, 1, 100000);  // 10 ms each on the wire
  EXPECT_NEAR(clock.now() - t0, 10 * (0.010 + 0.010), 1e-9);
}

TEST(TokenBucket, ConcurrentSendersShareTheLinkAndOverlapLatency) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0.050));
  const double now = clock.now();
  // Two senders offer 1 MB at the same instant: the second waits for the first.
  const double a = shaper.reserve(0, 1, 1 * kMB, 1, now);
  const double b = shaper.reserve(0, 1, 1 * kMB, 1, now);
  EXPECT_NEAR(a - now, 0.100 + 0.050, 1e-9);
  EXPECT_NEAR(b - now, 0.200 + 0.050, 1e-9);
}

TEST(TokenBucket, LinksAreDirectedAndIndependent) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(8, 0));
  shaper.set_link(1, 0, spec(80, 0));
  const double now = clock.now();
  EXPECT_NEAR(shaper.reserve(0, 1, 1 * kMB, 1, now) - now, 1.0, 1e-9);
  EXPECT_NEAR(shaper.reserve(1, 0, 1 * kMB, 1, now) - now, 0.1, 1e-9);
  EXPECT_EQ(shaper.reserve(0, 2, 1 * kMB, 1, now), now);  // not configured: not shaped
}

TEST(TokenBucket, IdleLinkLetsABurstThroughButNoMore) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0, /*burst_s=*/0.010));  // burst = 100 kB
  double now = clock.now();
  EXPECT_EQ(shaper.reserve(0, 1, 100000, 1, now), now);                  // the full bucket
  EXPECT_NEAR(shaper.reserve(0, 1, 100000, 1, now) - now, 0.010, 1e-9);  // debt
  now += 10.0;  // idle for long: the bucket refills to its capacity only
  EXPECT_NEAR(shaper.reserve(0, 1, 300000, 1, now) - now, 0.020, 1e-9);
}

TEST(TokenBucket, OvershootingSleepsDoNotAccumulateWithinTheBurst) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0, 0.001));
  const double t0 = clock.now();
  for (int i = 0; i < 100; ++i) {
    shaper.pace(0, 1, 10000);  // 1 ms each
    clock.advance(0.0002);     // the sleeper wakes 0.2 ms late every time
  }
  // 100 ms of transmission; the overshoot is absorbed by the 1 ms burst.
  EXPECT_NEAR(clock.now() - t0, 0.100, 0.0015);
}

TEST(TokenBucket, RealTransferTimeOverlapsTheTransmission) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0, 0));
  const double t0 = clock.now();
  int sends = 0;
  for (int i = 0; i < 10; ++i) {
    shaper.transmit(0, 1, 100000, 1, [&] {  // 10 ms each on the link
      ++sends;
      clock.advance(0.002);  // the loopback transfer itself takes 2 ms
    });
  }
  EXPECT_EQ(sends, 10);
  // Not 10 * 12 ms: only the last transfer's 2 ms shows.
  EXPECT_NEAR(clock.now() - t0, 0.100 + 0.002, 1e-9);
}

TEST(TokenBucket, CreditIsCappedByTheTransmissionTime) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0, 0));
  const double t0 = clock.now();
  shaper.transmit(0, 1, 10000, 1, [&] { clock.advance(0.050); });  // 1 ms; a slow send
  shaper.pace(0, 1, 10000);
  // The second message gets at most 1 ms of credit for the first one's 50 ms.
  EXPECT_NEAR(clock.now() - t0, 0.001 + 0.050, 1e-9);
}

TEST(TokenBucket, UnlimitedRateStillDelays) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(0, 0.020));
  const double now = clock.now();
  EXPECT_NEAR(shaper.reserve(0, 1, 1 << 30, 3, now) - now, 0.060, 1e-9);
}

TEST(TokenBucket, RejectsInvalidSpecs) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  EXPECT_THROW(shaper.set_link(0, 1, spec(-1, 0)), ConfigError);
  EXPECT_THROW(shaper.set_link(0, 1, spec(1, -0.1)), ConfigError);
  EXPECT_THROW(shaper.set_link(0, 1, spec(std::nan(""), 0)), ConfigError);
}

}  // namespace
}  // namespace dec::comm
