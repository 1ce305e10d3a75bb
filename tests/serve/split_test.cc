// The split decision against exhaustive enumeration of its cost model, which
// this file re-implements tier by tier (split.h states it).
#include "dec/serve/split.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "dec/cluster/load.h"
#include "dec/core/error.h"
#include "dec/serve/split_inputs.h"

namespace dec::serve {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Instance {
  SplitModel model;
  Conditions conditions;
  EnergyModel energy;
};

// A random chain of 1-24 blocks on three tiers; times, bytes, rates and
// latencies spread over orders of magnitude; some queues empty, some links
// down (bandwidth 0).
Instance random_instance(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto log_uniform = [&rng](double lo, double hi) {
    return std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng));
  };
  auto coin = [&rng](double p) { return std::bernoulli_distribution(p)(rng); };
  Instance in;
  const size_t n = std::uniform_int_distribution<size_t>(1, 24)(rng);
  for (int t = 0; t < kTiers; ++t) {
    for (size_t l = 0; l < n; ++l) in.model.block_s[t].push_back(coin(0.1) ? 0.0 : log_uniform(1e-6, 1.0));
  }
  for (size_t s = 0; s <= n; ++s) in.model.boundary_bytes.push_back(log_uniform(10, 1e7));
  for (int h = 0; h < kHops; ++h) {
    in.conditions.bandwidth_Bps[h] = coin(0.05) ? 0.0 : log_uniform(1e3, 1e9);
    in.conditions.latency_s[h] = coin(0.1) ? 0.0 : log_uniform(1e-4, 0.2);
  }
  for (int t = 0; t < kTiers; ++t) in.conditions.queue_s[t] = coin(0.3) ? 0.0 : log_uniform(1e-4, 1.0);
  in.energy.ghz = log_uniform(0.5, 3.5);
  in.energy.base_w = coin(0.1) ? 0.0 : 2.1;
  return in;
}

double sum(const std::vector<double>& v, size_t begin, size_t end) {
  double s = 0;
  for (size_t l = begin; l < end; ++l) s += v[l];
  return s;
}

// The cost model, read tier by tier: which tiers compute, what crosses each
// hop up, the answer's way back from the last computing tier.
double reference_latency(const Instance& in, size_t s1, size_t s2) {
  const SplitModel& m = in.model;
  const Conditions& c = in.conditions;
  const size_t n = m.num_blocks();
  const bool device = s1 > 0, edge = s2 > s1, cloud = s2 < n;
  const int last = cloud ? 2 : edge ? 1 : 0;
  auto hop = [&c](int h, double bytes) { return c.latency_s[h] + bytes / c.bandwidth_Bps[h]; };
  double t = 0;
  if (device) t += c.queue_s[0] + sum(m.block_s[0], 0, s1);
  if (last >= 1) t += hop(0, m.boundary_bytes[s1]);
  if (edge) t += c.queue_s[1] + sum(m.block_s[1], s1, s2);
  if (last == 2) t += hop(1, m.boundary_bytes[s2]) + c.queue_s[2] + sum(m.block_s[2], s2, n);
  for (int h = 0; h < last; ++h) t += hop(h, m.boundary_bytes[n]);
  return t;
}

double reference_energy(const Instance& in, size_t s1, size_t s2) {
  const EnergyModel& e = in.energy;
  const size_t n = in.model.num_blocks();
  const double sent = s1 < n ? in.model.boundary_bytes[s1] : 0;
  return e.base_w * reference_latency(in, s1, s2) +
         e.cpu_w_per_ghz * e.cpu_util * e.ghz * sum(in.model.block_s[0], 0, s1) + e.j_per_mb * sent / 1e6;
}

bool near(double a, double b) {
  if (a == kInf || b == kInf) return a == b;
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b));
}

TEST(SplitDecider, FastestIsTheExhaustiveOptimum) {
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    const Instance in = random_instance(seed);
    const SplitDecider decider(in.model, in.energy);
    const size_t n = in.model.num_blocks();
    double best = kInf;
    for (size_t s1 = 0; s1 <= n; ++s1) {
      for (size_t s2 = s1; s2 <= n; ++s2) {
        const double t = reference_latency(in, s1, s2);
        best = std::min(best, t);
        ASSERT_TRUE(near(decider.evaluate(in.conditions, s1, s2).latency_s, t))
            << "seed " << seed << " split (" << s1 << ", " << s2 << ")";
      }
    }
    const Split s = decider.fastest(in.conditions);
    ASSERT_LE(s.s1, s.s2);
    ASSERT_LE(s.s2, n);
    ASSERT_TRUE(near(s.latency_s, best)) << "seed " << seed << ": " << s.latency_s << " vs " << best;
    ASSERT_TRUE(near(reference_latency(in, s.s1, s.s2), best)) << "seed " << seed;
    ASSERT_TRUE(near(s.device_energy_j, reference_energy(in, s.s1, s.s2))) << "seed " << seed;
  }
}

