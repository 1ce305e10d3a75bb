#include "dec/model/shape_tracker.h"

#include <utility>

#include "dec/core/error.h"

namespace dec::model {

ShapeTracker::ShapeTracker(std::string model, Shape input)
    : model_(std::move(model)), input_(input), shape_(std::move(input)) {}

void ShapeTracker::begin_block(std::string name) {
  DEC_ASSERT(!open_, "block '", block_.name, "' is still open");
  open_ = true;
  block_ = BlockInfo{};
  block_.name = std::move(name);
  block_.in_shape = shape_;
}

BlockInfo ShapeTracker::end_block() {
  DEC_ASSERT(open_, "no block is open");
  open_ = false;
  block_.out_shape = shape_;
  return std::move(block_);
}

void ShapeTracker::require_image() const {
  DEC_CHECK(shape_.size() == 3, ConfigError, str("unsupported input shape ", format_shape(input_)),
            str("model ", model_), "expects a [channels, height, width] input such as 3x32x32");
}

[[noreturn]] void ShapeTracker::too_small(const std::string& why) const {
  throw ConfigError(str("input shape ", format_shape(input_), " is too small"),
                    str("model ", model_), str("block ", block_.name, ": ", why));
}

int64_t ShapeTracker::elements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

int64_t ShapeTracker::window_out(int64_t size, int64_t kernel, int64_t stride, int64_t padding,
                                 const char* layer) const {
  if (size + 2 * padding < kernel) {
    too_small(str(layer, " with kernel ", kernel, " and padding ", padding, " needs at least ",
                  kernel - 2 * padding, " rows and columns, got ", format_shape(shape_)));
  }
  if (size < stride) {
    too_small(str(layer, " with stride ", stride, " needs at least ", stride,
                  " rows and columns, got ", format_shape(shape_)));
  }
  return (size + 2 * padding - kernel) / stride + 1;
}

void ShapeTracker::conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                          int64_t padding, int64_t groups, bool bias) {
  require_image();
  DEC_ASSERT(
      open_ && shape_[0] == in_channels && in_channels % groups == 0 && out_channels % groups == 0,
      "conv2d ", in_channels, "->", out_channels, " groups ", groups, " on ", format_shape(shape_));
  const int64_t h = window_out(shape_[1], kernel, stride, padding, "conv");
  const int64_t w = window_out(shape_[2], kernel, stride, padding, "conv");
  shape_ = {out_channels, h, w};
  const double out = static_cast<double>(elements());
  const int64_t fan_in = in_channels / groups * kernel * kernel;
  block_.params += out_channels * fan_in + (bias ? out_channels : 0);
  block_.flops += 2.0 * out * static_cast<double>(fan_in) + (bias ? out : 0.0);
}

void ShapeTracker::batch_norm() {
  DEC_ASSERT(open_ && shape_.size() == 3, "batch norm on ", format_shape(shape_));
  const int64_t c = shape_[0];
  block_.params += 2 * c;       // weight, bias
  block_.buffers += 2 * c + 1;  // running_mean, running_var, num_batches_tracked
  block_.flops += 2.0 * static_cast<double>(elements());
}

void ShapeTracker::activation() {
  DEC_ASSERT(open_, "activation outside a block");
  block_.flops += static_cast<double>(elements());
}

void ShapeTracker::max_pool(int64_t kernel, int64_t stride, int64_t padding) {
  require_image();
  DEC_ASSERT(open_ && 2 * padding <= kernel, "max pool k", kernel, " p", padding);
  const int64_t h = window_out(shape_[1], kernel, stride, padding, "max-pool");
  const int64_t w = window_out(shape_[2], kernel, stride, padding, "max-pool");
  shape_ = {shape_[0], h, w};
  block_.flops += static_cast<double>(elements() * kernel * kernel);
}

void ShapeTracker::global_avg_pool() {
  require_image();
  DEC_ASSERT(open_, "pool outside a block");
  block_.flops += static_cast<double>(elements());
  shape_ = {shape_[0]};
}

void ShapeTracker::flatten() {
  DEC_ASSERT(open_, "flatten outside a block");
  shape_ = {elements()};
}

void ShapeTracker::linear(int64_t in_features, int64_t out_features, bool bias) {
  DEC_ASSERT(open_ && shape_.size() == 1 && shape_[0] == in_features, "linear ", in_features, "->",
             out_features, " on ", format_shape(shape_));
  shape_ = {out_features};
  block_.params += in_features * out_features + (bias ? out_features : 0);
  block_.flops += 2.0 * static_cast<double>(in_features * out_features) +
                  (bias ? static_cast<double>(out_features) : 0.0);
}

void ShapeTracker::residual_add() {
  DEC_ASSERT(open_, "residual add outside a block");
  block_.flops += static_cast<double>(elements());
}

}  // namespace dec::model
