#include "dec/serve/served_model.h"

#include <torch/torch.h>

#include <tuple>
#include <utility>

#include "dec/core/error.h"
#include "dec/model/model.h"
#include "dec/optim/optimizer.h"
#include "dec/runtime/block_state.h"
#include "dec/runtime/checkpoint.h"

namespace dec::serve {

struct ServedModel::Impl {
  explicit Impl(model::ModelSpec s) : spec(std::move(s)) {}
  model::ModelSpec spec;
  std::string hash;
  torch::nn::Sequential net{nullptr};
  std::vector<torch::nn::AnyModule> blocks;  // net's children, in order
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;  // per boundary, num_blocks() + 1 of them
  std::vector<int64_t> elements;
  std::string dir;
  int64_t step = 0;
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

}  // namespace

std::unique_ptr<ServedModel> ServedModel::load(const ServedModelOptions& o) {
  auto impl = std::make_unique<Impl>(model::make_model(o.model, o.input, o.classes));
  impl->hash = impl->spec.hash();
  impl->net = impl->spec.build_all(o.seed);
  for (const auto& m : *impl->net) impl->blocks.push_back(m);
  impl->shapes.push_back(impl->spec.input_shape());
  for (const auto& b : impl->spec.blocks()) {
    impl->names.push_back(b.name);
    impl->shapes.push_back(b.out_shape);
  }
  for (const auto& s : impl->shapes) impl->elements.push_back(product(s));
  if (!o.checkpoint.empty()) {
    std::tie(impl->dir, impl->step) = load_checkpoint(impl->spec, impl->hash, impl->net, o.checkpoint);
  }
  impl->net->eval();
  for (auto& p : impl->net->parameters()) p.set_requires_grad(false);
  return std::unique_ptr<ServedModel>(new ServedModel(std::move(impl)));
}

ServedModel::ServedModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServedModel::~ServedModel() = default;

const std::string& ServedModel::name() const { return impl_->spec.name(); }
const std::string& ServedModel::hash() const { return impl_->hash; }
const std::string& ServedModel::checkpoint_dir() const { return impl_->dir; }
int64_t ServedModel::checkpoint_step() const { return impl_->step; }
size_t ServedModel::num_blocks() const { return impl_->names.size(); }
const std::vector<std::string>& ServedModel::block_names() const { return impl_->names; }
const std::vector<int64_t>& ServedModel::boundary_shape(size_t s) const { return impl_->shapes.at(s); }
int64_t ServedModel::boundary_elements(size_t s) const { return impl_->elements.at(s); }

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
  for (size_t i = begin; i < end; ++i) x = impl_->blocks[i].forward(x);
  x = x.contiguous();
  DEC_ASSERT(x.numel() == rows * impl_->elements[end], "block ", impl_->names[end - 1], " gave ",
             x.numel(), " elements");
  const float* p = x.data_ptr<float>();
  return std::vector<float>(p, p + x.numel());
}

}  // namespace dec::serve
