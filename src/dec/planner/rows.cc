#include "dec/planner/rows.h"

#include <algorithm>

#include "dec/core/error.h"

namespace dec::planner {

namespace {

double column(const BlockData::AtRows& a, bool backward) { return backward ? a.bwd : a.fwd; }

// A task's cost in units of one sample at the profile's micro-batch: rows x
// its per-sample ratio, linear between measured row counts, per-sample
// constant beyond the ends.
double task_units(const std::vector<BlockData::AtRows>& t, double rows, bool backward) {
  if (rows <= t.front().rows) return rows * column(t.front(), backward);
  if (rows >= t.back().rows) return rows * column(t.back(), backward);
  size_t i = 1;
  while (t[i].rows < rows) ++i;
  const double r0 = t[i - 1].rows, r1 = t[i].rows;
  const double c0 = r0 * column(t[i - 1], backward), c1 = r1 * column(t[i], backward);
  return c0 + (c1 - c0) * (rows - r0) / (r1 - r0);
}

}  // namespace

Instance at_rows(const Instance& in, const Structure& s) {
  check_structure(in, s);
  Instance out = in;
  const int L = in.num_blocks();
  if (!in.has_rows_tables()) return out;
  for (size_t p = 0; p < in.paths.size(); ++p) {
    const int64_t b = s[p].samples;
    if (b == 0) continue;
    // The runtime's split (exec_plan.cc micro_batch_sizes): `big` of q + 1 rows, the rest of q.
    const int64_t m = std::min<int64_t>(in.micro_batches, b), q = b / m, big = b % m;
    PathData& path = out.paths[p];
    path.fwd_scale.assign(L, 1);
    path.bwd_scale.assign(L, 1);
    for (int l = 0; l < L; ++l) {
      const auto& t = in.blocks[l].by_rows;
      if (t.empty()) continue;
      for (bool backward : {false, true}) {
        const double units = static_cast<double>(big) * task_units(t, static_cast<double>(q + 1), backward) +
                             static_cast<double>(m - big) * task_units(t, static_cast<double>(q), backward);
        (backward ? path.bwd_scale : path.fwd_scale)[l] = units / static_cast<double>(b);
      }
    }
  }
  return out;
}

Evaluation evaluate_at_rows(const Instance& in, const Structure& s) { return evaluate(at_rows(in, s), s); }

}  // namespace dec::planner
