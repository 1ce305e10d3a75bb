// The emulated compute speed (docs/runtime.md, emulation): a stretched compute
// takes its emulated time.
#include "dec/profile/compute_pacer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>

#include "dec/core/error.h"
#include "dec/model/model.h"

namespace dec::profile {
namespace {

TEST(ComputePacer, StretchedBlockTakesWithinFivePercentOfItsEmulatedTime) {
  torch::set_num_threads(1);
  model::ModelSpec spec = model::make_model("fmnist-cnn");
  torch::nn::Sequential block = spec.build(0, 1, 0);
  torch::Tensor x = torch::randn({64, 1, 28, 28});
  auto pacer = make_speed_pacer(0.2);
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu_seconds();
    for (int i = 0; i < 5; ++i) block->forward(x).sum().backward();
    const double cpu = thread_cpu_seconds() - cpu0;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    pacer->stretch(wall, cpu);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NEAR(total, cpu / 0.2, 0.05 * cpu / 0.2) << "round " << round << ": cpu " << cpu;
  }
  EXPECT_EQ(make_speed_pacer(1), nullptr);
  EXPECT_THROW(make_speed_pacer(0), ConfigError);
  EXPECT_THROW(make_speed_pacer(1.5), ConfigError);
}

}  // namespace
}  // namespace dec::profile
