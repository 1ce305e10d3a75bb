#include "dec/serve/served_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <tuple>
#include <utility>

#include "dec/core/error.h"
#include "dec/core/sha256.h"
#include "dec/data/dataset.h"
#include "dec/model/model.h"
#include "dec/optim/optimizer.h"
#include "dec/runtime/block_state.h"
#include "dec/runtime/checkpoint.h"
#include "dec/serve/quantize.h"
#include "dec/serve/torchscript.h"

namespace dec::serve {

struct ServedModel::Impl {
  std::string name, hash;
  std::optional<model::ModelSpec> spec;  // zoo models
  torch::nn::Sequential net{nullptr};    // zoo models
  // Each block's fp32 forward: a zoo block or a TorchScript child.
  std::vector<std::function<torch::Tensor(torch::Tensor)>> blocks;
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;  // per boundary, num_blocks() + 1 of them
  std::vector<int64_t> elements;
  std::string dir;
  int64_t step = 0;
  std::unique_ptr<QuantizedChain> int8;  // with options.int8
  std::string int8_engine;
  std::vector<double> int8_block_s, fp32_block_s;
};

namespace {

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Loads every block of `impl.net` from the checkpoint after checking that it
// was trained for this very model (name, input shape, classes: the hash).
// Returns the step directory and its step.
std::pair<std::string, int64_t> load_checkpoint(const model::ModelSpec& spec, const std::string& hash,
                                                torch::nn::Sequential& net, const std::string& path) {
  runtime::Checkpoint c = runtime::open_checkpoint(path);
  DEC_CHECK(c.state.model == spec.name(), Mismatch, "cannot serve the checkpoint", c.dir,
            "it holds model '", c.state.model, "', not '", spec.name(), "'");
  DEC_CHECK(c.state.model_hash == hash, Mismatch, "cannot serve the checkpoint", c.dir,
            "it was trained for another input shape or class count than ",
            model::format_shape(spec.input_shape()), " and ", spec.num_classes(),
            " classes (model hash ", c.state.model_hash.substr(0, 12), " vs ", hash.substr(0, 12),
            "); give --input and --classes as in training");
  const optim::OptimizerConfig no_optimizer;
  for (const auto& b : spec.blocks()) {
    runtime::restore_block(net, b.name, runtime::read_block(c, b.name), nullptr, no_optimizer, c.dir);
  }
  return {c.dir, c.state.step};
}

// The zoo model `o.model` with the checkpoint's weights (or fresh ones from o.seed).
void load_zoo(ServedModel::Impl& m, const ServedModelOptions& o) {
  m.spec.emplace(model::make_model(o.model, o.input, o.classes));
  m.name = m.spec->name();
  m.hash = m.spec->hash();
  m.net = m.spec->build_all(o.seed);
  for (const auto& b : *m.net) {
    m.blocks.emplace_back([block = torch::nn::AnyModule(b)](torch::Tensor x) mutable { return block.forward(x); });
  }
  m.shapes.push_back(m.spec->input_shape());
  for (const auto& b : m.spec->blocks()) {
    m.names.push_back(b.name);
    m.shapes.push_back(b.out_shape);
  }
  if (!o.checkpoint.empty()) std::tie(m.dir, m.step) = load_checkpoint(*m.spec, m.hash, m.net, o.checkpoint);
  m.net->eval();
  for (auto& p : m.net->parameters()) p.set_requires_grad(false);
}

// The interpreter's message ends with the error; before it come tracebacks.
std::string last_line(const std::string& text) {
  const size_t end = text.find_last_not_of("\n ");
  if (end == std::string::npos) return text;
  const size_t newline = text.rfind('\n', end);
  const size_t begin = newline == std::string::npos ? 0 : newline + 1;
  return text.substr(begin, end + 1 - begin);
}

// A TorchScript file: its chain, and the boundary shapes from one zero sample.
void load_script(ServedModel::Impl& m, const ServedModelOptions& o) {
  DEC_CHECK(!o.input.empty(), ConfigError, "cannot serve the TorchScript file", o.torchscript,
            "give the sample shape it takes (--input)");
  DEC_CHECK(!o.int8, ConfigError, "cannot serve the TorchScript file", o.torchscript,
            "int8 quantises zoo models only");
  DEC_CHECK(o.checkpoint.empty(), ConfigError, "cannot serve the TorchScript file", o.torchscript,
            "a checkpoint was given too (", o.checkpoint, ")");
  ScriptChain chain = load_torchscript(o.torchscript);
  m.name = o.model;
  m.hash = sha256_file(o.torchscript);
  m.dir = o.torchscript;
  m.names = chain.names;
  for (auto& b : chain.blocks) {
    m.blocks.emplace_back([b](torch::Tensor x) mutable { return b.forward({x}).toTensor(); });
  }
  m.shapes.push_back(o.input);
  std::vector<int64_t> shape{1};
  shape.insert(shape.end(), o.input.begin(), o.input.end());
  torch::InferenceMode inference;
  torch::Tensor x = torch::zeros(shape);
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    try {
      x = m.blocks[i](x);
    } catch (const std::exception& e) {
      DEC_CHECK(false, ConfigError, "cannot serve the TorchScript file", o.torchscript, "block ", m.names[i],
                " fails on a sample of shape ", model::format_shape(o.input), ": ", last_line(e.what()));
    }
    DEC_CHECK(x.dim() >= 1 && x.size(0) == 1, ConfigError, "cannot serve the TorchScript file", o.torchscript,
              "block ", m.names[i], " does not keep the batch dimension");
    m.shapes.emplace_back(x.sizes().begin() + 1, x.sizes().end());
  }
}

// The calibration batches: the first batches x 32 samples of the training split.
std::vector<torch::Tensor> calibration_batches(const ServedModel::Impl& m, const ServedModelOptions& o) {
  DEC_CHECK(o.calibration_batches >= 1, ConfigError, "invalid flag", "--calibration-batches", "must be >= 1, got ",
            o.calibration_batches);
  const int64_t batch = 32, n = o.calibration_batches * batch;
  const data::Dataset d =
      data::load_dataset(o.calibration_data, data::Split::kTrain, m.spec->input_shape(), m.spec->num_classes(),
                         n, /*seed=*/0, o.calibration_dir.empty() ? data::kFashionMnistDir : o.calibration_dir);
  std::vector<torch::Tensor> batches;
  for (int64_t b = 0; b < std::min(n, d.size()); b += batch) batches.push_back(d.rows(b, std::min(b + batch, d.size())).first);
  return batches;
}

double median_seconds(const std::function<void()>& f, int repeats) {
  f();
  f();
  std::vector<double> s;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(s.begin(), s.begin() + s.size() / 2, s.end());
  return s[s.size() / 2];
}

// Quantises the chain and times each block on one sample, int8 and fp32.
void quantize_blocks(ServedModel::Impl& m, const ServedModelOptions& o) {
  QuantizeOptions q;
  q.engine = parse_quant_engine(o.int8_engine, "--int8-engine");
  std::vector<torch::nn::AnyModule> modules(m.net->begin(), m.net->end());
  m.int8 = std::make_unique<QuantizedChain>(QuantizedChain::build(modules, calibration_batches(m, o), q));
  m.int8_engine = quant_engine_name(q.engine);
  torch::InferenceMode inference;
  std::vector<int64_t> shape{1};
  shape.insert(shape.end(), m.shapes[0].begin(), m.shapes[0].end());
  torch::Tensor x = torch::randn(shape);
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    m.int8_block_s.push_back(median_seconds([&] { m.int8->forward(i, i + 1, x); }, o.profile_repeats));
    m.fp32_block_s.push_back(median_seconds([&] { m.blocks[i](x); }, o.profile_repeats));
    x = m.blocks[i](x);
  }
}

}  // namespace

