// The zoo's table, make_model() and the shape syntax of flags ("3x32x32").
#include <charconv>

#include "dec/core/error.h"
#include "dec/model/model.h"
#include "dec/model/zoo_builders.h"

namespace dec::model {
namespace {

// Per-sample elements above this are certainly a typo; the bound also keeps
// every shape and FLOP product far from int64 overflow.
constexpr int64_t kMaxInputElements = int64_t{1} << 36;

using Builder = ModelSpec (*)(const std::string&, const Shape&, int64_t);

// `layout` is whichever runs a training step faster on one core of this
// machine at the default input: channels-last for fmnist-cnn, lenet5 and
// mobilenetv2, contiguous for vgg11 and resnet18, where channels-last gains
// nothing; mlp has no 4-D weights. build/bench/layout_bench compares the two
// (docs/measurements.md, "Weight layout").
struct Family {
  ZooEntry entry;
  Builder build;
  WeightLayout layout;  // of 4-D weights
};

const std::vector<Family>& families() {
  static const std::vector<Family> f = {
      {{"fmnist-cnn",
        "Fashion-MNIST CNN: 2 x (conv3x3, ReLU, max-pool), fc 128, fc",
        {1, 28, 28},
        10},
       build_fmnist_cnn, WeightLayout::kChannelsLast},
      {{"lenet5", "LeNet-5 with ReLU and max-pool (28x28 inputs padded to 32x32)", {1, 28, 28}, 10},
       build_lenet5, WeightLayout::kChannelsLast},
      {{"mlp", "multilayer perceptron: 512-256-128 ReLU hidden layers", {1, 28, 28}, 10},
       build_mlp, WeightLayout::kContiguous},
      {{"vgg11", "VGG-11 with batch norm, 512-wide classifier (CIFAR style)", {3, 32, 32}, 10},
       build_vgg11, WeightLayout::kContiguous},
      {{"resnet18", "ResNet-18: CIFAR stem below 64x64, ImageNet stem from 64x64", {3, 32, 32}, 10},
       build_resnet18, WeightLayout::kContiguous},
      {{"mobilenetv2",
        "MobileNetV2 (width 1.0): stem, 17 inverted residuals, last conv, head",
        {3, 96, 96},
        10},
       build_mobilenetv2, WeightLayout::kChannelsLast},
  };
  return f;
}

std::string zoo_names() {
  std::string s;
  for (const auto& f : families()) s += (s.empty() ? "" : ", ") + f.entry.name;
  return s;
}

}  // namespace

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = [] {
    std::vector<ZooEntry> e;
    for (const auto& f : families()) e.push_back(f.entry);
    return e;
  }();
  return entries;
}

ModelSpec make_model(const std::string& name, Shape input_shape, int64_t num_classes) {
  const Family* family = nullptr;
  for (const auto& f : families()) {
    if (f.entry.name == name) family = &f;
  }
  DEC_CHECK(family != nullptr, ConfigError, str("unknown model '", name, "'"), "model zoo",
            "the zoo has ", zoo_names());
  if (input_shape.empty()) input_shape = family->entry.default_input;
  if (num_classes == 0) num_classes = family->entry.default_classes;
  const std::string where = str("model ", name);
  DEC_CHECK(num_classes > 0, ConfigError, "invalid class count", where, num_classes,
            ": needs at least one class");
  int64_t elements = 1;
  for (int64_t d : input_shape) {
    DEC_CHECK(d > 0, ConfigError, str("invalid input shape ", format_shape(input_shape)), where,
              "dimensions must be positive");
    DEC_CHECK(elements <= kMaxInputElements / d, ConfigError,
              str("invalid input shape ", format_shape(input_shape)), where,
              "more than 2^36 elements per sample");
    elements *= d;
  }
  return family->build(name, input_shape, num_classes).with_weight_layout(family->layout);
}

Shape parse_shape(const std::string& text, const std::string& where) {
  const std::string what = str("invalid shape '", text, "'");
  const std::string why = "expected positive integers joined by 'x', e.g. 3x32x32";
  Shape shape;
  const char* p = text.data();
  const char* end = p + text.size();
  while (true) {
    int64_t d = 0;
    auto [next, ec] = std::from_chars(p, end, d);
    DEC_CHECK(ec == std::errc() && next != p && d > 0, ConfigError, what, where, why);
    shape.push_back(d);
    p = next;
    if (p == end) break;
    DEC_CHECK(*p == 'x' || *p == 'X', ConfigError, what, where, why);
    ++p;
  }
  return shape;
}

std::string format_shape(const Shape& s) {
  if (s.empty()) return "scalar";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

}  // namespace dec::model
