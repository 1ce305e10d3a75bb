#include "dec/planner/rows.h"

#include <algorithm>

#include "dec/core/error.h"

namespace dec::planner {

namespace {

// A task's cost in units of one sample at the profile's micro-batch
// (profile::cost_at_rows over the block's ratios).
double task_units(const std::vector<BlockData::AtRows>& t, double rows, bool backward) {
  return profile::cost_at_rows(
      t, rows, [](const BlockData::AtRows& a) { return a.rows; },
      [backward](const BlockData::AtRows& a) { return backward ? a.bwd : a.fwd; });
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