std::unique_ptr<ServedModel> ServedModel::load(const ServedModelOptions& o) {
  auto impl = std::make_unique<Impl>();
  if (o.torchscript.empty()) {
    load_zoo(*impl, o);
  } else {
    load_script(*impl, o);
  }
  for (const auto& s : impl->shapes) impl->elements.push_back(product(s));
  if (o.int8) quantize_blocks(*impl, o);
  return std::unique_ptr<ServedModel>(new ServedModel(std::move(impl)));
}

ServedModel::ServedModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServedModel::~ServedModel() = default;

const std::string& ServedModel::name() const { return impl_->name; }
const std::string& ServedModel::hash() const { return impl_->hash; }
const std::string& ServedModel::checkpoint_dir() const { return impl_->dir; }
int64_t ServedModel::checkpoint_step() const { return impl_->step; }
size_t ServedModel::num_blocks() const { return impl_->names.size(); }
const std::vector<std::string>& ServedModel::block_names() const { return impl_->names; }
const std::vector<int64_t>& ServedModel::boundary_shape(size_t s) const { return impl_->shapes.at(s); }
int64_t ServedModel::boundary_elements(size_t s) const { return impl_->elements.at(s); }
bool ServedModel::int8() const { return impl_->int8 != nullptr; }
bool ServedModel::int8_block(size_t i) const { return impl_->int8 && impl_->int8->int8(i); }
const std::string& ServedModel::int8_engine() const { return impl_->int8_engine; }
const std::vector<double>& ServedModel::int8_block_s() const { return impl_->int8_block_s; }
const std::vector<double>& ServedModel::fp32_block_s() const { return impl_->fp32_block_s; }

std::vector<float> ServedModel::run(const std::vector<float>& in, int64_t rows, size_t begin,
                                    size_t end) const {
  const size_t n = num_blocks();
  DEC_CHECK(begin <= end && end <= n, ConfigError, "invalid block range", name(),
            "[", begin, ", ", end, ") of ", n, " blocks");
  DEC_CHECK(rows >= 1 && static_cast<int64_t>(in.size()) == rows * impl_->elements[begin], ConfigError,
            "invalid input size", name(), "boundary ", begin, " takes ", rows, " x ",
            impl_->elements[begin], " floats, got ", in.size());
  if (begin == end) return in;
  torch::InferenceMode inference;
  std::vector<int64_t> shape{rows};
  shape.insert(shape.end(), impl_->shapes[begin].begin(), impl_->shapes[begin].end());
  // The input is only read: the first block's ops allocate their outputs.
  torch::Tensor x = torch::from_blob(const_cast<float*>(in.data()), shape, torch::kFloat);
  if (impl_->int8) {
    x = impl_->int8->forward(begin, end, x);
  } else {
    for (size_t i = begin; i < end; ++i) x = impl_->blocks[i](x);
  }
  x = x.contiguous();
  DEC_ASSERT(x.numel() == rows * impl_->elements[end], "block ", impl_->names[end - 1], " gave ",
             x.numel(), " elements");
  const float* p = x.data_ptr<float>();
  return std::vector<float>(p, p + x.numel());
}

}  // namespace dec::serve
