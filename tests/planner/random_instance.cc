#include "random_instance.h"

#include <random>

#include "dec/cluster/validate.h"
#include "exhaustive.h"

namespace dec::planner::testing {
namespace {

using cluster::Tier;

// Uniform, integer and log-uniform draws from one generator.
struct Draws {
  std::mt19937_64& rng;
  double uni(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); }
  int pick(int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); }
  double logu(double a, double b) { return std::exp(uni(std::log(a), std::log(b))); }
};

void add_node(cluster::ClusterSpec& s, const std::string& name, Tier tier, double speed, double memory) {
  cluster::Node n;
  n.name = name;
  n.tier = tier;
  n.speed = speed;
  n.memory_bytes = memory;
  s.nodes.push_back(n);
}

double draw_profile(Draws& r, int L, profile::ModelProfile* out) {
  profile::ModelProfile& p = *out;
  p.model = "random";
  p.model_hash = "random";
  p.input_bytes = r.logu(1e4, 1e6);
  p.micro_batch = 1;
  double static_total = 0;
  for (int l = 0; l < L; ++l) {
    profile::BlockProfile b;
    b.name = "b" + std::to_string(l);
    b.fwd_s = r.logu(2e-4, 5e-3);
    b.bwd_s = b.fwd_s * r.uni(0.5, 2.5);  // a first block's backward can be the shorter
    b.opt_s = r.pick(0, 1) ? r.logu(1e-5, 2e-2) : 0;
    b.out_bytes = r.logu(1e3, 2e6);
    b.saved_bytes = b.out_bytes * r.uni(0, 2);
    b.param_bytes = r.logu(1e3, 3e7);
    b.optim_bytes = b.param_bytes * r.pick(0, 2);
    static_total += 2 * b.param_bytes + b.optim_bytes;
    p.blocks.push_back(b);
  }
  return static_total;
}

RandomCase draw(std::mt19937_64& rng) {
  Draws r{rng};
  RandomCase c;
  const int L = r.pick(3, 8);
  const int D = r.pick(1, 3), E = r.pick(1, 2);
  const double static_total = draw_profile(r, L, &c.profile);
  cluster::ClusterSpec& s = c.spec;
  s.name = "random";
  auto node = [&](const std::string& name, Tier t, double speed, double mem_factor) {
    add_node(s, name, t, speed, static_total * mem_factor + r.logu(1e5, 1e8));
  };
  auto link = [&](const std::string& a, const std::string& b, double lo, double hi) {
    s.links.push_back({a, b, r.logu(lo, hi), r.uni(0, 0.05)});
  };
  node("cloud", Tier::kCloud, r.logu(0.5, 2), r.uni(0.6, 4));
  for (int e = 0; e < E; ++e) {
    node("edge" + std::to_string(e), Tier::kEdge, r.logu(0.05, 1), r.uni(0.2, 3));
    link("edge" + std::to_string(e), "cloud", 5, 300);
  }
  const int64_t B = r.pick(std::max(1, D), 16);
  // Integer per-source counts, each >= 1, summing to B.
  std::vector<int64_t> counts(D, 1);
  for (int64_t left = B - D; left > 0; --left) ++counts[r.pick(0, D - 1)];
  for (int d = 0; d < D; ++d) {
    const std::string name = "dev" + std::to_string(d);
    node(name, Tier::kDevice, r.logu(0.005, 0.3), r.uni(0.1, 2));
    // Mostly behind an edge; sometimes straight to the cloud.
    if (r.pick(0, 5) == 0) {
      link(name, "cloud", 0.5, 50);
    } else {
      link(name, "edge" + std::to_string(r.pick(0, E - 1)), 0.5, 50);
    }
    s.data.push_back({name, static_cast<double>(counts[d]) / static_cast<double>(B)});
  }
  s.training.batch = B;
  s.training.micro_batches = r.pick(1, 4);
  cluster::validate(s, "random");
  c.instance = make_instance(s, c.profile);
  return c;
}

// Identical devices (same speed, memory, link and samples) under one edge or
// under identical edges, sometimes beside one device of another kind.
RandomCase draw_symmetric(std::mt19937_64& rng) {
  Draws r{rng};
  RandomCase c;
  const int L = r.pick(3, 5);
  const double static_total = draw_profile(r, L, &c.profile);
  cluster::ClusterSpec& s = c.spec;
  s.name = "random-symmetric";
  auto memory = [&](double lo, double hi) { return static_total * r.uni(lo, hi) + r.logu(1e5, 1e8); };
  // Shapes: 0: 2-3 twins under one edge; 1: one twin under each of two twin
  // edges; 2: two twins under each of two twin edges; 3: two twins and an odd device under one edge.
  const int shape = r.pick(0, 3);
  const int E = shape == 1 || shape == 2 ? 2 : 1;
  const int twins = shape == 0 ? r.pick(2, 3) : shape == 2 ? 4 : 2;
  add_node(s, "cloud", Tier::kCloud, r.logu(0.5, 2), memory(0.6, 4));
  const double edge_speed = r.logu(0.05, 1), edge_memory = memory(0.2, 3);
  const double up_bw = r.logu(5, 300), up_lat = r.uni(0, 0.05);
  for (int e = 0; e < E; ++e) {
    add_node(s, "edge" + std::to_string(e), Tier::kEdge, edge_speed, edge_memory);
    s.links.push_back({"edge" + std::to_string(e), "cloud", up_bw, up_lat});
  }
  const double dev_speed = r.logu(0.005, 0.3), dev_memory = memory(0.1, 2);
  const double bw = r.logu(0.5, 50), lat = r.uni(0, 0.05);
  const int64_t per = r.pick(1, shape == 2 ? 2 : 4);
  int64_t odd = 0;
  for (int d = 0; d < twins; ++d) {
    const std::string name = "dev" + std::to_string(d);
    add_node(s, name, Tier::kDevice, dev_speed, dev_memory);
    s.links.push_back({name, "edge" + std::to_string(d % E), bw, lat});
  }
  if (shape == 3) {
    odd = r.pick(1, 4);
    add_node(s, "odd", Tier::kDevice, r.logu(0.005, 0.3), memory(0.1, 2));
    s.links.push_back({"odd", "edge0", r.logu(0.5, 50), r.uni(0, 0.05)});
  }
  const int64_t B = per * twins + odd;
  for (int d = 0; d < twins; ++d)
    s.data.push_back({"dev" + std::to_string(d), static_cast<double>(per) / static_cast<double>(B)});
  if (odd > 0) s.data.push_back({"odd", static_cast<double>(odd) / static_cast<double>(B)});
  s.training.batch = B;
  s.training.micro_batches = r.pick(1, 4);
  cluster::validate(s, "random-symmetric");
  c.instance = make_instance(s, c.profile);
  return c;
}

}  // namespace

RandomCase random_case(uint64_t seed, double max_combinations) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 17);
  for (;;) {
    RandomCase c = draw(rng);
    if (count_combinations(c.instance) <= max_combinations) return c;
  }
}

RandomCase symmetric_case(uint64_t seed, double max_combinations) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 29);
  for (;;) {
    RandomCase c = draw_symmetric(rng);
    if (count_combinations(c.instance) <= max_combinations) return c;
  }
}

}  // namespace dec::planner::testing
