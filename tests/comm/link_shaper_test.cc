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

// Sends a message the way Group does: waits until it has left, returns its arrival.
double send(TokenBucketShaper& shaper, int src, int dst, std::size_t bytes) {
  const Transmission t = shaper.book(src, dst, bytes);
  shaper.clock().sleep_until(t.leave_at);
  return t.arrive_at;
}

TEST(TokenBucket, MessageTakesBytesOverRateThenArrivesAfterLatency) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0.010));  // 10 MB/s, 10 ms
  const double t0 = clock.now();
  const double arrive = send(shaper, 0, 1, 1 * kMB);
  EXPECT_NEAR(clock.now() - t0, 0.100, 1e-9);  // the sender waits for the transmission only
  EXPECT_NEAR(arrive - t0, 0.100 + 0.010, 1e-9);
}

TEST(TokenBucket, BackToBackSendsPayTheRateAndOneLatency) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0.010));
  const double t0 = clock.now();
  double arrive = 0;
  for (int i = 0; i < 10; ++i) arrive = send(shaper, 0, 1, 100000);  // 10 ms each on the wire
  EXPECT_NEAR(clock.now() - t0, 0.100, 1e-9);
  EXPECT_NEAR(arrive - t0, 0.100 + 0.010, 1e-9);  // latencies overlap, as on a real link
}

TEST(TokenBucket, ConcurrentSendersShareTheLink) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0.050));
  const double now = clock.now();
  // Two senders offer 1 MB at the same instant: the second waits for the first.
  const Transmission a = shaper.book_at(0, 1, 1 * kMB, now);
  const Transmission b = shaper.book_at(0, 1, 1 * kMB, now);
  EXPECT_NEAR(a.leave_at - now, 0.100, 1e-9);
  EXPECT_NEAR(a.arrive_at - now, 0.100 + 0.050, 1e-9);
  EXPECT_NEAR(b.leave_at - now, 0.200, 1e-9);
  EXPECT_NEAR(b.arrive_at - now, 0.200 + 0.050, 1e-9);
}

TEST(TokenBucket, LinksAreDirectedAndIndependent) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(8, 0));
  shaper.set_link(1, 0, spec(80, 0));
  const double now = clock.now();
  EXPECT_NEAR(shaper.book_at(0, 1, 1 * kMB, now).arrive_at - now, 1.0, 1e-9);
  EXPECT_NEAR(shaper.book_at(1, 0, 1 * kMB, now).arrive_at - now, 0.1, 1e-9);
  EXPECT_EQ(shaper.book_at(0, 2, 1 * kMB, now).arrive_at, now);  // not configured: not shaped
}

TEST(TokenBucket, RoutesStoreAndForwardAndShareLinks) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  // Endpoints 10 (device) - 11 (edge) - 12 (cloud); ranks 0 (device), 1 (edge), 2 (cloud).
  shaper.set_duplex(10, 11, spec(8, 0.020));   // 1 MB/s
  shaper.set_duplex(11, 12, spec(80, 0.030));  // 10 MB/s
  shaper.set_route(0, 2, {10, 11, 12});
  shaper.set_route(1, 2, {11, 12});
  shaper.set_route(2, 0, {12, 11, 10});
  const double now = clock.now();
  const Transmission up = shaper.book_at(0, 2, 1 * kMB, now);
  EXPECT_NEAR(up.leave_at - now, 1.0, 1e-9);
  EXPECT_NEAR(up.arrive_at - now, 1.0 + 0.020 + 0.100 + 0.030, 1e-9);
  EXPECT_NEAR(shaper.latency(0, 2), 0.050, 1e-12);
  // The edge's own message to the cloud queues behind the device's on edge->cloud.
  const Transmission edge = shaper.book_at(1, 2, 1 * kMB, now + 1.0);
  EXPECT_NEAR(edge.arrive_at - now, 1.020 + 0.100 + 0.100 + 0.030, 1e-9);
  // The reverse direction is another set of buckets.
  EXPECT_NEAR(shaper.book_at(2, 0, 1 * kMB, now).arrive_at - now, 0.100 + 0.030 + 1.0 + 0.020,
              1e-9);
}

TEST(TokenBucket, IdleLinkLetsABurstThroughButNoMore) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0, /*burst_s=*/0.010));  // burst = 100 kB
  double now = clock.now();
  EXPECT_EQ(shaper.book_at(0, 1, 100000, now).arrive_at, now);                  // the full bucket
  EXPECT_NEAR(shaper.book_at(0, 1, 100000, now).arrive_at - now, 0.010, 1e-9);  // debt
  now += 10.0;  // idle for long: the bucket refills to its capacity only
  EXPECT_NEAR(shaper.book_at(0, 1, 300000, now).arrive_at - now, 0.020, 1e-9);
}

TEST(TokenBucket, OvershootingSleepsDoNotAccumulateWithinTheBurst) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(80, 0, 0.001));
  const double t0 = clock.now();
  for (int i = 0; i < 100; ++i) {
    send(shaper, 0, 1, 10000);  // 1 ms each
    clock.advance(0.0002);      // the sleeper wakes 0.2 ms late every time
  }
  // 100 ms of transmission; the overshoot is absorbed by the 1 ms burst.
  EXPECT_NEAR(clock.now() - t0, 0.100, 0.0015);
}

TEST(TokenBucket, UnlimitedRateStillDelaysArrival) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  shaper.set_link(0, 1, spec(0, 0.020));
  const double now = clock.now();
  const Transmission t = shaper.book_at(0, 1, 1 << 30, now);
  EXPECT_EQ(t.leave_at, now);
  EXPECT_NEAR(t.arrive_at - now, 0.020, 1e-9);
}

TEST(TokenBucket, RejectsInvalidSpecs) {
  FakeClock clock;
  TokenBucketShaper shaper(clock);
  EXPECT_THROW(shaper.set_link(0, 1, spec(-1, 0)), ConfigError);
  EXPECT_THROW(shaper.set_link(0, 1, spec(1, -0.1)), ConfigError);
  EXPECT_THROW(shaper.set_link(0, 1, spec(std::nan(""), 0)), ConfigError);
  EXPECT_THROW(shaper.set_route(0, 1, {0}), ConfigError);
}

}  // namespace
}  // namespace dec::comm
