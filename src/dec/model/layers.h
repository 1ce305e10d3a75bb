// The block modules the zoo builds its models from.
//
// Each block is an ordinary, cloneable torch::nn module configured by an options
// struct (fluent setters, documented defaults, as in LibTorch). For each options
// type there are two free functions used by ChainBuilder (chain_builder.h):
//   trace(ShapeTracker&, options)  replays the block's layers analytically
//                                  (shapes, parameters, FLOPs), without tensors;
//   make_block(options)            instantiates the module.
// Keeping both next to the module is what keeps them in agreement; the model
// tests check that they do.
//
// Submodule names are part of the checkpoint format (parameter names such as
// "conv1.conv.weight", "layer1_0.conv2.bn.running_var"): renaming one changes
// every model hash that contains it.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "dec/model/shape_tracker.h"

namespace dec::model {

enum class Activation { kNone, kReLU, kReLU6 };

// How a block initialises its parameters (inside the seeded scope of build()).
enum class Init {
  // LibTorch's reset_parameters(), the same as PyTorch's defaults.
  kDefault,
  // torchvision's rules for VGG, ResNet and MobileNetV2: conv weights
  // kaiming-normal (fan_out, ReLU gain), conv biases 0, linear weights
  // N(0, 0.01), linear biases 0. Batch norm is weight 1, bias 0 either way.
  kTorchvision,
};

// conv -> [batch norm] -> [activation] -> [max pool].
struct ConvBlockOptions {
  ConvBlockOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);  // square kernels only
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(int64_t, groups) = 1;  // = channels for a depthwise conv
  TORCH_ARG(bool, bias) = true;    // set false when batch_norm follows
  TORCH_ARG(bool, batch_norm) = false;
  TORCH_ARG(Activation, activation) = Activation::kReLU;
  TORCH_ARG(int64_t, pool_kernel) = 0;  // 0: no max pool
  TORCH_ARG(int64_t, pool_stride) = 0;  // 0: pool_kernel
  TORCH_ARG(int64_t, pool_padding) = 0;
  TORCH_ARG(Init, init) = Init::kDefault;
};

class ConvBlockImpl : public torch::nn::Cloneable<ConvBlockImpl> {
 public:
  explicit ConvBlockImpl(ConvBlockOptions options);
  void reset() override;
  torch::Tensor forward(torch::Tensor x);

  ConvBlockOptions options;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::MaxPool2d pool{nullptr};
};
TORCH_MODULE(ConvBlock);

// flatten -> linear -> [ReLU]. The flatten makes it usable after a conv block.
struct DenseOptions {
  DenseOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(bool, relu) = true;  // false for the logits layer
  TORCH_ARG(Init, init) = Init::kDefault;
};

class DenseImpl : public torch::nn::Cloneable<DenseImpl> {
 public:
  explicit DenseImpl(DenseOptions options);
  void reset() override;
  torch::Tensor forward(torch::Tensor x);

  DenseOptions options;
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(Dense);

// Global average pool -> linear: the classifier of ResNet and MobileNetV2.
struct HeadOptions {
  HeadOptions(int64_t in_channels, int64_t num_classes)
      : in_channels_(in_channels), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(Init, init) = Init::kDefault;
};

class HeadImpl : public torch::nn::Cloneable<HeadImpl> {
 public:
  explicit HeadImpl(HeadOptions options);
  void reset() override;
  torch::Tensor forward(torch::Tensor x);

  HeadOptions options;
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(Head);

// ResNet's basic block: relu(conv2(conv1(x)) + shortcut(x)), each conv 3x3 with
// batch norm; the shortcut is a 1x1 conv + batch norm ("downsample") when the
// stride or the width changes, the identity otherwise.
struct BasicBlockOptions {
  BasicBlockOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, stride) = 1;
};

class BasicBlockImpl : public torch::nn::Cloneable<BasicBlockImpl> {
 public:
  explicit BasicBlockImpl(BasicBlockOptions options);
  void reset() override;
  torch::Tensor forward(torch::Tensor x);

  BasicBlockOptions options;
  ConvBlock conv1{nullptr}, conv2{nullptr}, downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

// MobileNetV2's inverted residual: 1x1 expand (skipped when expand_ratio is 1)
// -> 3x3 depthwise (stride) -> 1x1 linear projection, each with batch norm and
// ReLU6 but the last; x is added back when the stride is 1 and widths match.
struct InvertedResidualOptions {
  InvertedResidualOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, expand_ratio) = 6;
};

class InvertedResidualImpl : public torch::nn::Cloneable<InvertedResidualImpl> {
 public:
  explicit InvertedResidualImpl(InvertedResidualOptions options);
  void reset() override;
  torch::Tensor forward(torch::Tensor x);

  InvertedResidualOptions options;
  ConvBlock expand{nullptr}, depthwise{nullptr}, project{nullptr};
};
TORCH_MODULE(InvertedResidual);

void trace(ShapeTracker& t, const ConvBlockOptions& o);
void trace(ShapeTracker& t, const DenseOptions& o);
void trace(ShapeTracker& t, const HeadOptions& o);
void trace(ShapeTracker& t, const BasicBlockOptions& o);
void trace(ShapeTracker& t, const InvertedResidualOptions& o);

torch::nn::AnyModule make_block(const ConvBlockOptions& o);
torch::nn::AnyModule make_block(const DenseOptions& o);
torch::nn::AnyModule make_block(const HeadOptions& o);
torch::nn::AnyModule make_block(const BasicBlockOptions& o);
torch::nn::AnyModule make_block(const InvertedResidualOptions& o);

}  // namespace dec::model
