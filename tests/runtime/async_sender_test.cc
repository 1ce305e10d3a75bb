// The executor's sends (async_sender.h) over an emulated link: a step waits for
// its messages to leave, not to arrive, so a link that carries one message per
// step stays busy across steps while the latency is in flight, as a real
// network's would. The link runs on a logical clock that the test advances, so
// every time below is exact.
#include "dec/runtime/async_sender.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>

#include "../comm/comm_testing.h"
#include "dec/comm/group.h"
#include "dec/comm/link_shaper.h"

namespace dec::runtime {
namespace {

TEST(AsyncSender, AStepWaitsForItsMessagesToLeaveNotToArrive) {
  // 100 kB take 50 ms at 16 Mbit/s; then 100 ms of latency.
  constexpr int kSteps = 4;
  constexpr int64_t kFloats = 25'000;
  constexpr double kTransmit = 0.050, kLatency = 0.100;
  comm::testing::ManualClock clock;
  auto shaper = std::make_shared<comm::TokenBucketShaper>(clock);
  comm::LinkSpec link;
  link.mbps = 16;
  link.latency_s = kLatency;
  link.burst_s = 0;
  shaper->set_duplex(0, 1, link);

  // Who sleeps until when: the sender's lane until each message has left (one
  // step after the other, the link never idle), rank 0's delay line until each
  // has arrived. Steps 2 and 3 leave as messages 0 and 1 arrive.
  std::map<long long, int> wakeups;  // microseconds -> threads asleep until then
  for (int s = 0; s < kSteps; ++s) {
    ++wakeups[std::llround((s + 1) * kTransmit * 1e6)];
    ++wakeups[std::llround(((s + 1) * kTransmit + kLatency) * 1e6)];
  }
  std::string stuck;
  std::atomic<int> recorded{0};  // steps whose end rank 0 has read off the clock
  std::thread driver([&] {
    for (const auto& [us, count] : wakeups) {
      // A step's end is read while the clock still stands at it: every step
      // that ended before this wake-up must have been read before the clock
      // moves on (a hang guard, not a measurement, bounds the wait).
      int ended = 0;
      while (ended < kSteps && std::llround((ended + 1) * kTransmit * 1e6) < us) ++ended;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (recorded.load() < ended && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (recorded.load() < ended) {
        stuck = "step " + std::to_string(ended - 1) + " never ended";
        return;
      }
      if (!clock.advance_when_asleep(us * 1e-6, count)) {
        stuck = std::to_string(count) + " thread(s) never slept until " + std::to_string(us * 1e-6) + " s";
        return;
      }
    }
  });

  std::vector<double> step_end(kSteps, -1);
  std::vector<int> arrived_by_step_end(kSteps, -1);
  std::atomic<int> arrived{0};
  double drained = -1;
  auto errors = comm::testing::run_ranks(2, [&](comm::Rendezvous& rv) {
    comm::Group g = comm::Group::world(
        rv, comm::GroupOptions().with_timeout(std::chrono::seconds(30)).with_shaper(shaper));
    g.barrier();
    if (g.rank() == 0) {
      AsyncSender sender(g);
      for (int s = 0; s < kSteps; ++s) {
        sender.enqueue(torch::full({kFloats}, static_cast<float>(s)), 1, s);
        sender.flush();
        step_end[s] = clock.now();
        arrived_by_step_end[s] = arrived.load();
        recorded = s + 1;
      }
      g.flush();
      drained = clock.now();
    } else {
      torch::Tensor buf = torch::empty({kFloats});
      for (int s = 0; s < kSteps; ++s) {
        g.recv(buf, 0, s);
        EXPECT_EQ(buf[kFloats - 1].item<float>(), static_cast<float>(s));
        ++arrived;
      }
    }
  });
  driver.join();
  ASSERT_EQ(stuck, "");
  comm::testing::expect_ok(errors);
  for (int s = 0; s < kSteps; ++s) {
    // Each step ends when its message has left: 50 ms after the last one.
    EXPECT_NEAR(step_end[s], (s + 1) * kTransmit, 1e-9) << "step " << s;
    // Neither its message nor the one before had arrived by then.
    EXPECT_LE(arrived_by_step_end[s], std::max(0, s - 1)) << "step " << s;
  }
  // Group::flush waits for the last arrival.
  EXPECT_NEAR(drained, kSteps * kTransmit + kLatency, 1e-9);
}

}  // namespace
}  // namespace dec::runtime
