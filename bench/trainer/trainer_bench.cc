// DEC's single-node trainer against a plain hand-written LibTorch loop on the
// same model (W1, the Fashion-MNIST CNN), batch and data, in one process.
// Runs are interleaved (DEC, plain, DEC, plain, ...) so machine noise hits
// both; prints median seconds per step of each and the ratio DEC / plain.
// The plain loop is PyTorch's defaults written in C++; DEC runs this model
// with channels-last weights (model.h) and FusedAdam (optim/fused_adam.h), so
// a ratio below 1 is those two, and above it DEC's own overhead.
//
//   build/bench/trainer_bench [--steps 150] [--rounds 5] [--threads 2] [--batch 64]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "../bench_args.h"
#include "dec/core/stats.h"
#include "dec/data/dataset.h"

namespace {

// The W1 CNN written out by hand, as a PyTorch user would.
struct NetImpl : torch::nn::Module {
  torch::nn::Conv2d conv1{torch::nn::Conv2dOptions(1, 32, 3).padding(1)};
  torch::nn::Conv2d conv2{torch::nn::Conv2dOptions(32, 64, 3).padding(1)};
  torch::nn::Linear fc1{64 * 7 * 7, 128};
  torch::nn::Linear fc2{128, 10};
  NetImpl() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(conv1(x)), 2);
    x = torch::max_pool2d(torch::relu(conv2(x)), 2);
    x = torch::relu(fc1(x.flatten(1)));
    return fc2(x);
  }
};
TORCH_MODULE(Net);

double plain_loop(const dec::data::Dataset& train, int64_t steps, int64_t batch) {
  torch::manual_seed(0);
  Net net;
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  torch::Tensor order = torch::randperm(train.size(), torch::kLong);
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) {
    torch::Tensor idx = order.slice(0, s * batch, (s + 1) * batch);
    torch::Tensor x = train.images.index_select(0, idx);
    torch::Tensor y = train.labels.index_select(0, idx);
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    (void)loss.item<double>();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
}

}  // namespace

int main(int argc, char** argv) {
  const dec::bench::StepBenchArgs args = dec::bench::parse_step_bench_args(argc, argv);
  const int64_t steps = args.steps, batch = args.batch;
  torch::set_num_threads(args.threads);
  dec::data::Dataset train = dec::data::load_fashion_mnist(dec::data::Split::kTrain);
  std::vector<double> dec_s, plain_s;
  for (int64_t r = 0; r < args.rounds; ++r) {
    dec_s.push_back(dec::bench::trainer_step_seconds(steps, batch));
    plain_s.push_back(plain_loop(train, steps, batch));
    std::printf("round %lld: dec %.2f ms/step, plain %.2f ms/step\n", static_cast<long long>(r + 1),
                1e3 * dec_s.back(), 1e3 * plain_s.back());
  }
  const double d = dec::median(dec_s), p = dec::median(plain_s);
  dec::bench::print_step_bench_setup(args);
  std::printf("median seconds/step: dec %.5f  plain LibTorch %.5f  ratio dec/plain %.3f (goal <= 1.03)\n",
              d, p, d / p);
  return 0;
}
