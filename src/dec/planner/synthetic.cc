#include "dec/planner/synthetic.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "dec/core/error.h"

namespace dec::planner {

profile::ModelProfile synthetic_profile(const SyntheticChain& c) {
  DEC_ASSERT(c.blocks >= 1, "blocks ", c.blocks);
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<double> jitter(0.6, 1.4);
  profile::ModelProfile p;
  p.model = str("synthetic-", c.blocks, "-", c.seed);
  p.model_hash = str("synthetic:", c.blocks, ":", c.seed);
  p.input_shape = {3, 96, 96};
  p.num_classes = 10;
  p.input_bytes = c.input_bytes;
  p.micro_batch = 8;
  p.threads = 1;
  p.repeats = 1;
  p.optimizer = "adam";
  const int L = c.blocks;
  std::vector<double> time_w(L), param_w(L);
  double time_sum = 0, param_sum = 0;
  for (int l = 0; l < L; ++l) {
    const double x = (l + 0.5) / L;  // position along the chain
    // Early blocks are cheap (a stem at full resolution but few channels),
    // later ones heavier; parameters concentrate late (the classifier).
    time_w[l] = jitter(rng) * (0.3 + x);
    param_w[l] = jitter(rng) * std::pow(10.0, 3 * x);
    time_sum += time_w[l];
    param_sum += param_w[l];
  }
  for (int l = 0; l < L; ++l) {
    const double x = (l + 1.0) / L;
    profile::BlockProfile b;
    b.name = str("b", l);
    const double t = c.seconds_per_sample * time_w[l] / time_sum;
    b.fwd_s = t / 3;
    b.bwd_s = 2 * t / 3;
    // Early downsampling: activations shrink geometrically from about half the
    // input to a few hundred bytes, with jitter, so some cut points are clearly better.
    b.out_bytes = std::max(64.0, 0.6 * c.input_bytes * std::pow(0.002, x) * jitter(rng));
    b.saved_bytes = 2 * b.out_bytes;
    b.param_bytes = c.param_bytes * param_w[l] / param_sum;
    b.optim_bytes = c.optimizer_factor * b.param_bytes;
    b.flops = t * 1e10;
    p.blocks.push_back(b);
  }
  p.whole_s = c.seconds_per_sample;
  p.block_sum_ratio = 1;
  return p;
}

profile::ModelProfile w1_profile() {
  struct Block {
    const char* name;
    double fwd_s, bwd_s, opt_s, out_bytes, saved_bytes, param_bytes, optim_bytes, flops;
    std::vector<profile::BlockProfile::AtRows> by_rows;
  };
  const std::vector<Block> blocks = {
      {"conv1", 4.927e-05, 5.573e-05, 2.189e-05, 25088, 175712, 1280, 2560, 526848,
       {{1, 0.0001235, 0.0001239}, {2, 7.845e-05, 8.026e-05}, {4, 5.758e-05, 5.962e-05},
        {8, 5.141e-05, 5.849e-05}, {16, 4.927e-05, 5.573e-05}}},
      {"conv2", 6.315e-05, 0.0001513, 7.495e-05, 12544, 87972, 73984, 147968, 7.26298e+06,
       {{1, 0.000131, 0.0002955}, {2, 8.349e-05, 0.0002156}, {4, 6.759e-05, 0.0001728},
        {8, 7.042e-05, 0.0001618}, {16, 6.315e-05, 0.0001513}}},
      {"fc1", 2.948e-05, 4.197e-05, 0.0004378, 512, 646, 1.60614e+06, 3.21229e+06, 803072,
       {{1, 0.0001876, 0.0002555}, {2, 0.0001021, 0.0001363}, {4, 5.301e-05, 8.365e-05},
        {8, 4.077e-05, 6.111e-05}, {16, 2.948e-05, 4.197e-05}}},
      {"fc2", 6.563e-06, 1.193e-05, 4.949e-06, 40, 58, 5160, 10320, 2570,
       {{1, 4.585e-05, 9.178e-05}, {2, 2.524e-05, 4.927e-05}, {4, 1.651e-05, 2.846e-05},
        {8, 1.109e-05, 1.943e-05}, {16, 6.563e-06, 1.193e-05}}},
  };
  profile::ModelProfile p;
  p.model = "fmnist-cnn";
  p.model_hash = "056466b513c07b651824190402ce7393fb740f686947a786dc4c1238f97bf214";
  p.input_shape = {1, 28, 28};
  p.num_classes = 10;
  p.input_bytes = 3144;
  p.micro_batch = 16;
  p.threads = 1;
  p.repeats = 7;
  p.optimizer = "adam";
  for (const Block& b : blocks) {
    profile::BlockProfile d;
    d.name = b.name;
    d.fwd_s = b.fwd_s;
    d.bwd_s = b.bwd_s;
    d.opt_s = b.opt_s;
    d.out_bytes = b.out_bytes;
    d.saved_bytes = b.saved_bytes;
    d.param_bytes = b.param_bytes;
    d.optim_bytes = b.optim_bytes;
    d.flops = b.flops;
    d.by_rows = b.by_rows;
    p.whole_s += b.fwd_s + b.bwd_s;
    p.blocks.push_back(d);
  }
  p.block_sum_ratio = 1;
  return p;
}

cluster::ClusterSpec synthetic_fleet(const SyntheticFleet& f) {
  DEC_ASSERT(f.devices >= 1 && f.edges >= 1 && f.samples_per_device >= 1, "fleet ", f.devices, " devices, ",
             f.edges, " edges");
  std::mt19937_64 rng(f.seed);
  auto uniform = [&rng](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto log_uniform = [&](double lo, double hi) { return std::exp(uniform(std::log(lo), std::log(hi))); };
  cluster::ClusterSpec s;
  s.name = str("fleet-", f.devices, "dev-", f.edges, "edge-seed", f.seed);
  s.nodes.push_back({"cloud", cluster::Tier::kCloud, 1, "", 64.0 * (1 << 30), ""});
  for (int e = 0; e < f.edges; ++e) {
    const std::string name = str("edge", e);
    s.nodes.push_back({name, cluster::Tier::kEdge, uniform(f.edge_speed_min, f.edge_speed_max), "", 8.0 * (1 << 30), ""});
    s.links.push_back({name, "cloud", log_uniform(f.edge_uplink_mbps_min, f.edge_uplink_mbps_max), uniform(0.01, 0.04)});
  }
  std::vector<double> shares;
  double sum = 0;
  for (int d = 0; d < f.devices; ++d) {
    const std::string name = str("dev", d);
    s.nodes.push_back({name, cluster::Tier::kDevice, uniform(f.device_speed_min, f.device_speed_max), "",
                       uniform(1, 4) * (1 << 30), ""});
    s.links.push_back({name, str("edge", d % f.edges), log_uniform(f.uplink_mbps_min, f.uplink_mbps_max),
                       uniform(0.005, 0.05)});
    shares.push_back(uniform(f.share_min, f.share_max));
    sum += shares.back();
  }
  for (int d = 0; d < f.devices; ++d) s.data.push_back({str("dev", d), shares[d] / sum});
  s.training.batch = f.devices * f.samples_per_device;
  s.training.micro_batches = f.micro_batches;
  s.training.optimizer_state_factor = 2;  // Adam
  return s;
}

}  // namespace dec::planner
