// Deterministic sampling, with DistributedSampler's set_epoch semantics.
//
// The order of epoch e is a permutation of [0, n) drawn from (seed, e) alone,
// so every process that knows (n, seed, e) computes the same order and a
// resumed run sees exactly the batches an uninterrupted one would. The epoch
// is 0 after construction, as in PyTorch; unlike PyTorch, (seed, epoch) is
// hashed rather than summed, so seed s at epoch e + 1 is not seed s + 1 at e.
//
// Thread safety: const methods may run concurrently; set_epoch() may not run
// alongside anything else. set_epoch() replaces order() rather than writing
// into it, so tensors returned earlier keep the old epoch's values.
// Errors: a non-positive batch size is a ConfigError; a batch index out of
// range is a caller bug (InternalError).
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
  // Batch `index` of size `batch` (the last may be smaller; drop_last drops it):
  // order()[index * batch, min(n, (index + 1) * batch)), a view of order()
  // (read-only: writing into it would change the epoch's order).
  // REQUIRES: 0 <= index < num_batches(batch, /*drop_last=*/false).
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
