// A served model: a zoo model's block chain with a checkpoint's weights, in
// evaluation mode (BatchNorm uses its running statistics, no autograd), able to
// run any contiguous range of blocks [begin, end) on a batch. Splitting a
// request's forward pass across tiers runs [0, s1) on one, [s1, s2) on the
// next and [s2, n) on the last; the result equals the whole model's forward
// to floating-point rounding (tests/serve/served_model_test.cc checks 1e-5).
//
// Boundary s (0 <= s <= n) is the tensor between block s - 1 and block s: the
// input at 0, block s - 1's output otherwise, the logits at n. Tensors cross
// this interface as fp32 row-major buffers of `rows` x boundary_elements(s):
// this header does not include LibTorch, so the HTTP server and the CLI that
// use it compile without it.
//
// Thread safety: a loaded ServedModel is immutable; run() may be called from
// several threads at once (each call uses LibTorch's intra-op pool).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dec::serve {

struct ServedModelOptions {
  std::string model;             // zoo name (`dec models`)
  std::vector<int64_t> input;    // per-sample input shape; {} = the model's default
  int64_t classes = 0;           // 0 = the model's default
  // A `dec train` or `dec launch` checkpoint (root with `latest`, or a step
  // directory). "" = fresh weights from `seed` (tests and demos only).
  std::string checkpoint;
  uint64_t seed = 0;
};

class ServedModel {
 public:
  // Builds the model and loads the checkpoint's parameters and buffers.
  // Throws ConfigError (unknown model, bad shape), CorruptFile/IoError (the
  // checkpoint, as runtime::open_checkpoint) and Mismatch naming the
  // checkpoint when it was trained for another model, input shape or class
  // count (the model hash covers all three).
  static std::unique_ptr<ServedModel> load(const ServedModelOptions& options);
  ~ServedModel();
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;

  const std::string& name() const;  // the zoo name
  const std::string& hash() const;  // model::ModelSpec::hash()
  const std::string& checkpoint_dir() const;  // the step directory loaded ("" from a seed)
  int64_t checkpoint_step() const;
  size_t num_blocks() const;
  const std::vector<std::string>& block_names() const;
  // Per-sample shape and element count at boundary s; REQUIRES: s <= num_blocks().
  const std::vector<int64_t>& boundary_shape(size_t s) const;
  int64_t boundary_elements(size_t s) const;

  // Runs blocks [begin, end) on `rows` samples: `in` holds rows x
  // boundary_elements(begin) floats, the result rows x boundary_elements(end).
  // begin == end returns a copy. Throws ConfigError when the range is invalid
  // or `in` has the wrong size.
  std::vector<float> run(const std::vector<float>& in, int64_t rows, size_t begin, size_t end) const;

 private:
  struct Impl;
  explicit ServedModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dec::serve
