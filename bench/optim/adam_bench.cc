// FusedAdam against LibTorch's Adam on a zoo model's parameters (as the
// runtime builds them: channels-last weights where the zoo says so), with
// fixed random gradients. Interleaved rounds; prints the median milliseconds
// per step of each and the ratio fused / LibTorch.
//
//   build/bench/adam_bench [--model fmnist-cnn] [--steps 200] [--rounds 5] [--threads 1]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dec/model/model.h"
#include "dec/optim/fused_adam.h"

namespace {

std::vector<torch::Tensor> parameters_with_grads(const dec::model::ModelSpec& spec) {
  torch::manual_seed(0);
  std::vector<torch::Tensor> params = spec.build_all(0)->parameters();
  for (auto& p : params) p.mutable_grad() = torch::randn_like(p) * 1e-2;
  return params;
}

template <typename Opt>
double ms_per_step(const dec::model::ModelSpec& spec, int64_t steps) {
  std::vector<torch::Tensor> params = parameters_with_grads(spec);
  Opt opt(params, torch::optim::AdamOptions(1e-3));
  opt.step();  // allocates the moments
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) opt.step();
  return 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "fmnist-cnn";
  int64_t steps = 200, rounds = 5;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  }
  torch::set_num_threads(threads);
  const dec::model::ModelSpec spec = dec::model::make_model(model);
  std::vector<double> libtorch, fused;
  for (int64_t r = 0; r < rounds; ++r) {
    libtorch.push_back(ms_per_step<torch::optim::Adam>(spec, steps));
    fused.push_back(ms_per_step<dec::optim::FusedAdam>(spec, steps));
    std::printf("round %lld: LibTorch Adam %.3f ms/step, FusedAdam %.3f ms/step\n",
                static_cast<long long>(r + 1), libtorch.back(), fused.back());
  }
  const double a = median(libtorch), f = median(fused);
  std::printf("%s, %lld parameters, %d thread(s), %lld steps x %lld rounds\n", model.c_str(),
              static_cast<long long>(spec.total_params()), threads, static_cast<long long>(steps),
              static_cast<long long>(rounds));
  std::printf("median ms/step: LibTorch Adam %.3f  FusedAdam %.3f  ratio fused/LibTorch %.3f\n", a, f,
              f / a);
  return 0;
}
