#include "dec/serve/quantize.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "dec/core/error.h"
#include "dec/model/layers.h"

namespace dec::serve {

namespace {

using ConvPacked = c10::intrusive_ptr<ConvPackedParamsBase<2>>;
using LinearPacked = c10::intrusive_ptr<LinearPackedParamsBase>;

at::QEngine to_aten(QuantEngine e) { return e == QuantEngine::kQnnpack ? at::QEngine::QNNPACK : at::QEngine::ONEDNN; }

// An affine quint8 quantisation of one tensor.
struct QParams {
  double scale = 1;
  int64_t zero_point = 0;
};

// Min-max observer: the range of every tensor it saw.
struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();

  void observe(const torch::Tensor& t) {
    const auto [mn, mx] = torch::aminmax(t);
    lo = std::min(lo, mn.item<double>());
    hi = std::max(hi, mx.item<double>());
  }
  // quint8 over [min(lo, 0), max(hi, 0)], as torch.ao's MinMaxObserver: 0 is
  // exactly representable (padding and ReLU's zeros stay exact).
  QParams qparams() const {
    DEC_ASSERT(lo <= hi, "a quantisation point saw no calibration data");
    const double a = std::min(lo, 0.0), b = std::max(hi, 0.0);
    QParams q;
    q.scale = std::max((b - a) / 255.0, 1e-8);
    q.zero_point = std::clamp<int64_t>(static_cast<int64_t>(std::lround(-a / q.scale)), 0, 255);
    return q;
  }
};

torch::Tensor quantize(const torch::Tensor& x, const QParams& q) {
  return torch::quantize_per_tensor(x, q.scale, q.zero_point, torch::kQUInt8);
}

// qint8, symmetric (zero point 0), per output channel (dimension 0) or per tensor.
torch::Tensor quantize_weight(const torch::Tensor& w, bool per_channel) {
  if (!per_channel) {
    const double scale = std::max(w.abs().max().item<double>() / 127.0, 1e-8);
    return torch::quantize_per_tensor(w, scale, 0, torch::kQInt8);
  }
  const torch::Tensor max_abs = std::get<0>(w.reshape({w.size(0), -1}).abs().max(1));
  const torch::Tensor scales = (max_abs / 127.0).clamp_min(1e-8).to(torch::kDouble);
  return torch::quantize_per_channel(w, scales, torch::zeros({w.size(0)}, torch::kLong), 0, torch::kQInt8);
}

ConvPacked conv_prepack(const torch::Tensor& qweight, const torch::Tensor& bias, int64_t stride, int64_t padding,
                        int64_t groups) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("quantized::conv2d_prepack", "")
                       .typed<ConvPacked(torch::Tensor, c10::optional<torch::Tensor>, torch::List<int64_t>,
                                         torch::List<int64_t>, torch::List<int64_t>, int64_t)>();
  return op.call(qweight, bias, torch::List<int64_t>({stride, stride}), torch::List<int64_t>({padding, padding}),
                 torch::List<int64_t>({1, 1}), groups);
}

LinearPacked linear_prepack(const torch::Tensor& qweight, const torch::Tensor& bias) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("quantized::linear_prepack", "")
                       .typed<LinearPacked(torch::Tensor, c10::optional<torch::Tensor>)>();
  return op.call(qweight, bias);
}

// quantized::add or quantized::add_relu: a + b requantised to `out`.
torch::Tensor quantized_add(const torch::Tensor& a, const torch::Tensor& b, const QParams& out, bool relu) {
  static auto add = c10::Dispatcher::singleton()
                        .findSchemaOrThrow("quantized::add", "")
                        .typed<torch::Tensor(torch::Tensor, torch::Tensor, double, int64_t)>();
  static auto add_relu = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("quantized::add_relu", "")
                             .typed<torch::Tensor(torch::Tensor, torch::Tensor, double, int64_t)>();
  return (relu ? add_relu : add).call(a, b, out.scale, out.zero_point);
}

torch::Tensor activate(torch::Tensor x, model::Activation a) {
  if (a == model::Activation::kReLU) return torch::relu(x);
  if (a == model::Activation::kReLU6) return torch::hardtanh(x, 0, 6);
  return x;
}

