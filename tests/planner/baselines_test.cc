#include "dec/planner/baselines.h"

#include <gtest/gtest.h>

#include <limits>

#include "dec/planner/planner.h"
#include "random_instance.h"

namespace dec::planner {
namespace {

const Baseline& find(const std::vector<Baseline>& bs, const std::string& kind) {
  for (const auto& b : bs)
    if (b.kind == kind) return b;
  throw std::runtime_error("no baseline " + kind);
}

TEST(Baselines, HaveTheirDefiningShape) {
  auto solver = make_cbc_solver();
  SolveOptions o;
  o.tuning = cbc_tuning();
  for (int seed = 0; seed < 30; ++seed) {
    const auto c = testing::random_case(500 + seed);
    const Instance& in = c.instance;
    const auto bs = compute_baselines(in, *solver, o);
    for (const auto& b : bs)
      if (b.applicable) check_structure(in, b.structure);
    const Baseline& dev = find(bs, "device-only");
    for (const auto& src : in.sources) EXPECT_EQ(dev.structure[src.paths[0]].samples, src.samples);
    const Baseline& cloud = find(bs, "cloud-only");
    for (const auto& src : in.sources) {
      const int last = src.paths.back();
      EXPECT_EQ(cloud.structure[last].samples, src.samples);
      for (int cut : cloud.structure[last].cuts) EXPECT_EQ(cut, 0);
    }
    const Baseline& dp = find(bs, "data-parallel");
    if (dp.applicable) {
      for (size_t p = 0; p < in.paths.size(); ++p)
        for (int cut : dp.structure[p].cuts) EXPECT_EQ(cut, 0);
      // The optimal split is at least as good as any single tier that fits.
      for (const char* k : {"device-only", "edge-only", "cloud-only"}) {
        const Baseline& t = find(bs, k);
        if (!t.applicable || !evaluate(in, t.structure).fits) continue;
        EXPECT_LE(evaluate(in, dp.structure).iteration_s, evaluate(in, t.structure).iteration_s * (1 + 1e-9)) << k;
      }
    }
    // Neurosurgeon's best split is no worse than its two ends (k = 0 and k = L).
    const Baseline& ns = find(bs, "neurosurgeon");
    const Evaluation nse = evaluate(in, ns.structure);
    for (const char* k : {"device-only", "cloud-only"}) {
      const Evaluation ev = evaluate(in, find(bs, k).structure);
      if (ev.fits && nse.fits) EXPECT_LE(nse.iteration_s, ev.iteration_s * (1 + 1e-12)) << k;
    }
  }
}

// PipeDream's dynamic program against brute force of the same objective.
TEST(Baselines, PipedreamMinimisesTheSlowestStage) {
  for (int seed = 0; seed < 30; ++seed) {
    const auto c = testing::random_case(700 + seed);
    const Instance& in = c.instance;
    const int L = in.num_blocks();
    const Structure s = pipedream_partition(in);
    for (const auto& src : in.sources) {
      const double n = static_cast<double>(src.samples);
      auto slowest = [&](int p, const std::vector<int>& cuts) {
        const PathData& path = in.paths[p];
        double worst = 0;
        for (size_t j = 0; j < path.nodes.size(); ++j) {
          const int a = j == 0 ? 0 : cuts[j - 1], b = j + 1 == path.nodes.size() ? L : cuts[j];
          double t = 0;
          for (int l = a; l < b; ++l) t += in.step_s(p, path.nodes[j], l);
          worst = std::max(worst, n * t);
          if (j < path.links.size()) worst = std::max(worst, n * in.hop_bytes_per_sample(cuts[j]) / in.links[path.links[j]].bytes_per_s);
        }
        return worst;
      };
      double brute = std::numeric_limits<double>::infinity(), got = -1;
      for (int p : src.paths) {
        const int m = in.paths[p].hops();
        std::vector<int> cuts(m, 0);
        std::function<void(int, int)> rec = [&](int h, int lo) {
          if (h == m) {
            brute = std::min(brute, slowest(p, cuts));
            return;
          }
          for (int c = lo; c < L; ++c) {
            cuts[h] = c;
            rec(h + 1, c);
          }
        };
        rec(0, 0);
        if (s[p].samples > 0) got = slowest(p, s[p].cuts);
      }
      EXPECT_NEAR(got, brute, 1e-12 * brute);
    }
  }
}

}  // namespace
}  // namespace dec::planner
