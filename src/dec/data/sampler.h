// Deterministic sampling, with DistributedSampler's set_epoch semantics.
//
// The order of epoch e is a permutation of [0, n) drawn from (seed, e) alone,
// so every process that knows (n, seed, e) computes the same order and a
// resumed run sees exactly the batches an uninterrupted one would.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace dec::data {

class EpochSampler {
 public:
  // shuffle=false yields 0..n-1 in order.
  EpochSampler(int64_t n, uint64_t seed, bool shuffle = true);

  void set_epoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }
  int64_t size() const { return n_; }
  // The epoch's order as an int64 tensor [n].
  const torch::Tensor& order() const { return order_; }
  // Batch `index` of size `batch` (the last may be smaller; drop_last drops it).
  torch::Tensor batch_indices(int64_t index, int64_t batch) const;
  int64_t num_batches(int64_t batch, bool drop_last) const;

 private:
  int64_t n_;
  uint64_t seed_;
  bool shuffle_;
  int64_t epoch_ = -1;
  torch::Tensor order_;
};

}  // namespace dec::data
