#include "dec/planner/baselines.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dec/core/error.h"
#include "dec/planner/fleet.h"
#include "dec/planner/formulation.h"

namespace dec::planner {
namespace {

Structure empty_structure(const Instance& in) {
  Structure s(in.paths.size());
  for (size_t p = 0; p < in.paths.size(); ++p) s[p].cuts.assign(in.paths[p].hops(), 0);
  return s;
}

// All samples of every source on the path ending at the first node of `tier`
// on its route, raw input sent there (all cuts 0).
Baseline tier_only(const Instance& in, cluster::Tier tier, const std::string& kind) {
  Baseline b;
  b.kind = kind;
  b.structure = empty_structure(in);
  for (const auto& src : in.sources) {
    int chosen = -1;
    for (int p : src.paths) {
      if (in.nodes[in.paths[p].nodes.back()].tier == tier) {
        chosen = p;
        break;
      }
    }
    if (chosen < 0) {
      b.applicable = false;
      b.note = str("no ", cluster::tier_name(tier), " node on the route of ", in.nodes[src.node].name);
      return b;
    }
    b.structure[chosen].samples = src.samples;
  }
  return b;
}

Baseline device_only(const Instance& in) {
  Baseline b;
  b.kind = "device-only";
  b.structure = empty_structure(in);
  for (const auto& src : in.sources) b.structure[src.paths[0]].samples = src.samples;
  return b;
}

Baseline data_parallel(const Instance& in, Solver& solver, const SolveOptions& options,
                       const std::vector<Baseline>& starts) {
  Baseline b;
  b.kind = "data-parallel";
  if (fleet_scale(in)) {
    // Its MILP has every source's paths: at fleet scale building it alone
    // takes seconds and CBC finds no split in the planner's time.
    b.applicable = false;
    b.note = str("not computed at fleet scale (", in.sources.size(), " sources)");
    return b;
  }
  FormulationOptions fo;
  fo.fix.resize(in.paths.size());
  for (size_t p = 0; p < in.paths.size(); ++p) fo.fix[p].cuts = std::vector<int>(in.paths[p].hops(), 0);
  Formulation f(in, fo);
  SolveOptions o = options;
  // Start from the fastest single-tier baseline that fits: all cuts are 0
  // there too, so it is a solution of this model.
  double best = std::numeric_limits<double>::infinity();
  for (const auto& b : starts) {
    if (!b.applicable) continue;
    const Evaluation ev = evaluate(in, b.structure);
    if (ev.fits && ev.iteration_s < best) {
      best = ev.iteration_s;
      o.start = f.start(b.structure);
    }
  }
  const SolveResult r = solver.solve(f.milp(), o);
  if (!r.has_solution()) {
    b.applicable = false;
    b.note = r.status == SolveStatus::kInfeasible ? "no sample split fits memory"
                                                   : str("sample split not found: ", status_name(r.status),
                                                         r.message.empty() ? "" : " (" + r.message + ")");
    return b;
  }
  b.structure = f.extract(r.values);
  return b;
}

Baseline neurosurgeon(const Instance& in) {
  Baseline best;
  best.kind = "neurosurgeon";
  const int L = in.num_blocks();
  double best_t = std::numeric_limits<double>::infinity();
  bool best_fits = false;
  for (int k = 0; k <= L; ++k) {
    Structure s = empty_structure(in);
    bool ok = true;
    for (const auto& src : in.sources) {
      int chosen = -1;
      if (k == L) {
        chosen = src.paths[0];
      } else {
        for (int p : src.paths)
          if (in.nodes[in.paths[p].nodes.back()].tier == cluster::Tier::kCloud && chosen < 0) chosen = p;
      }
      if (chosen < 0 || (k > 0 && k < L && in.paths[chosen].hops() == 0)) {
        ok = false;
        break;
      }
      s[chosen].samples = src.samples;
      std::fill(s[chosen].cuts.begin(), s[chosen].cuts.end(), k == L ? 0 : k);
    }
    if (!ok) continue;
    const Evaluation ev = evaluate(in, s);
    // Prefer plans that fit; among equals, the faster.
    if ((ev.fits && !best_fits) || (ev.fits == best_fits && ev.iteration_s < best_t)) {
      best_t = ev.iteration_s;
      best_fits = ev.fits;
      best.structure = s;
    }
  }
  if (best.structure.empty()) {
    best.applicable = false;
    best.note = "no cloud node on the sources' routes";
  }
  return best;
}

}  // namespace

Structure pipedream_partition(const Instance& in) {
  const int L = in.num_blocks();
  Structure s = empty_structure(in);
  for (const auto& src : in.sources) {
    const double n = static_cast<double>(src.samples);
    double best = std::numeric_limits<double>::infinity();
    int best_path = src.paths[0];
    std::vector<int> best_cuts;
    for (int p : src.paths) {
      const PathData& path = in.paths[p];
      const int m = path.hops();
      // f[j][c]: smallest slowest-stage time with blocks [0, c) on nodes 0..j
      // (node j's range ending at c); arg[j][c]: where node j's range begins.
      const double inf = std::numeric_limits<double>::infinity();
      std::vector<std::vector<double>> f(m + 1, std::vector<double>(L + 1, inf));
      std::vector<std::vector<int>> arg(m + 1, std::vector<int>(L + 1, -1));
      auto stage = [&](int j, int a, int c) {
        double t = 0;
        for (int l = a; l < c; ++l) t += in.step_s(p, path.nodes[j], l);
        return n * t;
      };
      for (int c = 0; c <= L; ++c) f[0][c] = stage(0, 0, c);
      for (int j = 1; j <= m; ++j) {
        const LinkData& link = in.links[path.links[j - 1]];
        for (int c = 0; c <= L; ++c) {
          for (int a = 0; a <= c && a < L; ++a) {
            const double hop = n * in.hop_bytes_per_sample(a) / link.bytes_per_s;
            const double v = std::max({f[j - 1][a], hop, stage(j, a, c)});
            if (v < f[j][c]) {
              f[j][c] = v;
              arg[j][c] = a;
            }
          }
        }
      }
      // The last node must run the last block: its range [a, L) with a < L.
      double v = f[m][L];
      if (m > 0 && arg[m][L] >= L) continue;
      if (v < best) {
        best = v;
        best_path = p;
        best_cuts.assign(m, 0);
        int c = L;
        for (int j = m; j >= 1; --j) {
          c = arg[j][c];
          best_cuts[j - 1] = c;
        }
      }
    }
    s[best_path].samples = src.samples;
    s[best_path].cuts = best_cuts.empty() ? std::vector<int>(in.paths[best_path].hops(), 0) : best_cuts;
  }
  return s;
}

std::vector<Baseline> compute_baselines(const Instance& in, Solver& solver, const SolveOptions& options) {
  std::vector<Baseline> out;
  out.push_back(device_only(in));
  out.push_back(tier_only(in, cluster::Tier::kEdge, "edge-only"));
  out.push_back(tier_only(in, cluster::Tier::kCloud, "cloud-only"));
  out.push_back(data_parallel(in, solver, options, out));
  out.push_back(neurosurgeon(in));
  Baseline pd;
  pd.kind = "pipedream";
  pd.structure = pipedream_partition(in);
  out.push_back(pd);
  return out;
}

}  // namespace dec::planner
