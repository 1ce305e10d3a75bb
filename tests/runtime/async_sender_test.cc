// The executor's sends (async_sender.h) over an emulated link: a step waits for
// its messages to leave, not to arrive, so a link that carries one message per
// step stays busy across steps while the latency is in flight, as a real
// network's would.
#include "dec/runtime/async_sender.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../comm/comm_testing.h"
#include "dec/comm/group.h"
#include "dec/comm/link_shaper.h"

namespace dec::runtime {
namespace {

using comm::testing::seconds_since;

TEST(AsyncSender, AStepWaitsForItsMessagesToLeaveNotToArrive) {
  // 100 kB take 50 ms at 16 Mbit/s; then 100 ms of latency.
  constexpr int kSteps = 4;
  constexpr int64_t kFloats = 25'000;
  auto shaper = std::make_shared<comm::TokenBucketShaper>();
  comm::LinkSpec link;
  link.mbps = 16;
  link.latency_s = 0.100;
  shaper->set_duplex(0, 1, link);
  double steps_s = 0, drained_s = 0, last_arrival_s = 0;
  auto errors = comm::testing::run_ranks(2, [&](comm::Rendezvous& rv) {
    comm::Group g = comm::Group::world(
        rv, comm::GroupOptions().with_timeout(std::chrono::seconds(10)).with_shaper(shaper));
    g.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    if (g.rank() == 0) {
      AsyncSender sender(g);
      for (int s = 0; s < kSteps; ++s) {
        sender.enqueue(torch::full({kFloats}, static_cast<float>(s)), 1, s);
        sender.flush();
      }
      steps_s = seconds_since(t0);
      g.flush();
      drained_s = seconds_since(t0);
    } else {
      torch::Tensor buf = torch::empty({kFloats});
      for (int s = 0; s < kSteps; ++s) {
        g.recv(buf, 0, s);
        EXPECT_EQ(buf[kFloats - 1].item<float>(), static_cast<float>(s));
      }
      last_arrival_s = seconds_since(t0);
    }
  });
  comm::testing::expect_ok(errors);
  // 4 x 50 ms; waiting for arrivals would take 4 x 150 ms.
  EXPECT_NEAR(steps_s, 0.200, 0.05);
  EXPECT_NEAR(last_arrival_s, 0.300, 0.06);
  EXPECT_GE(drained_s, 0.29);  // Group::flush waits for the last arrival
}

}  // namespace
}  // namespace dec::runtime
