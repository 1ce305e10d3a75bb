// Each zoo model's training step (forward, loss, backward; no optimizer) with
// its 4-D weights contiguous and channels-last, at its default input on one
// thread. Interleaved rounds; prints the median milliseconds per step of each
// layout, the ratio channels-last / contiguous, and the layout the zoo chose
// (model/zoo.cc: the faster one here; docs/measurements.md has the figures).
//
//   build/bench/layout_bench [--models fmnist-cnn,lenet5,...] [--steps 10] [--rounds 3] [--threads 1]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "dec/core/stats.h"
#include "dec/model/model.h"

namespace {

using dec::model::ModelSpec;
using dec::model::WeightLayout;

// Seconds per step of `steps` training steps on `batch` random samples.
double step_seconds(const ModelSpec& spec, int64_t batch, int steps) {
  torch::nn::Sequential net = spec.build_all(0);
  std::vector<int64_t> dims = {batch};
  dims.insert(dims.end(), spec.input_shape().begin(), spec.input_shape().end());
  const torch::Tensor x = torch::randn(dims);
  const torch::Tensor y = torch::randint(spec.num_classes(), {batch}, torch::kLong);
  auto step = [&] {
    for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
  };
  step();  // warm-up: first-touch allocations
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) step();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = "fmnist-cnn,lenet5,mobilenetv2,vgg11,resnet18";
  int steps = 10, rounds = 3, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--models")) models = argv[i + 1];
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  }
  torch::set_num_threads(threads);
  std::printf("%-12s %6s %16s %16s %8s  zoo\n", "model", "batch", "contiguous ms", "channels-last ms",
              "ratio");
  std::istringstream names(models);
  for (std::string name; std::getline(names, name, ',');) {
    const ModelSpec spec = dec::model::make_model(name);
    const int64_t batch = name == "lenet5" ? 64 : 32;
    const ModelSpec contiguous = spec.with_weight_layout(WeightLayout::kContiguous);
    const ModelSpec channels_last = spec.with_weight_layout(WeightLayout::kChannelsLast);
    std::vector<double> c, l;
    for (int r = 0; r < rounds; ++r) {
      c.push_back(step_seconds(contiguous, batch, steps));
      l.push_back(step_seconds(channels_last, batch, steps));
    }
    std::printf("%-12s %6lld %16.2f %16.2f %8.3f  %s\n", name.c_str(), static_cast<long long>(batch),
                1e3 * dec::median(c), 1e3 * dec::median(l), dec::median(l) / dec::median(c),
                spec.weight_layout() == WeightLayout::kChannelsLast ? "channels-last" : "contiguous");
  }
  return 0;
}
