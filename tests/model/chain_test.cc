// The partition contract of model.h: for any cut points, the chain of block
// ranges holds the whole model's parameters and computes its output, its
// gradients and its batch-norm statistics exactly, in train mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "dec/model/model.h"
#include "test_util.h"

namespace dec::model {
namespace {

using testing::named;
using testing::random_input;
using testing::random_labels;

constexpr uint64_t kSeed = 20240611;

struct Case {
  std::string model;
  Shape input;  // {} = default
  int64_t batch;
  // 0: bitwise equal. Otherwise the relative tolerance of allclose (absolute:
  // a tenth of it). MobileNetV2's channels-last weights need one: inside the
  // whole model autograd hands the last conv's block an NCHW gradient (from
  // adaptive average pooling's backward) while a cut hands it the NHWC one
  // that a leaf's gradient gets, and oneDNN's kernels round differently per
  // layout; the difference then grows down the chain (4e-6 at the input).
  double tolerance = 0;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = info.param.model + "_" +
                  (info.param.input.empty() ? "default" : format_shape(info.param.input));
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

// What one forward/backward pass leaves behind, keyed by full parameter name.
struct Pass {
  torch::Tensor output;
  std::map<std::string, torch::Tensor> params, grads, buffers;
};

void collect(const torch::nn::Module& m, Pass& pass) {
  for (auto& [name, p] : named(m, /*buffers=*/false)) {
    EXPECT_TRUE(pass.params.emplace(name, p.detach()).second) << "duplicate " << name;
    ASSERT_TRUE(p.grad().defined()) << name << " has no gradient";
    pass.grads.emplace(name, p.grad());
  }
  for (auto& [name, b] : named(m, /*buffers=*/true)) pass.buffers.emplace(name, b);
}

// Runs the ranges one after another as DEC's runtime does: each range gets a
// detached copy of its predecessor's output and hands the gradient of its
// input back, so no autograd graph crosses a cut. Empty ranges pass through.
Pass run_chain(const ModelSpec& spec, const std::vector<size_t>& cuts, const torch::Tensor& x,
               const torch::Tensor& y) {
  std::vector<size_t> points{0};
  points.insert(points.end(), cuts.begin(), cuts.end());
  points.push_back(spec.num_blocks());
  struct Stage {
    torch::Tensor in, out;
  };
  std::vector<torch::nn::Sequential> ranges;
  std::vector<Stage> stages;  // the non-empty ranges
  torch::Tensor h = x;
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    ranges.push_back(spec.build(points[i], points[i + 1], kSeed));
    EXPECT_EQ(ranges.back()->size(), points[i + 1] - points[i]);
    if (ranges.back()->is_empty()) continue;
    Stage s;
    s.in = stages.empty() ? h : h.detach().requires_grad_(true);
    s.out = ranges.back()->forward(s.in);
    h = s.out;
    stages.push_back(s);
  }
  torch::nn::functional::cross_entropy(h, y).backward();
  for (size_t i = stages.size(); i-- > 1;) stages[i - 1].out.backward(stages[i].in.grad());
  Pass pass;
  pass.output = h.detach();
  for (const auto& r : ranges) collect(*r, pass);
  return pass;
}

Pass run_whole(const ModelSpec& spec, const torch::Tensor& x, const torch::Tensor& y) {
  torch::nn::Sequential whole = spec.build_all(kSeed);
  torch::Tensor out = whole->forward(x);
  torch::nn::functional::cross_entropy(out, y).backward();
  Pass pass;
  pass.output = out.detach();
  collect(*whole, pass);
  return pass;
}

void expect_same(const std::map<std::string, torch::Tensor>& want,
                 const std::map<std::string, torch::Tensor>& got, const char* what,
                 double tolerance) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (const auto& [name, w] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << what << " " << name << " missing from the chain";
    EXPECT_TRUE(tolerance == 0 ? torch::equal(w, it->second)
                               : torch::allclose(w, it->second, tolerance, tolerance / 10))
        << what << " " << name << " differs by " << (w - it->second).abs().max().item<double>();
  }
}

// Cut sets: each block alone with empty ranges at both ends, and two random
// sets of 1-3 cuts where a repeated cut makes an empty range in the middle.
std::vector<std::vector<size_t>> cut_sets(size_t blocks, uint64_t seed) {
  std::vector<std::vector<size_t>> sets;
  std::vector<size_t> every{0};
  for (size_t i = 1; i < blocks; ++i) every.push_back(i);
  every.push_back(blocks);
  sets.push_back(every);
  std::mt19937_64 rng(seed);
  for (int s = 0; s < 2; ++s) {
    std::uniform_int_distribution<size_t> cut(1, blocks - 1);
    std::vector<size_t> cuts;
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i) cuts.push_back(cut(rng));
    cuts.push_back(cuts.front());  // an empty range
    std::sort(cuts.begin(), cuts.end());
    sets.push_back(cuts);
  }
  return sets;
}

class ChainEquivalence : public ::testing::TestWithParam<Case> {};

TEST_P(ChainEquivalence, RangesComputeWhatTheWholeModelComputes) {
  const Case& c = GetParam();
  const ModelSpec spec = make_model(c.model, c.input);
  const torch::Tensor x = random_input(spec, c.batch, 1);
  const torch::Tensor y = random_labels(spec, c.batch, 1);
  const Pass whole = run_whole(spec, x, y);
  ASSERT_EQ(whole.output.sizes(), (std::vector<int64_t>{c.batch, spec.num_classes()}));
  for (const auto& cuts : cut_sets(spec.num_blocks(), std::hash<std::string>{}(c.model))) {
    SCOPED_TRACE(::testing::PrintToString(cuts));
    const Pass chain = run_chain(spec, cuts, x, y);
    expect_same(whole.params, chain.params, "parameter", 0);
    EXPECT_TRUE(torch::equal(whole.output, chain.output))
        << "outputs differ by " << (whole.output - chain.output).abs().max().item<double>();
    expect_same(whole.grads, chain.grads, "gradient of", c.tolerance);
    expect_same(whole.buffers, chain.buffers, "buffer", 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ChainEquivalence,
                         ::testing::Values(Case{"fmnist-cnn", {}, 4}, Case{"lenet5", {}, 4},
                                           Case{"lenet5", {3, 32, 32}, 4}, Case{"mlp", {}, 4},
                                           Case{"vgg11", {}, 2}, Case{"resnet18", {}, 2},
                                           Case{"resnet18", {3, 96, 96}, 2},
                                           Case{"mobilenetv2", {}, 2, 1e-4},
                                           Case{"mobilenetv2", {3, 32, 32}, 2, 1e-4}),
                         case_name);

}  // namespace
}  // namespace dec::model
