// The device's forward pass fp32 against int8 (serve/quantize.h), and
// unstructured magnitude pruning of the conv and linear weights at several
// sparsities, each timed fp32 and int8. Weights are the zoo's initial ones
// (timings do not depend on their values, only on zeros for pruning);
// calibration uses Fashion-MNIST's training split (synthetic data for another
// input shape). Interleaved rounds; prints median milliseconds per forward
// pass of `rows` samples and the fp32 / int8 ratio.
//
//   build/bench/quantize_bench [--model fmnist-cnn] [--rows 1,64] [--threads 1] [--repeats 200]
//                              [--rounds 5] [--engine onednn] [--sparsity 0,0.5,0.9]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "dec/core/stats.h"
#include "dec/data/dataset.h"
#include "dec/model/model.h"
#include "dec/serve/quantize.h"

namespace {

std::vector<double> parse_list(const std::string& text) {
  std::vector<double> v;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) v.push_back(std::atof(item.c_str()));
  return v;
}

double seconds_per_pass(const std::function<void()>& f, int repeats) {
  f();
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
}

// Zeroes the smallest-magnitude `sparsity` of every conv and linear weight
// (BatchNorm and biases untouched), each tensor on its own.
void prune(torch::nn::Sequential& net, double sparsity) {
  if (sparsity <= 0) return;
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) {
    if (p.value().dim() < 2) continue;
    torch::Tensor w = p.value();
    const int64_t k = static_cast<int64_t>(sparsity * w.numel());
    if (k < 1) continue;
    const double threshold = std::get<0>(w.abs().flatten().kthvalue(k)).item<double>();
    w.mul_((w.abs() > threshold).to(w.dtype()));
  }
}

std::vector<torch::Tensor> calibration(const dec::model::ModelSpec& spec) {
  const bool fmnist = spec.input_shape() == std::vector<int64_t>{1, 28, 28} && spec.num_classes() == 10;
  const dec::data::Dataset d = dec::data::load_dataset(fmnist ? "fashion-mnist" : "synthetic", dec::data::Split::kTrain,
                                                       spec.input_shape(), spec.num_classes(), 256, 0);
  std::vector<torch::Tensor> batches;
  for (int64_t b = 0; b < 256; b += 32) batches.push_back(d.rows(b, b + 32).first);
  return batches;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "fmnist-cnn", rows_text = "1,64", engine = "onednn", sparsity_text = "0,0.5,0.9";
  int threads = 1, repeats = 200, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--rows")) rows_text = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--engine")) engine = argv[i + 1];
    else if (!std::strcmp(argv[i], "--sparsity")) sparsity_text = argv[i + 1];
  }
  torch::set_num_threads(threads);
  const dec::model::ModelSpec spec = dec::model::make_model(model);
  const std::vector<torch::Tensor> calib = calibration(spec);
  dec::serve::QuantizeOptions q;
  q.engine = dec::serve::parse_quant_engine(engine, "--engine");
  std::printf("%s, %d threads, int8 engine %s, %d passes x %d interleaved rounds, median ms per pass\n",
              model.c_str(), threads, engine.c_str(), repeats, rounds);
  std::printf("%8s %6s %10s %10s %8s\n", "sparsity", "rows", "fp32 ms", "int8 ms", "ratio");
  for (double sparsity : parse_list(sparsity_text)) {
    torch::nn::Sequential net = spec.build_all(0);
    net->eval();
    prune(net, sparsity);
    const std::vector<torch::nn::AnyModule> blocks(net->begin(), net->end());
    const dec::serve::QuantizedChain chain = dec::serve::QuantizedChain::build(blocks, calib, q);
    for (double r : parse_list(rows_text)) {
      std::vector<int64_t> shape{static_cast<int64_t>(r)};
      shape.insert(shape.end(), spec.input_shape().begin(), spec.input_shape().end());
      const torch::Tensor x = torch::randn(shape);
      torch::InferenceMode inference;
      std::vector<double> fp32, int8;
      for (int round = 0; round < rounds; ++round) {
        fp32.push_back(seconds_per_pass([&] { net->forward(x); }, repeats));
        int8.push_back(seconds_per_pass([&] { chain.forward(0, chain.num_blocks(), x); }, repeats));
      }
      std::printf("%8.2f %6lld %10.3f %10.3f %8.2f\n", sparsity, static_cast<long long>(r), 1e3 * dec::median(fp32),
                  1e3 * dec::median(int8), dec::median(fp32) / dec::median(int8));
    }
  }
  return 0;
}
