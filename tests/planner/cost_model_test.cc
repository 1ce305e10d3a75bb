// The cost model's formulas on a chain small enough to work out by hand
// (docs/plan.md "Cost model"). The random instances check that the MILP and
// the enumerator agree with it; these check that it says what we mean.
#include "dec/planner/cost_model.h"

#include <gtest/gtest.h>

#include "dec/cluster/validate.h"
#include "dec/core/error.h"

namespace dec::planner {
namespace {

using cluster::Tier;

constexpr double kStep = 0.003;   // fwd + bwd seconds per sample and block, at speed 1
constexpr double kInput = 1000;   // bytes per raw sample
constexpr double kOut = 4000;     // bytes per sample of block 0's output
constexpr double kBw = 1e6;       // bytes/s on both links (8 Mbit/s)

// dev0 -(lat 10 ms)- edge0 -(lat 20 ms)- cloud; two blocks; batch 8 in 2 micro-batches.
Instance chain(double opt_s = 0) {
  profile::ModelProfile p;
  p.model = "chain";
  p.input_bytes = kInput;
  p.micro_batch = 4;
  for (int l = 0; l < 2; ++l) {
    profile::BlockProfile b;
    b.name = "b" + std::to_string(l);
    b.fwd_s = kStep / 3;
    b.bwd_s = 2 * kStep / 3;
    b.opt_s = opt_s;
    b.out_bytes = kOut;
    b.param_bytes = 100;
    p.blocks.push_back(b);
  }
  cluster::ClusterSpec s;
  s.name = "chain";
  s.nodes = {{"cloud", Tier::kCloud, 1, "", 1e12, ""},
             {"edge0", Tier::kEdge, 0.5, "", 1e12, ""},
             {"dev0", Tier::kDevice, 0.1, "", 1e12, ""}};
  s.links = {{"edge0", "cloud", kBw * 8 / 1e6, 0.020}, {"dev0", "edge0", kBw * 8 / 1e6, 0.010}};
  s.data = {{"dev0", 1}};
  s.training.batch = 8;
  s.training.micro_batches = 2;
  cluster::validate(s, "chain");
  return make_instance(s, p, {});
}

// Every sample on the source's longest path with these cuts.
Structure on_cloud_path(const Instance& in, std::vector<int> cuts) {
  Structure s(in.paths.size());
  for (size_t p = 0; p < in.paths.size(); ++p) s[p].cuts.assign(in.paths[p].hops(), 0);
  const int longest = in.sources[0].paths.back();
  s[longest] = {8, std::move(cuts)};
  return s;
}

TEST(CostModel, RawInputCostsItsLinksLoadButNoFill) {
  const Instance in = chain();
  // Cloud-only: both hops carry raw samples, prefetched an iteration ahead.
  const Evaluation ev = evaluate(in, on_cloud_path(in, {0, 0}));
  const double cloud = 8 * 2 * kStep;        // 48 ms
  const double link = 8 * kInput / kBw;      // 8 ms per link
  EXPECT_DOUBLE_EQ(ev.path_latency_s[in.sources[0].paths.back()], 0);
  EXPECT_DOUBLE_EQ(ev.iteration_s, std::max(cloud, link));
  EXPECT_NEAR(ev.iteration_s, cloud, 1e-12);
}

TEST(CostModel, ActivationHopsFillThePipelineWithTheirLatencyBothWays) {
  const Instance in = chain();
  // dev0 forwards raw samples; edge0 runs block 0; cloud runs block 1.
  const Evaluation ev = evaluate(in, on_cloud_path(in, {0, 1}));
  const int p = in.sources[0].paths.back();
  const double edge_mb = 4 * kStep / 0.5;          // one micro-batch of block 0 on edge0: 24 ms
  const double cloud_mb = 4 * kStep;               // 12 ms
  const double hop_mb = 4 * 2 * kOut / kBw;        // activation + gradient: 32 ms
  EXPECT_DOUBLE_EQ(ev.path_latency_s[p], 2 * 0.020);
  EXPECT_NEAR(ev.path_fill_s[p], edge_mb + hop_mb + cloud_mb + 0.040, 1e-12);
  // The edge-cloud link carries each micro-batch's activation up while the
  // cloud's early backward sends the gradient down: 2 x 16 ms of it.
  const int link = in.paths[p].links[1];
  EXPECT_NEAR(ev.link_s[link], hop_mb, 1e-12);
  // The edge's compute (2 micro-batches) with one micro-batch's round trip past
  // it and the latency on top, less the second forward it runs meanwhile.
  const double edge_fwd = edge_mb / 3;
  EXPECT_NEAR(ev.iteration_s, 2 * edge_mb + hop_mb + cloud_mb + 0.040 - edge_fwd, 1e-12);
  EXPECT_FALSE(ev.critical.is_link);
  EXPECT_EQ(ev.critical.resource, 1);  // edge0
}

// Raw samples go up a link an iteration ahead, in the backward phase; the
// gradients of an early hop (nothing computes between it and the last stage)
// came down in the forward phase, while the activations went up. The link
// carries activations / 2 + max(late activations / 2, raw).
TEST(CostModel, RawInputGoesUpAfterTheActivations) {
  const Instance in = chain();
  const int to_edge = in.sources[0].paths[1];   // dev0 -> edge0
  const int to_cloud = in.sources[0].paths[2];  // dev0 -> edge0 -> cloud
  ASSERT_EQ(in.paths[to_edge].hops(), 1);
  ASSERT_EQ(in.paths[to_cloud].hops(), 2);
  const int link = in.paths[to_edge].links[0];
  auto split = [&](int64_t on_edge_path) {
    Structure s(in.paths.size());
    for (size_t p = 0; p < in.paths.size(); ++p) s[p].cuts.assign(in.paths[p].hops(), 0);
    s[to_edge] = {on_edge_path, {1}};          // dev0 runs block 0: activations cross
    s[to_cloud] = {8 - on_edge_path, {0, 0}};  // raw samples cross
    return evaluate(in, s);
  };
  // Block 0 runs on dev0 and in the cloud: its all-reduce crosses the link too.
  const double sync = 2 * 100 / kBw;
  ASSERT_DOUBLE_EQ(split(2).link_sync_bytes[link], 200);
  // 2 samples of activations (8 kB each way, at the same time), then 6 kB raw.
  EXPECT_NEAR(split(2).link_s[link], (2 * kOut + 6 * kInput) / kBw + sync, 1e-12);
  // 1 sample (4 kB each way), then 7 kB raw.
  EXPECT_NEAR(split(1).link_s[link], (kOut + 7 * kInput) / kBw + sync, 1e-12);
}

// dev0 runs block 0, edge0 relays, the cloud runs block 1 and returns each
// gradient right after its forward. dev0's sends do not wait for gradients, so
// its link carries activations up and gradients down at the same time; the
// relay passes activation k + 1 on only after gradient k, one after the other.
TEST(CostModel, ActivationsAndEarlyGradientsOverlapUnlessARelaySendsThem) {
  const Instance in = chain();
  const Evaluation ev = evaluate(in, on_cloud_path(in, {1, 1}));
  const int p = in.sources[0].paths.back();
  EXPECT_NEAR(ev.link_s[in.paths[p].links[0]], 8 * kOut / kBw, 1e-12);      // 32 ms: overlapped
  EXPECT_NEAR(ev.link_s[in.paths[p].links[1]], 8 * 2 * kOut / kBw, 1e-12);  // 64 ms: serial
}

// On a slow overlapping hop the link sets the pace: activations go up back to
// back, each gradient comes down while the next activation goes up, and the
// last gradient's way down comes after the last activation's way up. Edge0
// forwards at 8 and 16 ms; the activations go up 8-168 and 168-328 ms (+20 ms
// latency), the cloud returns each gradient 12 ms after it arrives, they come
// down 200-360 and 360-520 ms (+20), and edge0's last backward ends at 556 ms.
TEST(CostModel, AnOverlappingHopsLastGradientComesDownAfterItsLastActivationWentUp) {
  Instance in = chain();
  const int p = in.sources[0].paths.back();
  const int link = in.paths[p].links[1];  // edge0 - cloud
  in.links[link].bytes_per_s = kBw / 10;
  const Evaluation ev = evaluate(in, on_cloud_path(in, {0, 1}));
  const double edge_mb = 4 * kStep / 0.5;             // 24 ms: 8 forward, 16 backward
  const double cloud_mb = 4 * kStep;                  // 12 ms
  const double hop_mb = 4 * 2 * kOut / (kBw / 10);    // 320 ms: 160 up, 160 down
  EXPECT_NEAR(ev.link_s[link], 2 * hop_mb / 2, 1e-12);  // both ways at once
  EXPECT_TRUE(ev.critical.is_link);
  EXPECT_EQ(ev.critical.resource, link);
  // The load, plus the path's other stages and latency, plus one way of the hop.
  EXPECT_NEAR(ev.iteration_s, hop_mb + edge_mb + cloud_mb + 0.040 + hop_mb / 2, 1e-12);
  EXPECT_NEAR(ev.iteration_s, 0.556, 1e-12);
}

// The last stage runs each micro-batch's backward right after its forward
// (docs/runtime.md, early backward): the source gets gradient 0 back while it
// still runs forward 1, so of the round trip past it, it waits only what
// exceeds M - 1 of its shorter task, here its forward.
TEST(CostModel, EarlyBackwardOverlapsTheRoundTripWithTheSourcesOtherForwards) {
  const Instance in = chain();
  const int to_edge = in.sources[0].paths[1];  // dev0 runs block 0, edge0 block 1
  Structure s(in.paths.size());
  for (size_t p = 0; p < in.paths.size(); ++p) s[p].cuts.assign(in.paths[p].hops(), 0);
  s[to_edge] = {8, {1}};
  const Evaluation ev = evaluate(in, s);
  const double dev_fwd = 4 * kStep / 3 / 0.1, dev_bwd = 2 * dev_fwd;  // per micro-batch: 40, 80 ms
  const double edge_mb = 4 * kStep / 0.5;                             // 24 ms
  const double hop_mb = 4 * 2 * kOut / kBw;                           // 32 ms
  const double round_trip = hop_mb + edge_mb + 2 * 0.010;             // 72 ms
  EXPECT_NEAR(ev.path_node_fwd_s[to_edge][0], dev_fwd, 1e-12);
  EXPECT_NEAR(ev.path_node_bwd_s[to_edge][0], dev_bwd, 1e-12);
  // GPipe would charge dev0's 240 ms of compute + the whole 72 ms round trip.
  EXPECT_NEAR(ev.iteration_s, 2 * (dev_fwd + dev_bwd) + round_trip - (2 - 1) * dev_fwd, 1e-12);
  EXPECT_FALSE(ev.critical.is_link);
  EXPECT_EQ(ev.critical.resource, 2);  // dev0
  EXPECT_NEAR(ev.critical.overlap_s, dev_fwd, 1e-12);
}

TEST(CostModel, OptimizerStepsAddToTheNodesThatHoldTheirBlocks) {
  const double opt = 0.005;
  const Instance in = chain(opt);
  const Evaluation ev = evaluate(in, on_cloud_path(in, {0, 1}));
  const int edge = 1, cloud = 0, dev = 2;
  // The optimizer steps each held block once per iteration, whatever its
  // samples; speeds scale it as they scale the blocks.
  EXPECT_NEAR(ev.node_compute_s[edge], 8 * kStep / 0.5 + opt / 0.5, 1e-12);
  EXPECT_NEAR(ev.node_compute_s[cloud], 8 * kStep + opt, 1e-12);
  EXPECT_EQ(ev.node_compute_s[dev], 0);  // it only forwards: no parameters
  const int p = in.sources[0].paths.back();
  EXPECT_NEAR(ev.path_node_s[p][1], 4 * kStep / 0.5, 1e-12);
  EXPECT_EQ(ev.path_node_s[p][0], 0);
}

}  // namespace
}  // namespace dec::planner