// One convolution with its BatchNorm folded in and its activation: the fp32
// reference that calibration observes, then the packed int8 kernel.
struct QConv {
  torch::Tensor weight, bias;  // fp32, BatchNorm folded
  int64_t stride = 1, padding = 0, groups = 1;
  model::Activation activation = model::Activation::kNone;
  Range out;
  QParams out_q;
  ConvPacked packed;

  explicit QConv(const model::ConvBlockImpl& b)
      : stride(b.options.stride()), padding(b.options.padding()), groups(b.options.groups()),
        activation(b.options.activation()) {
    weight = b.conv->weight.detach().contiguous().clone();
    bias = b.conv->bias.defined() ? b.conv->bias.detach().clone() : torch::zeros({weight.size(0)});
    if (b.bn) {
      const auto& bn = *b.bn;
      const torch::Tensor inv = bn.weight.detach() / torch::sqrt(bn.running_var + bn.options.eps());
      weight = weight * inv.reshape({-1, 1, 1, 1});
      bias = (bias - bn.running_mean) * inv + bn.bias.detach();
    }
  }
  torch::Tensor observe(const torch::Tensor& x) {
    torch::Tensor y = activate(torch::conv2d(x, weight, bias, stride, padding, 1, groups), activation);
    out.observe(y);
    return y;
  }
  void pack(bool per_channel) {
    out_q = out.qparams();
    packed = conv_prepack(quantize_weight(weight, per_channel), bias, stride, padding, groups);
  }
  torch::Tensor run(const torch::Tensor& qx) const {
    return activation == model::Activation::kNone ? packed->apply(qx, out_q.scale, out_q.zero_point)
                                                  : packed->apply_relu(qx, out_q.scale, out_q.zero_point);
  }
};

// One linear (optionally ReLU) on an fp32 input quantised on entry.
struct QLinear {
  torch::Tensor weight, bias;
  bool relu = false;
  Range out;
  QParams out_q;
  LinearPacked packed;

  QLinear(const torch::nn::Linear& l, bool relu_) : relu(relu_) {
    weight = l->weight.detach().contiguous().clone();
    bias = l->bias.defined() ? l->bias.detach().clone() : torch::zeros({weight.size(0)});
  }
  torch::Tensor observe(const torch::Tensor& x) {
    torch::Tensor y = torch::linear(x, weight, bias);
    if (relu) y = torch::relu(y);
    out.observe(y);
    return y;
  }
  void pack(bool per_channel) {
    out_q = out.qparams();
    packed = linear_prepack(quantize_weight(weight, per_channel), bias);
  }
  torch::Tensor run(const torch::Tensor& qx) const {
    return relu ? packed->apply_relu(qx, out_q.scale, out_q.zero_point)
                : packed->apply(qx, out_q.scale, out_q.zero_point);
  }
};

torch::Tensor max_pool(const torch::Tensor& x, const model::ConvBlockOptions& o) {
  const int64_t k = o.pool_kernel(), s = o.pool_stride() > 0 ? o.pool_stride() : k, p = o.pool_padding();
  // The quantised kernel wants every argument 2-D.
  return torch::max_pool2d(x, {k, k}, {s, s}, {p, p}, {1, 1}, false);
}

}  // namespace

// A block: calibrate() observes its input and runs the fp32 reference,
// pack() fixes the quantisation, forward_q() runs int8 from the quantised
// input (in_q) to the quantised output (out_q()).
struct QuantizedChain::Block {
  Range in;
  QParams in_q;
  virtual ~Block() = default;
  virtual bool int8() const { return true; }
  virtual torch::Tensor calibrate(const torch::Tensor& x) = 0;
  virtual void pack(bool per_channel) = 0;
  virtual QParams out_q() const { return {}; }
  virtual torch::Tensor forward_q(const torch::Tensor& qx) const = 0;
  // fp32 blocks only.
  virtual torch::Tensor forward(const torch::Tensor& x) const { return forward_q(quantize(x, in_q)).dequantize(); }
};

