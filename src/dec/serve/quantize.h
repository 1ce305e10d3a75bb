// Post-training static int8 quantisation of a zoo block chain, for the
// device's blocks (docs/inference.md, "int8 and pruning on the device").
//
// QuantizedChain::build copies the weights of an fp32 chain in evaluation
// mode, folds each BatchNorm into the convolution before it, runs calibration
// batches through the (folded) fp32 blocks and records the range of every
// tensor that will be quantised (min-max observers: a block's input, each
// convolution's or linear's output after its activation, a residual sum).
// Weights become qint8, symmetric, with one scale per output channel
// (`per_channel`, the default) or one per tensor; activations quint8, affine,
// over [min(lo, 0), max(hi, 0)] as observed. The convolutions and linears run
// LibTorch's quantized kernels through their prepacked weights
// (quantized::conv2d_prepack, quantized::linear_prepack) with ReLU fused where
// the block has one; max-pooling runs on the quantised tensor.
//
// The chain's interface stays fp32: forward(begin, end, x) quantises x on
// entry and dequantises the result, so a device's int8 prefix [0, s) hands
// the next tier the same kind of activation as the fp32 chain does, and any
// block may be the first one run. Between two int8 blocks the activation stays
// quantised, with one quantisation per boundary (the earlier block's output's,
// which the later block takes as its input's): dequantising there and
// quantising again gives back the same integers, so running [0, s) then
// [s, n) equals running [0, n) (quantize_test.cc checks every s).
//
// Supported blocks (model/layers.h): ConvBlock (conv, optional BatchNorm,
// ReLU, ReLU6 or none, optional max-pool), Dense, Head (its global average
// pool in fp32, its linear int8), BasicBlock (residual sum with
// quantized::add_relu) and InvertedResidual (quantized::add). Any other block
// runs fp32 (int8(i) is false). ReLU6 is the fused ReLU with the output range
// observed after the clamp, so values above the observed maximum (at most 6)
// saturate there.
//
// Engine: LibTorch's quantised engine is process-wide; build() sets it
// (at::globalContext().setQEngine) to `engine`, which must be among the
// engines this LibTorch has (Debian's 1.13: oneDNN and QNNPACK; FBGEMM is not
// built). oneDNN is the default: faster here (docs/measurements.md, "int8 on
// the device"). oneDNN's u8 x s8 products accumulate without the 16-bit
// saturation of pre-VNNI AVX2, the reason FBGEMM's recipe reduces the range:
// this machine has AVX-512 VNNI.
//
// Thread safety: forward() is const and does not modify the chain; the chain
// holds its own copies of the weights, independent of the fp32 modules.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace dec::serve {

enum class QuantEngine { kOneDnn, kQnnpack };

// "onednn" or "qnnpack"; parse_quant_engine throws ConfigError naming `where`
// on anything else.
const char* quant_engine_name(QuantEngine engine);
QuantEngine parse_quant_engine(const std::string& name, const std::string& where);

struct QuantizeOptions {
  QuantEngine engine = QuantEngine::kOneDnn;
  bool per_channel = true;  // per-output-channel weight scales
};

class QuantizedChain {
 public:
  // `blocks`: the fp32 chain, in evaluation mode (BatchNorm's running
  // statistics are folded in); only read. `calibration`: batches of block 0's
  // input, [rows, input shape...] fp32, each run through every block once.
  // Throws ConfigError when `calibration` is empty or the engine is not in
  // this LibTorch.
  static QuantizedChain build(const std::vector<torch::nn::AnyModule>& blocks,
                              const std::vector<torch::Tensor>& calibration, const QuantizeOptions& options);

  size_t num_blocks() const { return blocks_.size(); }
  QuantEngine engine() const { return engine_; }
  // Whether block i runs int8 (false: a kind this file does not quantise, run in fp32).
  bool int8(size_t i) const;
  // Blocks [begin, end) on x (fp32, [rows, boundary begin's shape...]); returns
  // fp32. REQUIRES: begin <= end <= num_blocks(). begin == end returns x.
  torch::Tensor forward(size_t begin, size_t end, torch::Tensor x) const;

  struct Block;  // one block's int8 (or fp32) implementation

 private:
  QuantEngine engine_ = QuantEngine::kOneDnn;
  std::vector<std::shared_ptr<const Block>> blocks_;
};

}  // namespace dec::serve
