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
// int8 (options.int8): every block that serve/quantize.h can quantise runs
// int8 between fp32 boundaries, calibrated at load on the training split;
// results then differ from the fp32 model's by quantisation error (the
// accuracy gate is tests/serve/quantize_test.cc). Meant for the device tier:
// the edge and cloud serve fp32 and take the device's fp32 activation as is.
//
// TorchScript (options.torchscript): a file saved by Python's torch.jit.save.
// A script nn.Sequential becomes a chain of its children, in order, named as
// they are ("0", "1", ...); any other module is one block named "model". The
// boundary shapes come from a forward pass of one zero sample at load.
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
  // A TorchScript file instead of a zoo model and checkpoint: `model` is then
  // only the name served, `input` is required, `classes` and `checkpoint` unused.
  std::string torchscript;
  // int8 blocks (zoo models only), calibrated on `calibration_batches` batches
  // of 32 samples of `calibration_data`'s training split ("fashion-mnist" from
  // `calibration_dir`, "" = Debian's; or "synthetic" of the model's shape).
  bool int8 = false;
  std::string int8_engine = "onednn";  // or "qnnpack" (quantize.h)
  int64_t calibration_batches = 8;
  std::string calibration_data = "fashion-mnist";
  std::string calibration_dir;
  // With int8: forward passes of one sample per block timed at load, median (int8_block_s()).
  int profile_repeats = 15;
};

class ServedModel {
 public:
  // Builds the model and loads the checkpoint's parameters and buffers.
  // Throws ConfigError (unknown model, bad shape), CorruptFile/IoError (the
  // checkpoint, as runtime::open_checkpoint) and Mismatch naming the
  // checkpoint when it was trained for another model, input shape or class
  // count (the model hash covers all three). A TorchScript file that cannot
  // be read is IoError, one LibTorch refuses CorruptFile, one whose forward
  // fails on `input` ConfigError. int8: the calibration data's errors
  // (data::load_dataset), ConfigError for a TorchScript model.
  static std::unique_ptr<ServedModel> load(const ServedModelOptions& options);
  ~ServedModel();
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;

  const std::string& name() const;  // the zoo name
  const std::string& hash() const;  // model::ModelSpec::hash(); TorchScript: the file's sha256
  // The step directory loaded, the TorchScript file, or "" (fresh weights from a seed).
  const std::string& checkpoint_dir() const;
  int64_t checkpoint_step() const;
  size_t num_blocks() const;
  const std::vector<std::string>& block_names() const;
  // Per-sample shape and element count at boundary s; REQUIRES: s <= num_blocks().
  const std::vector<int64_t>& boundary_shape(size_t s) const;
  int64_t boundary_elements(size_t s) const;

  // int8 (options.int8): whether block i runs int8 (false for a block kind
  // quantize.h leaves fp32, and for every block without int8).
  bool int8() const;
  bool int8_block(size_t i) const;
  const std::string& int8_engine() const;  // "" without int8
  // Measured at load with int8, else empty: seconds of block i's forward on one
  // sample (median of options.profile_repeats after two warm-ups), int8 as
  // served and fp32 as without --int8, on this machine with the current
  // intra-op threads. Their ratio scales a profile's device block times.
  const std::vector<double>& int8_block_s() const;
  const std::vector<double>& fp32_block_s() const;

  // Runs blocks [begin, end) on `rows` samples: `in` holds rows x
  // boundary_elements(begin) floats, the result rows x boundary_elements(end).
  // begin == end returns a copy. Throws ConfigError when the range is invalid
  // or `in` has the wrong size.
  std::vector<float> run(const std::vector<float>& in, int64_t rows, size_t begin, size_t end) const;

  struct Impl;  // served_model.cc

 private:
  explicit ServedModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dec::serve