namespace {

using Block = QuantizedChain::Block;

// Any block this file does not quantise: the fp32 module itself.
struct Fp32Block : Block {
  mutable torch::nn::AnyModule module;  // AnyModule::forward is not const
  explicit Fp32Block(torch::nn::AnyModule m) : module(std::move(m)) {}
  bool int8() const override { return false; }
  torch::Tensor calibrate(const torch::Tensor& x) override { return module.forward(x); }
  void pack(bool) override {}
  torch::Tensor forward_q(const torch::Tensor& qx) const override { return qx; }  // never called
  torch::Tensor forward(const torch::Tensor& x) const override { return module.forward(x); }
};

struct ConvBlockQ : Block {
  model::ConvBlockOptions options;
  QConv conv;
  explicit ConvBlockQ(const model::ConvBlockImpl& b) : options(b.options), conv(b) {}
  torch::Tensor calibrate(const torch::Tensor& x) override {
    in.observe(x);
    torch::Tensor y = conv.observe(x);
    return options.pool_kernel() > 0 ? max_pool(y, options) : y;
  }
  void pack(bool per_channel) override {
    in_q = in.qparams();
    conv.pack(per_channel);
  }
  QParams out_q() const override { return conv.out_q; }  // max-pooling keeps the quantisation
  torch::Tensor forward_q(const torch::Tensor& qx) const override {
    torch::Tensor y = conv.run(qx);
    return options.pool_kernel() > 0 ? max_pool(y, options) : y;
  }
};

struct DenseQ : Block {
  QLinear linear;
  explicit DenseQ(const model::DenseImpl& d) : linear(d.linear, d.options.relu()) {}
  torch::Tensor calibrate(const torch::Tensor& x) override {
    in.observe(x);
    return linear.observe(x.flatten(1));
  }
  void pack(bool per_channel) override {
    in_q = in.qparams();
    linear.pack(per_channel);
  }
  QParams out_q() const override { return linear.out_q; }
  torch::Tensor forward_q(const torch::Tensor& qx) const override {
    return linear.run(qx.flatten(1).contiguous());
  }
};

// Global average pool in fp32, then the linear int8.
struct HeadQ : Block {
  Range mean;
  QParams mean_q;
  QLinear linear;
  explicit HeadQ(const model::HeadImpl& h) : linear(h.linear, false) {}
  torch::Tensor calibrate(const torch::Tensor& x) override {
    in.observe(x);
    const torch::Tensor m = x.mean({2, 3});
    mean.observe(m);
    return linear.observe(m);
  }
  void pack(bool per_channel) override {
    in_q = in.qparams();
    mean_q = mean.qparams();
    linear.pack(per_channel);
  }
  QParams out_q() const override { return linear.out_q; }
  torch::Tensor forward_q(const torch::Tensor& qx) const override {
    return linear.run(quantize(qx.dequantize().mean({2, 3}), mean_q));
  }
};

// relu(conv2(conv1(x)) + shortcut(x)).
struct BasicBlockQ : Block {
  Range sum;
  QParams sum_q;
  QConv conv1, conv2;
  std::optional<QConv> downsample;
  explicit BasicBlockQ(const model::BasicBlockImpl& b) : conv1(*b.conv1), conv2(*b.conv2) {
    if (b.downsample) downsample.emplace(*b.downsample);
  }
  torch::Tensor calibrate(const torch::Tensor& x) override {
    in.observe(x);
    torch::Tensor y = torch::relu(conv2.observe(conv1.observe(x)) + (downsample ? downsample->observe(x) : x));
    sum.observe(y);
    return y;
  }
  void pack(bool per_channel) override {
    in_q = in.qparams();
    sum_q = sum.qparams();
    conv1.pack(per_channel);
    conv2.pack(per_channel);
    if (downsample) downsample->pack(per_channel);
  }
  QParams out_q() const override { return sum_q; }
  torch::Tensor forward_q(const torch::Tensor& qx) const override {
    const torch::Tensor main = conv2.run(conv1.run(qx));
    return quantized_add(main, downsample ? downsample->run(qx) : qx, sum_q, true);
  }
};

// project(depthwise(expand(x))) [+ x].
struct InvertedResidualQ : Block {
  Range sum;
  QParams sum_q;
  std::optional<QConv> expand;
  QConv depthwise, project;
  bool residual;
  explicit InvertedResidualQ(const model::InvertedResidualImpl& b)
      : depthwise(*b.depthwise), project(*b.project),
        residual(b.options.stride() == 1 && b.options.in_channels() == b.options.out_channels()) {
    if (b.expand) expand.emplace(*b.expand);
  }
  torch::Tensor calibrate(const torch::Tensor& x) override {
    in.observe(x);
    torch::Tensor y = project.observe(depthwise.observe(expand ? expand->observe(x) : x));
    if (!residual) return y;
    y = y + x;
    sum.observe(y);
    return y;
  }
  void pack(bool per_channel) override {
    in_q = in.qparams();
    if (residual) sum_q = sum.qparams();
    if (expand) expand->pack(per_channel);
    depthwise.pack(per_channel);
    project.pack(per_channel);
  }
  QParams out_q() const override { return residual ? sum_q : project.out_q; }
  torch::Tensor forward_q(const torch::Tensor& qx) const override {
    torch::Tensor y = project.run(depthwise.run(expand ? expand->run(qx) : qx));
    return residual ? quantized_add(y, qx, sum_q, false) : y;
  }
};

std::shared_ptr<Block> make_quantized(const torch::nn::AnyModule& m) {
  const auto p = m.ptr();
  if (const auto* c = dynamic_cast<const model::ConvBlockImpl*>(p.get())) return std::make_shared<ConvBlockQ>(*c);
  if (const auto* d = dynamic_cast<const model::DenseImpl*>(p.get())) return std::make_shared<DenseQ>(*d);
  if (const auto* h = dynamic_cast<const model::HeadImpl*>(p.get())) return std::make_shared<HeadQ>(*h);
  if (const auto* b = dynamic_cast<const model::BasicBlockImpl*>(p.get())) return std::make_shared<BasicBlockQ>(*b);
  if (const auto* r = dynamic_cast<const model::InvertedResidualImpl*>(p.get())) {
    return std::make_shared<InvertedResidualQ>(*r);
  }
  return std::make_shared<Fp32Block>(m);
}

}  // namespace

