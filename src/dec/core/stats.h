// Small summaries of repeated measurements, shared by the runtime and the benches.
#pragma once

#include <algorithm>
#include <vector>

namespace dec {

// The middle element (the upper of the two middles for an even count);
// REQUIRES: v is not empty.
inline double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace dec
