// A model's block profile: what the planner needs to know about each block,
// measured on one node (docs/profile.md specifies the JSON and its versions).
//
// This header does not depend on LibTorch: the planner reads profiles as numbers.
// All per-sample quantities are for one sample at the profiled micro-batch size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dec::profile {

// The version this dec writes, and the oldest it still reads (docs/profile.md,
// version history): version 1 differs only in leaving out opt_s.
inline constexpr int kProfileFormatVersion = 2;
inline constexpr int kOldestProfileFormatVersion = 1;

struct BlockProfile {
  std::string name;
  double fwd_s = 0;          // forward seconds per sample (median over repeats)
  double bwd_s = 0;          // backward seconds per sample (median over repeats)
  double fwd_spread = 0;     // (max - min) / median of the forward repeats
  double bwd_spread = 0;     // same for backward
  double opt_s = 0;          // the optimizer's step over this block's parameters, seconds
                             // per iteration (whatever the batch); 0 when a version 1
                             // profile leaves it out
  double out_bytes = 0;      // A[l]: output activation bytes per sample
  double saved_bytes = 0;    // R[l]: activation bytes per sample kept for backward
  double param_bytes = 0;    // W[l]
  double optim_bytes = 0;    // S[l]: optimizer state bytes for the profiled optimizer
  double flops = 0;          // forward FLOPs per sample (multiply-add = 2)
  // The same per-sample times measured at other numbers of rows per task,
  // rows ascending, the profile's micro-batch among them; empty when the file
  // leaves them out (the planner then takes per-sample times as constant).
  struct AtRows {
    int64_t rows = 0;
    double fwd_s = 0, bwd_s = 0;
  };
  std::vector<AtRows> by_rows;
};

struct ModelProfile {
  int format_version = kProfileFormatVersion;  // the version of the file it was read from
  std::string model;                // zoo name, e.g. "fmnist-cnn"
  std::string model_hash;           // model::ModelSpec::hash()
  std::vector<int64_t> input_shape; // per sample, e.g. {1, 28, 28}
  int64_t num_classes = 0;
  double input_bytes = 0;           // A[0]: one input sample plus its label, as sent
  std::string node;                 // where it was measured ("" = this machine)
  double speed = 1;                 // emulated speed factor the times include (1 = full)
  int micro_batch = 0;              // samples per timed forward/backward
  int threads = 0;                  // torch intra-op threads during the measurement
  int repeats = 0;                  // timed repeats per block (after warm-up)
  std::string optimizer;            // "sgd" (momentum) or "adam": sizes optim_bytes
  double whole_s = 0;               // whole-model fwd+bwd seconds per sample, same run
  double block_sum_ratio = 0;       // sum over blocks of (fwd_s + bwd_s) / whole_s
  std::vector<BlockProfile> blocks;

  double total_param_bytes() const;
  // Sum over blocks of fwd_s + bwd_s: one sample through the whole model.
  double block_sum_s() const;
};

// One task's cost from per-sample costs measured at some row counts, `t`
// ascending by rows: rows x the per-sample cost, linear in rows between two
// measured row counts, the per-sample cost constant beyond the ends.
// `rows_of(entry)` and `per_sample(entry)` read an entry. The planner
// (planner/rows.h) and emulation (runtime/task_costs.h) both cost tasks so.
// REQUIRES: !t.empty().
template <typename Table, typename RowsOf, typename PerSample>
double cost_at_rows(const Table& t, double rows, RowsOf rows_of, PerSample per_sample) {
  if (rows <= rows_of(t.front())) return rows * per_sample(t.front());
  if (rows >= rows_of(t.back())) return rows * per_sample(t.back());
  size_t i = 1;
  while (rows_of(t[i]) < rows) ++i;
  const double r0 = rows_of(t[i - 1]), r1 = rows_of(t[i]);
  const double c0 = r0 * per_sample(t[i - 1]), c1 = r1 * per_sample(t[i]);
  return c0 + (c1 - c0) * (rows - r0) / (r1 - r0);
}

// Seconds of one forward (or backward) task of block `b` on `rows` samples,
// at the profile's speed: by cost_at_rows over by_rows, rows x fwd_s (bwd_s)
// without them.
double task_s(const BlockProfile& b, double rows, bool backward);

// JSON text <-> struct. to_json writes kProfileFormatVersion, whatever
// format_version says (the struct holds the current fields). Parsing reads
// versions kOldestProfileFormatVersion to kProfileFormatVersion and
// validates required fields and finite non-negative numbers; errors are
// CorruptFile naming `where` (a path), one line each:
//   unsupported profile format (<where>): format_version 9; this dec reads 1 to 2
std::string to_json(const ModelProfile& p);
ModelProfile from_json(const std::string& text, const std::string& where);
ModelProfile load_profile(const std::string& path);
void save_profile(const std::string& path, const ModelProfile& p);  // atomic

// A profile as if measured on a node `speed` times as fast (times divided by speed).
// The task overhead is scaled too: a slower processor is slower at everything.
ModelProfile scaled(const ModelProfile& p, double speed);

}  // namespace dec::profile
