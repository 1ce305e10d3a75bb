#include "dec/model/layers.h"

#include <utility>

#include "dec/core/error.h"

namespace dec::model {
namespace {

namespace nn = torch::nn;

void init_conv(nn::Conv2d& conv, Init init) {
  if (init != Init::kTorchvision) return;
  nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
  if (conv->bias.defined()) nn::init::zeros_(conv->bias);
}

void init_linear(nn::Linear& linear, Init init) {
  if (init != Init::kTorchvision) return;
  nn::init::normal_(linear->weight, 0, 0.01);
  nn::init::zeros_(linear->bias);
}

torch::Tensor activate(torch::Tensor x, Activation a) {
  switch (a) {
    case Activation::kNone:
      return x;
    case Activation::kReLU:
      return torch::relu(x);
    case Activation::kReLU6:
      return torch::hardtanh(x, 0, 6);  // PyTorch's ReLU6 is exactly this
  }
  DEC_ASSERT(false, "unknown activation ", static_cast<int>(a));
}

// The sub-layers of the composite blocks, shared by their modules and traces.

// conv (no bias: batch norm follows) -> batch norm -> act, "same" padding.
ConvBlockOptions bn_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, Activation act) {
  return ConvBlockOptions(in, out, kernel)
      .stride(stride)
      .padding(kernel / 2)
      .bias(false)
      .batch_norm(true)
      .activation(act)
      .init(Init::kTorchvision);
}

ConvBlockOptions basic_conv1(const BasicBlockOptions& o) {
  return bn_conv(o.in_channels(), o.out_channels(), 3, o.stride(), Activation::kReLU);
}
ConvBlockOptions basic_conv2(const BasicBlockOptions& o) {
  // No activation: ReLU follows the residual sum.
  return bn_conv(o.out_channels(), o.out_channels(), 3, 1, Activation::kNone);
}
bool has_downsample(const BasicBlockOptions& o) {
  return o.stride() != 1 || o.in_channels() != o.out_channels();
}
ConvBlockOptions basic_downsample(const BasicBlockOptions& o) {
  return bn_conv(o.in_channels(), o.out_channels(), 1, o.stride(), Activation::kNone);
}

int64_t hidden_channels(const InvertedResidualOptions& o) {
  return o.in_channels() * o.expand_ratio();
}
ConvBlockOptions ir_expand(const InvertedResidualOptions& o) {
  return bn_conv(o.in_channels(), hidden_channels(o), 1, 1, Activation::kReLU6);
}
ConvBlockOptions ir_depthwise(const InvertedResidualOptions& o) {
  const int64_t h = hidden_channels(o);
  return bn_conv(h, h, 3, o.stride(), Activation::kReLU6).groups(h);
}
ConvBlockOptions ir_project(const InvertedResidualOptions& o) {
  // Linear bottleneck: no activation after the projection.
  return bn_conv(hidden_channels(o), o.out_channels(), 1, 1, Activation::kNone);
}
bool has_residual(const InvertedResidualOptions& o) {
  return o.stride() == 1 && o.in_channels() == o.out_channels();
}

}  // namespace

// --- ConvBlock ---

ConvBlockImpl::ConvBlockImpl(ConvBlockOptions options_) : options(std::move(options_)) { reset(); }

void ConvBlockImpl::reset() {
  const auto& o = options;
  conv = register_module(
      "conv", nn::Conv2d(nn::Conv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                             .stride(o.stride())
                             .padding(o.padding())
                             .groups(o.groups())
                             .bias(o.bias())));
  init_conv(conv, o.init());
  if (o.batch_norm()) bn = register_module("bn", nn::BatchNorm2d(o.out_channels()));
  if (o.pool_kernel() > 0) {
    const int64_t stride = o.pool_stride() > 0 ? o.pool_stride() : o.pool_kernel();
    pool = register_module(
        "pool",
        nn::MaxPool2d(
            nn::MaxPool2dOptions(o.pool_kernel()).stride(stride).padding(o.pool_padding())));
  }
}

torch::Tensor ConvBlockImpl::forward(torch::Tensor x) {
  x = conv(x);
  if (bn) x = bn(x);
  x = activate(x, options.activation());
  if (pool) x = pool(x);
  return x;
}

