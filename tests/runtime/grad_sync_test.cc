// GradSync sums every replica's gradients into each parameter's .grad, in the
// parameter's layout, whatever layout or state the gradient arrived in: with
// two members (exchanged and summed in place) and with three (Gloo's ring on a
// flat buffer). Ranks run as threads over loopback c10d (Gloo).
#include "dec/runtime/grad_sync.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "../comm/comm_testing.h"
#include "dec/comm/group.h"

namespace dec::runtime {
namespace {

// Parameters of two blocks, the same on every rank: a channels-last 4-D weight
// and a bias (block 0), a matrix and a vector (block 1).
std::vector<torch::Tensor> make_params() {
  auto p = [](torch::Tensor t) { return t.set_requires_grad(true); };
  return {p(torch::zeros({4, 3, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast)),
          p(torch::zeros({4})), p(torch::zeros({5, 6})), p(torch::zeros({6}))};
}

// Rank r's gradient of parameter k, in the default layout (no global random
// generator: the ranks are threads).
torch::Tensor grad_of(const torch::Tensor& p, int rank, size_t k) {
  return torch::sin(torch::arange(p.numel(), torch::kFloat) * (rank + 1.5) + static_cast<double>(k))
      .reshape(p.sizes());
}

void expect_summed(int world) {
  auto errors = comm::testing::run_ranks(world, [world](comm::Rendezvous& rv) {
    comm::Group g = comm::Group::world(rv, comm::GroupOptions().with_timeout(std::chrono::seconds(20)));
    std::vector<torch::Tensor> params = make_params();
    const int rank = g.rank();
    for (size_t k = 0; k < params.size(); ++k) {
      if (rank == 0 && k == 3) continue;  // no gradient in the first step
      torch::Tensor grad = grad_of(params[k], rank, k);
      // Rank 1's matrix gradient arrives transposed in memory: not the parameter's layout.
      if (rank == 1 && k == 2) grad = grad.t().contiguous().t();
      // Others in the parameter's layout, as autograd leaves them.
      else grad = grad.contiguous(params[k].suggest_memory_format());
      params[k].mutable_grad() = grad;
    }
    GradSync sync({{&g, {{0, {params[0], params[1]}}, {1, {params[2], params[3]}}}}},
                  /*bucket_bytes=*/64, /*first_bucket_bytes=*/64);
    EXPECT_EQ(sync.num_buckets(), 2u);
    for (int step = 0; step < 2; ++step) {  // readiness resets between iterations
      if (step == 1) {
        for (size_t k = 0; k < params.size(); ++k) params[k].mutable_grad() = grad_of(params[k], rank, k);
      }
      sync.ready(1);
      sync.ready(0);
      sync.wait();
      for (size_t k = 0; k < params.size(); ++k) {
        torch::Tensor want = torch::zeros(params[k].sizes());
        for (int r = 0; r < world; ++r) {
          if (step == 0 && r == 0 && k == 3) continue;
          want += grad_of(params[k], r, k);
        }
        const torch::Tensor& got = params[k].grad();
        EXPECT_LT((got - want).abs().max().item<double>(), 1e-5) << "param " << k << " step " << step;
        EXPECT_EQ(got.strides(), params[k].strides()) << "param " << k << " step " << step;
      }
    }
  });
  comm::testing::expect_ok(errors);
}

TEST(GradSync, TwoMembersSumEveryGradientInItsParametersLayout) { expect_summed(2); }

TEST(GradSync, ThreeMembersSumEveryGradientInItsParametersLayout) { expect_summed(3); }

}  // namespace
}  // namespace dec::runtime
