// Analytic shapes and costs of blocks, computed while a zoo model is described.
//
// The zoo never runs a model to learn its shapes: each block's trace function
// (layers.h) replays the block's layers on a ShapeTracker, which follows the
// per-sample shape and adds up parameters, buffers and forward FLOPs. The model
// tests check the result against real forward passes and instantiated modules.
//
// FLOP rules (forward, per sample; a multiply-add counts 2):
//   conv2d      2 * out_elems * (in_channels / groups) * k * k, + out_elems for a bias
//   linear      2 * in * out, + out for a bias
//   batch norm  2 per element (scale and shift once the statistics are known)
//   activation  1 per element (ReLU, ReLU6)
//   max pool    k * k per output element (one per window element read)
//   global avg  1 per input element
//   residual    1 per element of the sum
// Flatten and reshapes are free. Statistics of batch norm in training mode are
// not counted: they are a few percent of the convolution before it.
//
// Input too small for a layer is the user's mistake (a shape flag), so it is a
// ConfigError naming the model and the block. A strided layer needs at least
// `stride` input rows and columns: below that the "downsampling" would only
// read padding, which no zoo model is designed for.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "dec/model/model.h"

namespace dec::model {

class ShapeTracker {
 public:
  // `model` names the model in errors; `input` is the per-sample input shape.
  ShapeTracker(std::string model, Shape input);

  const Shape& shape() const { return shape_; }
  // Replaces the current shape: used to trace the second branch of a block
  // (a residual shortcut) from the block's input.
  void set_shape(Shape shape) { shape_ = std::move(shape); }

  // Starts accounting for a new block; REQUIRES: no block is open.
  void begin_block(std::string name);
  // Closes the open block and returns its shapes and costs.
  BlockInfo end_block();

  // Throws ConfigError unless the current shape is [C, H, W].
  void require_image() const;

  void conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
              int64_t padding, int64_t groups, bool bias);
  void batch_norm();
  void activation();
  void max_pool(int64_t kernel, int64_t stride, int64_t padding);
  void global_avg_pool();  // [C, H, W] -> [C]
  void flatten();          // [...] -> [product]
  void linear(int64_t in_features, int64_t out_features, bool bias);
  void residual_add();

 private:
  // Output size of a sliding window along one dimension; throws if too small.
  int64_t window_out(int64_t size, int64_t kernel, int64_t stride, int64_t padding,
                     const char* layer) const;
  [[noreturn]] void too_small(const std::string& why) const;
  int64_t elements() const;

  std::string model_;
  Shape input_;
  Shape shape_;
  bool open_ = false;
  BlockInfo block_;
};

}  // namespace dec::model