void trace(ShapeTracker& t, const ConvBlockOptions& o) {
  t.conv2d(o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(), o.padding(), o.groups(),
           o.bias());
  if (o.batch_norm()) t.batch_norm();
  if (o.activation() != Activation::kNone) t.activation();
  if (o.pool_kernel() > 0) {
    t.max_pool(o.pool_kernel(), o.pool_stride() > 0 ? o.pool_stride() : o.pool_kernel(),
               o.pool_padding());
  }
}

nn::AnyModule make_block(const ConvBlockOptions& o) { return nn::AnyModule(ConvBlock(o)); }

// --- Dense ---

DenseImpl::DenseImpl(DenseOptions options_) : options(std::move(options_)) { reset(); }

void DenseImpl::reset() {
  linear = register_module("linear", nn::Linear(options.in_features(), options.out_features()));
  init_linear(linear, options.init());
}

torch::Tensor DenseImpl::forward(torch::Tensor x) {
  x = linear(x.flatten(1));
  return options.relu() ? torch::relu(x) : x;
}

void trace(ShapeTracker& t, const DenseOptions& o) {
  t.flatten();
  t.linear(o.in_features(), o.out_features(), /*bias=*/true);
  if (o.relu()) t.activation();
}

nn::AnyModule make_block(const DenseOptions& o) { return nn::AnyModule(Dense(o)); }

// --- Head ---

HeadImpl::HeadImpl(HeadOptions options_) : options(std::move(options_)) { reset(); }

void HeadImpl::reset() {
  linear = register_module("linear", nn::Linear(options.in_channels(), options.num_classes()));
  init_linear(linear, options.init());
}

torch::Tensor HeadImpl::forward(torch::Tensor x) { return linear(x.mean({2, 3})); }

void trace(ShapeTracker& t, const HeadOptions& o) {
  t.global_avg_pool();
  t.linear(o.in_channels(), o.num_classes(), /*bias=*/true);
}

nn::AnyModule make_block(const HeadOptions& o) { return nn::AnyModule(Head(o)); }

// --- BasicBlock ---

BasicBlockImpl::BasicBlockImpl(BasicBlockOptions options_) : options(std::move(options_)) {
  reset();
}

void BasicBlockImpl::reset() {
  conv1 = register_module("conv1", ConvBlock(basic_conv1(options)));
  conv2 = register_module("conv2", ConvBlock(basic_conv2(options)));
  if (has_downsample(options)) {
    downsample = register_module("downsample", ConvBlock(basic_downsample(options)));
  }
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  torch::Tensor y = conv2(conv1(x));
  return torch::relu(y + (downsample ? downsample(x) : x));
}

void trace(ShapeTracker& t, const BasicBlockOptions& o) {
  const Shape in = t.shape();
  trace(t, basic_conv1(o));
  trace(t, basic_conv2(o));
  if (has_downsample(o)) {
    const Shape main = t.shape();
    t.set_shape(in);
    trace(t, basic_downsample(o));
    DEC_ASSERT(t.shape() == main, "shortcut ", format_shape(t.shape()), " vs main ",
               format_shape(main));
  }
  t.residual_add();
  t.activation();
}

nn::AnyModule make_block(const BasicBlockOptions& o) { return nn::AnyModule(BasicBlock(o)); }

// --- InvertedResidual ---

InvertedResidualImpl::InvertedResidualImpl(InvertedResidualOptions options_)
    : options(std::move(options_)) {
  reset();
}

void InvertedResidualImpl::reset() {
  if (options.expand_ratio() != 1)
    expand = register_module("expand", ConvBlock(ir_expand(options)));
  depthwise = register_module("depthwise", ConvBlock(ir_depthwise(options)));
  project = register_module("project", ConvBlock(ir_project(options)));
}

torch::Tensor InvertedResidualImpl::forward(torch::Tensor x) {
  torch::Tensor y = expand ? expand(x) : x;
  y = project(depthwise(y));
  return has_residual(options) ? y + x : y;
}

void trace(ShapeTracker& t, const InvertedResidualOptions& o) {
  if (o.expand_ratio() != 1) trace(t, ir_expand(o));
  trace(t, ir_depthwise(o));
  trace(t, ir_project(o));
  if (has_residual(o)) t.residual_add();
}

nn::AnyModule make_block(const InvertedResidualOptions& o) {
  return nn::AnyModule(InvertedResidual(o));
}

}  // namespace dec::model