TEST(SplitDecider, LeastEnergyIsTheExhaustiveOptimumUnderTheBound) {
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    const Instance in = random_instance(seed);
    const SplitDecider decider(in.model, in.energy);
    const size_t n = in.model.num_blocks();
    const Split fastest = decider.fastest(in.conditions);
    for (double factor : {0.5, 1 + 1e-7, 1.25, 2.0, kInf}) {
      const double bound = factor == kInf ? kInf : fastest.latency_s * factor;
      double best = kInf;
      for (size_t s1 = 0; s1 <= n; ++s1) {
        for (size_t s2 = s1; s2 <= n; ++s2) {
          if (reference_latency(in, s1, s2) <= bound) best = std::min(best, reference_energy(in, s1, s2));
        }
      }
      const Split s = decider.least_energy(in.conditions, bound);
      if (best == kInf) {
        ASSERT_FALSE(s.meets_bound) << "seed " << seed;
        ASSERT_TRUE(near(s.latency_s, fastest.latency_s)) << "seed " << seed;
        continue;
      }
      ASSERT_TRUE(s.meets_bound) << "seed " << seed << " factor " << factor;
      ASSERT_LE(reference_latency(in, s.s1, s.s2), bound * (1 + 1e-9)) << "seed " << seed;
      ASSERT_TRUE(near(s.device_energy_j, best))
          << "seed " << seed << " factor " << factor << ": " << s.device_energy_j << " vs " << best;
      ASSERT_TRUE(near(reference_energy(in, s.s1, s.s2), best)) << "seed " << seed;
    }
  }
}

TEST(SplitDecider, FollowsTheUplink) {
  // Three blocks; the first shrinks a large input 100x. A fast uplink sends
  // the input to the cloud; a slow one sends the small activation; none at
  // all keeps everything on the device.
  SplitModel m;
  m.block_s = {std::vector<double>{0.01, 0.2, 0.2}, {0.005, 0.1, 0.1}, {1e-4, 2e-3, 2e-3}};
  m.boundary_bytes = {1e6, 1e4, 1e4, 40};
  const SplitDecider d(m);
  Conditions c;
  c.latency_s = {0.005, 0.03};
  c.bandwidth_Bps = {1e9, 1e9};
  EXPECT_EQ(describe(d.fastest(c).s1, d.fastest(c).s2, 3), "cloud");
  c.bandwidth_Bps = {2e5, 1e9};
  EXPECT_EQ(d.fastest(c).s1, 1u);
  EXPECT_EQ(d.fastest(c).s2, 1u);
  c.bandwidth_Bps = {0, 1e9};
  EXPECT_EQ(describe(d.fastest(c).s1, d.fastest(c).s2, 3), "device");
  c.bandwidth_Bps = {2e5, 1e9};
  c.queue_s = {0, 0, 5};  // a busy cloud: the edge finishes
  EXPECT_EQ(describe(d.fastest(c).s1, d.fastest(c).s2, 3), "device+edge");
}

TEST(SplitDecider, RefusesMalformedModels) {
  SplitModel m;
  EXPECT_THROW(SplitDecider{m}, ConfigError);
  m.boundary_bytes = {1, 1};
  m.block_s = {std::vector<double>{1}, {1}, {}};
  EXPECT_THROW(SplitDecider{m}, ConfigError);
  m.block_s[2] = {-1};
  EXPECT_THROW(SplitDecider{m}, ConfigError);
  m.block_s[2] = {std::nan("")};
  EXPECT_THROW(SplitDecider{m}, ConfigError);
  m.block_s[2] = {1};
  EXPECT_NO_THROW(SplitDecider{m});
}

TEST(SplitInputs, ScalesTheProfilePerTierAndReadsTheChain) {
  profile::ModelProfile p;
  p.model = "m";
  p.input_shape = {1, 28, 28};
  p.speed = 1;
  p.blocks.resize(2);
  p.blocks[0].fwd_s = 0.002;
  p.blocks[0].out_bytes = 100;
  p.blocks[1].fwd_s = 0.001;
  p.blocks[1].out_bytes = 40;
  const SplitModel m = make_split_model(p, {0.01, 0.1, 1});
  EXPECT_DOUBLE_EQ(m.block_s[0][0], 0.2);
  EXPECT_DOUBLE_EQ(m.block_s[1][1], 0.01);
  EXPECT_DOUBLE_EQ(m.block_s[2][0], 0.002);
  EXPECT_EQ(m.boundary_bytes, (std::vector<double>{28 * 28 * 4, 100, 40}));
  EXPECT_THROW(make_split_model(p, {0, 1, 1}), ConfigError);

  const cluster::ClusterSpec spec = cluster::load_cluster(DEC_SOURCE_DIR "/scenarios/S2.yaml");
  const TierChain c = tier_chain(spec, "dev0");
  EXPECT_EQ(c.nodes, (std::array<std::string, kTiers>{"dev0", "edge0", "cloud"}));
  EXPECT_EQ(c.speeds, (std::array<double, kTiers>{0.01, 0.1, 1}));
  EXPECT_DOUBLE_EQ(c.links.bandwidth_Bps[0], 5.85e6 / 8);
  EXPECT_DOUBLE_EQ(c.links.latency_s[0], 0.02);
  EXPECT_DOUBLE_EQ(c.links.bandwidth_Bps[1], 100e6 / 8);
  EXPECT_DOUBLE_EQ(c.links.latency_s[1], 0.03);
  EXPECT_THROW(tier_chain(spec, "edge0"), ConfigError);
  EXPECT_THROW(tier_chain(spec, "nobody"), ConfigError);
}

}  // namespace
}  // namespace dec::serve
