// Models as chains of named blocks: the unit of partition (DESIGN.md "block").
//
// A ModelSpec describes a model for one input shape and class count without
// allocating it. build(begin, end, seed) instantiates the contiguous range of
// blocks [begin, end) as a torch::nn::Sequential whose children are named by
// the blocks' names, so parameter names are "<block>.<...>" everywhere (state
// dicts, checkpoint shards, exports).
//
// Contract: each block's parameters are initialised from (seed, block index)
// alone, so for any cut points the chain build(0,a) -> build(a,b) -> build(b,L)
// holds exactly the parameters of build(0,L) and computes exactly its output
// and gradients. Blocks map a [N, in_shape...] float tensor to [N, out_shape...];
// the last block outputs [N, num_classes] logits. No block uses dropout.
//
// Thread safety: a ModelSpec is immutable after construction and may be shared;
// build() seeds a private generator and is safe to call from several threads.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dec::model {

using Shape = std::vector<int64_t>;  // per sample, without the batch dimension

struct BlockInfo {
  std::string name;      // unique within the model, e.g. "conv1", "layer2.0", "head"
  Shape in_shape;
  Shape out_shape;
  int64_t params = 0;    // number of parameters (elements)
  int64_t buffers = 0;   // elements of non-parameter state (BatchNorm running stats)
  double flops = 0;      // forward FLOPs per sample, a multiply-add counted as 2
};

// Creates one block's module; called with the generator already seeded.
using BlockFactory = std::function<torch::nn::AnyModule()>;

class ModelSpec {
 public:
  ModelSpec(std::string name, Shape input_shape, int64_t num_classes,
            std::vector<BlockInfo> blocks, std::vector<BlockFactory> factories);

  const std::string& name() const { return name_; }
  const Shape& input_shape() const { return input_shape_; }
  int64_t num_classes() const { return num_classes_; }
  size_t num_blocks() const { return blocks_.size(); }
  const BlockInfo& block(size_t i) const { return blocks_.at(i); }
  const std::vector<BlockInfo>& blocks() const { return blocks_; }
  int64_t total_params() const;
  double total_flops() const;

  // Index of the block with this name; throws ConfigError if there is none.
  size_t block_index(const std::string& name) const;

  // Instantiates blocks [begin, end); REQUIRES: begin <= end <= num_blocks().
  torch::nn::Sequential build(size_t begin, size_t end, uint64_t seed) const;
  torch::nn::Sequential build_all(uint64_t seed) const { return build(0, num_blocks(), seed); }

  // sha256 over the name, input shape, classes and every block's name and
  // parameter/buffer shapes: equal hashes mean interchangeable checkpoints.
  std::string hash() const;

 private:
  std::string name_;
  Shape input_shape_;
  int64_t num_classes_;
  std::vector<BlockInfo> blocks_;
  std::vector<BlockFactory> factories_;
  std::string hash_;
};

struct ZooEntry {
  std::string name;          // e.g. "fmnist-cnn"
  std::string description;   // one line
  Shape default_input;       // e.g. {1, 28, 28}
  int64_t default_classes;
};

// The model zoo: fmnist-cnn, lenet5, mlp, vgg11, resnet18, mobilenetv2.
const std::vector<ZooEntry>& zoo();

// Builds the spec of a zoo model for an input shape ({} = the model's default)
// and class count (0 = default). Throws ConfigError naming the model when the
// name is unknown or the shape is unsupported (e.g. too small for its pooling).
ModelSpec make_model(const std::string& name, Shape input_shape = {}, int64_t num_classes = 0);

// "3x96x96" -> {3, 96, 96}; throws ConfigError naming `where`.
Shape parse_shape(const std::string& text, const std::string& where);
std::string format_shape(const Shape& s);

}  // namespace dec::model
