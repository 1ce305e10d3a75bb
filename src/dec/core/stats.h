// Small summaries of repeated measurements, shared by the runtime, the report and the benches.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace dec {

// The middle element (the upper of the two middles for an even count);
// REQUIRES: v is not empty.
inline double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Iterations at the start of a run that pay warm-up (allocations, connections,
// the first messages over each link) and stay out of a run's mean iteration time.
constexpr size_t kWarmupIterations = 1;

// The mean iteration time of a run: the mean of `seconds` (one per iteration, in
// order) leaving out the first kWarmupIterations whenever at least one iteration
// remains. NaN for an empty run. The one definition that the job's result, the
// report, `dec demo` and the benches use.
inline double steady_mean(const std::vector<double>& seconds) {
  if (seconds.empty()) return std::nan("");
  const size_t skip = seconds.size() > kWarmupIterations ? kWarmupIterations : 0;
  double sum = 0;
  for (size_t i = skip; i < seconds.size(); ++i) sum += seconds[i];
  return sum / static_cast<double>(seconds.size() - skip);
}

}  // namespace dec