const char* quant_engine_name(QuantEngine engine) {
  return engine == QuantEngine::kQnnpack ? "qnnpack" : "onednn";
}

QuantEngine parse_quant_engine(const std::string& name, const std::string& where) {
  if (name == "onednn") return QuantEngine::kOneDnn;
  if (name == "qnnpack") return QuantEngine::kQnnpack;
  DEC_CHECK(false, ConfigError, "unknown int8 engine", where, "expected onednn or qnnpack, got '", name, "'");
  return QuantEngine::kOneDnn;
}

QuantizedChain QuantizedChain::build(const std::vector<torch::nn::AnyModule>& modules,
                                     const std::vector<torch::Tensor>& calibration, const QuantizeOptions& options) {
  DEC_CHECK(!calibration.empty(), ConfigError, "cannot quantise", "int8", "no calibration batches");
  const auto& engines = at::globalContext().supportedQEngines();
  DEC_CHECK(std::find(engines.begin(), engines.end(), to_aten(options.engine)) != engines.end(), ConfigError,
            "cannot quantise", "int8", "this LibTorch lacks the ", quant_engine_name(options.engine), " engine");
  at::globalContext().setQEngine(to_aten(options.engine));
  torch::InferenceMode inference;
  std::vector<std::shared_ptr<Block>> blocks;
  for (const auto& m : modules) blocks.push_back(make_quantized(m));
  for (torch::Tensor x : calibration) {
    for (auto& b : blocks) x = b->calibrate(x);
  }
  QuantizedChain chain;
  chain.engine_ = options.engine;
  for (size_t i = 0; i < blocks.size(); ++i) {
    blocks[i]->pack(options.per_channel);
    // The boundary between two int8 blocks has one quantisation, the earlier
    // block's output's: forward() then need not dequantise and requantise
    // there, and a chain split at the boundary gives what the whole does.
    if (i > 0 && blocks[i]->int8() && blocks[i - 1]->int8()) blocks[i]->in_q = blocks[i - 1]->out_q();
  }
  for (auto& b : blocks) chain.blocks_.push_back(std::move(b));
  return chain;
}

bool QuantizedChain::int8(size_t i) const { return blocks_.at(i)->int8(); }

torch::Tensor QuantizedChain::forward(size_t begin, size_t end, torch::Tensor x) const {
  DEC_ASSERT(begin <= end && end <= blocks_.size(), "block range [", begin, ", ", end, ") of ", blocks_.size());
  torch::InferenceMode inference;
  torch::Tensor q;  // defined while the activation is quantised
  for (size_t i = begin; i < end; ++i) {
    const Block& b = *blocks_[i];
    if (!b.int8()) {
      if (q.defined()) x = std::exchange(q, torch::Tensor()).dequantize();
      x = b.forward(x);
      continue;
    }
    q = b.forward_q(q.defined() ? q : quantize(x, b.in_q));
  }
  return q.defined() ? q.dequantize() : x;
}

}  // namespace dec::serve
