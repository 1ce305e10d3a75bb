// Models as chains of named blocks. A block is the unit of partition: the
// planner places whole blocks, never part of one (docs/plan.md).
//
// A ModelSpec describes a model for one input shape and class count without
// allocating it. build(begin, end, seed) instantiates the contiguous range of
// blocks [begin, end) as a torch::nn::Sequential whose children are named by
// the blocks' names, so parameter names are "<block>.<...>" everywhere (state
// dicts, checkpoint shards, exports). Block names are identifiers without dots
// (LibTorch refuses dots in submodule names): ResNet's "layer1.0" is "layer1_0".
//
// Contract: each block's parameters are initialised from (seed, block index)
// alone, so for any cut points the chain build(0,a) -> build(a,b) -> build(b,L)
// holds exactly the parameters of build(0,L) and computes exactly its output
// and gradients. Blocks map a [N, in_shape...] float tensor to [N, out_shape...];
// the last block outputs [N, num_classes] logits. No block uses dropout.
// Batch norm layers compute batch statistics in train() mode, so a block gives
// the same result as inside the whole model when it sees the same batch.
//
// Weight layout: a spec may store its 4-D parameters (convolution weights)
// channels-last. LibTorch 1.13's oneDNN convolution then runs NHWC whenever
// either its input or its weight is channels-last, so the activations between
// convolutions, batch norms and poolings stay NHWC without converting the
// inputs; max-pooling in particular is several times faster on NHWC on one
// thread. Only strides change: shapes, values, names and the hash are the
// same, checkpoints are interchangeable, and grad_sync, checkpoints and the
// wire convert to the logical (contiguous) order where they need it. One
// exception to the chain contract above: with channels-last weights a
// gradient crossing a cut may reach its block in another layout than inside
// the whole model (autograd's choice), and oneDNN rounds differently per
// layout, so gradients agree to rounding (MobileNetV2: 1e-4 relative), not
// bit for bit (chain_test.cc).
//
// Thread safety: a ModelSpec is immutable after construction and may be shared
// and copied. build() initialises blocks from torch's default CPU generator,
// seeded under a process-wide mutex and restored afterwards
// (seeded_generator.h): it is safe to call from several threads and leaves the
// callers' random streams as they were.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dec::model {

using Shape = std::vector<int64_t>;  // per sample, without the batch dimension

enum class WeightLayout { kContiguous, kChannelsLast };

struct BlockInfo {
  std::string name;  // unique within the model, e.g. "conv1", "layer2_0", "head"
  Shape in_shape;
  Shape out_shape;
  int64_t params = 0;   // number of parameters (elements)
  int64_t buffers = 0;  // elements of non-parameter state (BatchNorm running stats)
  double flops = 0;     // forward FLOPs per sample, a multiply-add counted as 2
                        // (what else is counted: shape_tracker.h)
};

// Creates one block's module; called with the generator already seeded.
using BlockFactory = std::function<torch::nn::AnyModule()>;

class ModelSpec {
 public:
  // Throws ConfigError naming the model when the blocks do not form a chain
  // (a shape mismatch between neighbours, the first block not taking
  // input_shape, the last not giving [num_classes]), when a name is empty,
  // repeated or contains a dot, or when the factories do not match the blocks.
  ModelSpec(std::string name, Shape input_shape, int64_t num_classes, std::vector<BlockInfo> blocks,
            std::vector<BlockFactory> factories);

  const std::string& name() const { return name_; }
  const Shape& input_shape() const { return input_shape_; }
  int64_t num_classes() const { return num_classes_; }
  size_t num_blocks() const { return blocks_.size(); }
  const BlockInfo& block(size_t i) const { return blocks_.at(i); }
  const std::vector<BlockInfo>& blocks() const { return blocks_; }
  WeightLayout weight_layout() const { return weight_layout_; }
  // A copy whose build() stores 4-D parameters in `layout`.
  ModelSpec with_weight_layout(WeightLayout layout) const;
  int64_t total_params() const;
  double total_flops() const;

  // Index of the block with this name; throws ConfigError if there is none.
  size_t block_index(const std::string& name) const;

  // Instantiates blocks [begin, end) in train() mode on the CPU; throws
  // ConfigError unless begin <= end <= num_blocks(). An empty range gives an
  // empty Sequential, which LibTorch refuses to forward(): a node with an empty
  // range passes activations on unchanged. LibTorch's Sequential::clone()
  // renames children "0", "1", ...: to copy a range, clone its blocks (they are
  // Cloneable) or build it again. Cost: the blocks' allocation and random
  // initialisation, nothing else.
  torch::nn::Sequential build(size_t begin, size_t end, uint64_t seed) const;
  torch::nn::Sequential build_all(uint64_t seed) const { return build(0, num_blocks(), seed); }

  // sha256 (hex) over the name, input shape, classes and every block's name
  // and parameter/buffer names, shapes and dtypes: equal hashes mean
  // interchangeable checkpoints. The hashed text is versioned and simple enough
  // to reproduce elsewhere (model_test.cc pins one value):
  //   dec-model-hash-v1\nmodel fmnist-cnn\ninput 1x28x28\nclasses 10\n
  //   block conv1\nparam conv.weight [32,1,3,3] Float\n ... buffer <name> [] Long\n
  // Computed on first use by instantiating each block once (tens of
  // milliseconds for the largest zoo models), then cached and shared by copies.
  std::string hash() const;

 private:
  std::string name_;
  Shape input_shape_;
  int64_t num_classes_;
  std::vector<BlockInfo> blocks_;
  std::vector<BlockFactory> factories_;
  WeightLayout weight_layout_ = WeightLayout::kContiguous;
  struct HashCache;
  std::shared_ptr<HashCache> hash_;

  // Block i alone, initialised from (seed, i), its counts checked against blocks_[i].
  // build() then stores its 4-D parameters in weight_layout_; the hash needs
  // only names, shapes and dtypes.
  torch::nn::AnyModule instantiate(size_t i, uint64_t seed) const;
  std::string compute_hash() const;
};

struct ZooEntry {
  std::string name;         // e.g. "fmnist-cnn"
  std::string description;  // one line
  Shape default_input;      // e.g. {1, 28, 28}
  int64_t default_classes;
};

// The model zoo: fmnist-cnn, lenet5, mlp, vgg11, resnet18, mobilenetv2.
const std::vector<ZooEntry>& zoo();

// Builds the spec of a zoo model for an input shape ({} = the model's default)
// and class count (0 = default). Throws ConfigError naming the model when the
// name is unknown or the shape is unsupported (e.g. too small for its pooling).
ModelSpec make_model(const std::string& name, Shape input_shape = {}, int64_t num_classes = 0);

// "3x96x96" -> {3, 96, 96}, "784" -> {784}; throws ConfigError naming `where`
// unless the text is positive integers joined by 'x'.
Shape parse_shape(const std::string& text, const std::string& where);
// {3, 96, 96} -> "3x96x96"; {} -> "scalar".
std::string format_shape(const Shape& s);

}  // namespace dec::model
