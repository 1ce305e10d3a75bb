// Describes a zoo model block by block: the analytic BlockInfo (through the
// ShapeTracker) and the factory of each block come from the same options value,
// so what the spec says and what build() instantiates cannot drift apart.
//
//   ChainBuilder c("fmnist-cnn", input, classes);
//   c.add("conv1", ConvBlockOptions(c.channels(), 32, 3).padding(1).pool_kernel(2));
//   ...
//   return std::move(c).finish();
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dec/model/layers.h"
#include "dec/model/model.h"
#include "dec/model/shape_tracker.h"

namespace dec::model {

class ChainBuilder {
 public:
  ChainBuilder(std::string model, Shape input, int64_t num_classes);

  // The current per-sample shape (the output of the last block added).
  const Shape& shape() const { return tracker_.shape(); }
  // Channels of the current [C, H, W] shape; ConfigError naming the model if
  // the shape is not an image.
  int64_t channels() const;
  // Elements per sample of the current shape (the width after a flatten).
  int64_t features() const;

  // Appends a block; Options is one of the options types of layers.h.
  template <typename Options>
  void add(std::string name, const Options& options) {
    tracker_.begin_block(std::move(name));
    trace(tracker_, options);
    blocks_.push_back(tracker_.end_block());
    factories_.emplace_back([options] { return make_block(options); });
  }

  // The finished spec; REQUIRES: the last block outputs [num_classes].
  ModelSpec finish() &&;

 private:
  std::string model_;
  Shape input_;
  int64_t num_classes_;
  ShapeTracker tracker_;
  std::vector<BlockInfo> blocks_;
  std::vector<BlockFactory> factories_;
};

}  // namespace dec::model
