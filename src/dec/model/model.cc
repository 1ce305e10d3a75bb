// ModelSpec: validation of the chain, seeded instantiation of block ranges, the hash.
#include "dec/model/model.h"

#include <mutex>
#include <set>
#include <sstream>
#include <utility>

#include "dec/core/error.h"
#include "dec/core/sha256.h"
#include "dec/model/seeded_generator.h"

namespace dec::model {

struct ModelSpec::HashCache {
  std::once_flag once;
  std::string value;
};

namespace {

int64_t numel_sum(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) n += t.numel();
  return n;
}

// Shapes in the hashed text: bracketed, so that a 0-d tensor is "[]".
std::string hash_shape(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "," : "") + std::to_string(sizes[i]);
  return s + "]";
}

}  // namespace

ModelSpec::ModelSpec(std::string name, Shape input_shape, int64_t num_classes,
                     std::vector<BlockInfo> blocks, std::vector<BlockFactory> factories)
    : name_(std::move(name)),
      input_shape_(std::move(input_shape)),
      num_classes_(num_classes),
      blocks_(std::move(blocks)),
      factories_(std::move(factories)),
      hash_(std::make_shared<HashCache>()) {
  const std::string what = "invalid model spec";
  const std::string where = str("model ", name_);
  DEC_CHECK(!blocks_.empty(), ConfigError, what, where, "no blocks");
  DEC_CHECK(factories_.size() == blocks_.size(), ConfigError, what, where, blocks_.size(),
            " blocks but ", factories_.size(), " factories");
  DEC_CHECK(num_classes_ > 0, ConfigError, what, where, "num_classes ", num_classes_);
  std::set<std::string> names;
  Shape expected = input_shape_;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const BlockInfo& b = blocks_[i];
    DEC_CHECK(!b.name.empty() && b.name.find('.') == std::string::npos, ConfigError, what, where,
              "block ", i, " has name '", b.name, "': names are non-empty and have no dots");
    DEC_CHECK(names.insert(b.name).second, ConfigError, what, where, "two blocks named '", b.name,
              "'");
    DEC_CHECK(factories_[i] != nullptr, ConfigError, what, where, "block '", b.name,
              "' has no factory");
    DEC_CHECK(b.in_shape == expected, ConfigError, what, where, "block '", b.name, "' takes ",
              format_shape(b.in_shape), " but receives ", format_shape(expected));
    expected = b.out_shape;
  }
  DEC_CHECK(expected == Shape{num_classes_}, ConfigError, what, where, "the last block gives ",
            format_shape(expected), ", not ", num_classes_, " logits");
}

int64_t ModelSpec::total_params() const {
  int64_t n = 0;
  for (const auto& b : blocks_) n += b.params;
  return n;
}

ModelSpec ModelSpec::with_weight_layout(WeightLayout layout) const {
  ModelSpec copy = *this;
  copy.weight_layout_ = layout;
  return copy;
}

double ModelSpec::total_flops() const {
  double f = 0;
  for (const auto& b : blocks_) f += b.flops;
  return f;
}

size_t ModelSpec::block_index(const std::string& name) const {
  for (size_t i = 0; i < blocks_.size(); ++i) {
    if (blocks_[i].name == name) return i;
  }
  std::string known;
  for (const auto& b : blocks_) known += (known.empty() ? "" : ", ") + b.name;
  throw ConfigError(str("unknown block '", name, "'"), str("model ", name_),
                    str("its blocks are ", known));
}

torch::nn::AnyModule ModelSpec::instantiate(size_t i, uint64_t seed) const {
  torch::nn::AnyModule block;
  {
    SeededDefaultGenerator scope(block_seed(seed, i));
    block = factories_[i]();
  }
  const auto& m = *block.ptr();
  DEC_ASSERT(numel_sum(m.parameters()) == blocks_[i].params &&
                 numel_sum(m.buffers()) == blocks_[i].buffers,
             name_, " block ", blocks_[i].name, ": module has ", numel_sum(m.parameters()),
             " parameters and ", numel_sum(m.buffers()), " buffer elements, its BlockInfo says ",
             blocks_[i].params, " and ", blocks_[i].buffers);
  return block;
}

torch::nn::Sequential ModelSpec::build(size_t begin, size_t end, uint64_t seed) const {
  DEC_CHECK(begin <= end && end <= blocks_.size(), ConfigError, "invalid block range",
            str("model ", name_), "[", begin, ", ", end, ") of ", blocks_.size(), " blocks");
  torch::nn::Sequential range;
  for (size_t i = begin; i < end; ++i) range->push_back(blocks_[i].name, instantiate(i, seed));
  if (weight_layout_ == WeightLayout::kChannelsLast) {
    torch::NoGradGuard no_grad;
    for (auto& p : range->parameters()) {
      // Not contiguous(ChannelsLast): with one input channel a weight is both
      // contiguous and channels-last, contiguous() keeps its strides, and the
      // convolution reads them as NCHW (suggest_memory_format()).
      if (p.dim() == 4) p.set_data(at::empty_like(p, at::MemoryFormat::ChannelsLast).copy_(p));
    }
  }
  range->train();
  return range;
}

std::string ModelSpec::compute_hash() const {
  std::ostringstream text;
  text << "dec-model-hash-v1\nmodel " << name_ << "\ninput " << format_shape(input_shape_)
       << "\nclasses " << num_classes_ << "\n";
  for (size_t i = 0; i < blocks_.size(); ++i) {
    // The seed is irrelevant: only names, shapes and dtypes are hashed.
    const torch::nn::AnyModule block = instantiate(i, /*seed=*/0);
    text << "block " << blocks_[i].name << "\n";
    for (const auto& p : block.ptr()->named_parameters()) {
      text << "param " << p.key() << " " << hash_shape(p.value().sizes()) << " "
           << c10::toString(p.value().scalar_type()) << "\n";
    }
    for (const auto& b : block.ptr()->named_buffers()) {
      text << "buffer " << b.key() << " " << hash_shape(b.value().sizes()) << " "
           << c10::toString(b.value().scalar_type()) << "\n";
    }
  }
  return sha256_hex(text.str());
}

std::string ModelSpec::hash() const {
  std::call_once(hash_->once, [this] { hash_->value = compute_hash(); });
  return hash_->value;
}

}  // namespace dec::model
