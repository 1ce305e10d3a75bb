// Distributed execution equals single-node training (docs/runtime.md):
// for several plan shapes, after 5 SGD+momentum iterations every parameter
// equals the single-node reference within 1e-5 and all replicas of a block are
// bit-identical. Ranks run as threads over loopback c10d (Gloo).
#include "dec/runtime/worker.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <mutex>

#include "../comm/comm_testing.h"
#include "dec/comm/group.h"
#include "dec/data/dataset.h"
#include "dec/core/error.h"
#include "dec/data/sampler.h"
#include "dec/runtime/block_state.h"

namespace dec::runtime {
namespace {

constexpr int kIterations = 5;
constexpr uint64_t kSeed = 3;

optim::OptimizerConfig sgd() {
  optim::OptimizerConfig c;
  c.kind = "sgd";
  c.lr = 0.05;
  c.momentum = 0.9;
  return c;
}

data::Dataset dataset() {
  return data::make_synthetic({1, 28, 28}, 10, 256, /*seed=*/11);
}

torch::Tensor batch_indices(int64_t step, int64_t batch) {
  data::EpochSampler sampler(256, kSeed);
  sampler.set_epoch(0);
  return sampler.batch_indices(step, batch);
}

// Single-node training on the same batches: the reference.
std::map<std::string, torch::Tensor> reference(const model::ModelSpec& spec, int64_t batch) {
  torch::nn::Sequential net = spec.build_all(kSeed);
  optim::NamedParams params = named_parameters(net);
  auto opt = optim::make_optimizer(params, sgd());
  data::Dataset data = dataset();
  for (int s = 0; s < kIterations; ++s) {
    auto [x, y] = data.batch(batch_indices(s, batch));
    opt->zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    opt->step();
  }
  std::map<std::string, torch::Tensor> out;
  for (auto& [n, t] : params) out[n] = t.detach().clone();
  return out;
}

using RankParams = std::map<int, std::map<std::string, torch::Tensor>>;

// Emulation, optional: links through `shaper`, rank 0 stretched to `rank0_speed`.
struct Emulated {
  std::shared_ptr<comm::LinkShaper> shaper;
  double rank0_speed = 1;
};

// What a paced rank's tasks cost (TaskCosts): fmnist-cnn's blocks at a few
// microseconds per sample, so that paced tests stay short.
profile::ModelProfile small_profile(const model::ModelSpec& spec) {
  profile::ModelProfile p;
  p.model = "fmnist-cnn";
  p.micro_batch = 8;
  for (size_t l = 0; l < spec.num_blocks(); ++l) {
    profile::BlockProfile b;
    b.name = spec.block(l).name;
    b.fwd_s = 2e-5;
    b.bwd_s = 4e-5;
    b.opt_s = 1e-5;
    p.blocks.push_back(b);
  }
  return p;
}

RankParams run_plan(const ExecPlan& plan, const model::ModelSpec& spec, const Emulated& emu = {}) {
  RankParams result;
  std::mutex mu;
  auto errors = comm::testing::run_ranks(plan.world_size(), [&](comm::Rendezvous& rv) {
    torch::set_num_threads(1);
    comm::Group world = comm::Group::world(
        rv, comm::GroupOptions().with_timeout(std::chrono::seconds(20)).with_shaper(emu.shaper));
    WorkerOptions wo;
    wo.seed = kSeed;
    wo.optimizer = sgd();
    if (rv.rank() == 0) {
      wo.pacer = profile::make_speed_pacer(emu.rank0_speed);
      wo.profile = small_profile(spec);
    }
    Worker worker(plan, spec, world, wo);
    worker.broadcast_parameters();
    data::Dataset data = dataset();
    for (int s = 0; s < kIterations; ++s) {
      worker.step(data, batch_indices(s, plan.global_batch),
                  s + 1 < kIterations ? batch_indices(s + 1, plan.global_batch) : torch::Tensor());
    }
    std::map<std::string, torch::Tensor> mine;
    for (auto& [n, t] : worker.parameters()) mine[n] = t.detach().clone();
    std::lock_guard<std::mutex> lock(mu);
    result[rv.rank()] = std::move(mine);
  });
  comm::testing::expect_ok(errors);
  return result;
}

void expect_equivalent(const ExecPlan& plan, const Emulated& emu = {}) {
  model::ModelSpec spec = model::make_model("fmnist-cnn");
  std::map<std::string, torch::Tensor> ref = reference(spec, plan.global_batch);
  RankParams ranks = run_plan(plan, spec, emu);
  ASSERT_EQ(static_cast<int>(ranks.size()), plan.world_size());
  std::map<std::string, torch::Tensor> first_copy;
  for (const auto& [rank, params] : ranks) {
    for (const auto& [name, t] : params) {
      ASSERT_TRUE(ref.count(name)) << name;
      EXPECT_LT((t - ref[name]).abs().max().item<double>(), 1e-5)
          << name << " on rank " << rank << " differs from single-node training";
      auto [it, inserted] = first_copy.emplace(name, t);
      if (!inserted) {
        EXPECT_TRUE(torch::equal(t, it->second)) << name << ": replicas are not bit-identical";
      }
    }
  }
  EXPECT_EQ(first_copy.size(), ref.size()) << "some parameters are held by no rank";
  // The plan moved the parameters away from their initial values.
  torch::nn::Sequential init = spec.build_all(kSeed);
  for (auto& [n, t] : named_parameters(init)) {
    EXPECT_FALSE(torch::equal(t, ref[n])) << n;
  }
}

Stage stage(int rank, size_t begin, size_t end) { return Stage{rank, begin, end}; }

ExecPlan make_plan(std::vector<std::string> nodes, std::vector<ExecPath> paths) {
  ExecPlan p;
  p.nodes = std::move(nodes);
  p.num_blocks = 4;  // fmnist-cnn: conv1, conv2, fc1, fc2
  p.paths = std::move(paths);
  for (const auto& path : p.paths) p.global_batch += path.samples;
  return p;
}

TEST(WorkerEquivalence, DataParallelOverThreeNodes) {
  expect_equivalent(make_plan({"device", "edge", "cloud"},
                              {{{stage(0, 0, 4)}, 6, 2},
                               {{stage(1, 0, 4)}, 5, 1},
                               {{stage(2, 0, 4)}, 5, 1}}));
}

TEST(WorkerEquivalence, ThreeStagePipeline) {
  expect_equivalent(make_plan({"device", "edge", "cloud"},
                              {{{stage(0, 0, 1), stage(1, 1, 3), stage(2, 3, 4)}, 16, 4}}));
}

TEST(WorkerEquivalence, HierTrainHybrid) {
  // The device keeps some samples whole and runs the first block of others;
  // edge and cloud take the rest; one path routes raw samples through the device.
  expect_equivalent(make_plan({"device", "edge", "cloud"},
                              {{{stage(0, 0, 4)}, 4, 1},
                               {{stage(0, 0, 1), stage(1, 1, 3), stage(2, 3, 4)}, 8, 2},
                               {{stage(0, 0, 0), stage(1, 0, 2), stage(2, 2, 4)}, 4, 2}}));
}

TEST(WorkerEquivalence, HierTrainHybridOnEmulatedLinksAndSpeeds) {
  // Emulation delays messages and stretches compute; it must not change a number.
  auto shaper = std::make_shared<comm::TokenBucketShaper>();
  comm::LinkSpec link;
  link.mbps = 200;
  link.latency_s = 0.002;
  shaper->set_duplex(0, 1, link);
  shaper->set_duplex(1, 2, link);
  shaper->set_route(0, 2, {0, 1, 2});
  shaper->set_route(2, 0, {2, 1, 0});
  expect_equivalent(make_plan({"device", "edge", "cloud"},
                              {{{stage(0, 0, 4)}, 4, 1},
                               {{stage(0, 0, 1), stage(1, 1, 3), stage(2, 3, 4)}, 8, 2},
                               {{stage(0, 0, 0), stage(1, 0, 2), stage(2, 2, 4)}, 4, 2}}),
                    Emulated{shaper, 0.5});
}

TEST(WorkerEquivalence, DataParallelWithOneRankPaced) {
  // Two buckets (fc2+fc1, then the convs). The paced rank marks its blocks
  // ready after the whole backward, lowest first; the full-speed rank's hooks
  // mark them during backward, highest first. The all-reduces must still
  // pair up bucket by bucket.
  expect_equivalent(make_plan({"edge", "cloud"}, {{{stage(0, 0, 4)}, 6, 2}, {{stage(1, 0, 4)}, 10, 2}}),
                    Emulated{nullptr, 0.5});
}

TEST(WorkerEquivalence, TwoDevicesTwoPaths) {
  expect_equivalent(make_plan({"device0", "device1", "edge", "cloud"},
                              {{{stage(0, 0, 1), stage(2, 1, 2), stage(3, 2, 4)}, 8, 2},
                               {{stage(1, 0, 0), stage(2, 0, 2), stage(3, 2, 4)}, 8, 2}}));
}

TEST(WorkerEquivalence, RelayAtTheEnd) {
  // The cloud only computes the loss on logits the edge produced.
  expect_equivalent(make_plan({"device", "edge", "cloud"},
                              {{{stage(0, 0, 2), stage(1, 2, 4), stage(2, 4, 4)}, 12, 3},
                               {{stage(2, 0, 4)}, 4, 1}}));
}

TEST(WorkerEquivalence, RelayInTheMiddleOfAPathBesideTheRelaysOwnPath) {
  // The edge forwards the device's activations to the cloud and their
  // gradients back (each right after the cloud's backward), and trains its own samples.
  expect_equivalent(make_plan({"device", "edge", "cloud"},
                              {{{stage(1, 0, 4)}, 4, 2},
                               {{stage(0, 0, 1), stage(1, 1, 1), stage(2, 1, 4)}, 12, 3}}));
}

TEST(WorkerSchedule, ALastStageRunsEachBackwardRightAfterItsForward) {
  // Upstream stages run all their forwards, then their backwards (GPipe); the
  // last stage has the loss, so each micro-batch's gradient starts back at once.
  // A path that nobody waits on (p0 on the device, p2 on the cloud) runs the
  // same pairs after the forwards others wait for (the device's p1) and before
  // what waits for others (the cloud's p1, the device's backwards).
  const ExecPlan plan = make_plan({"device", "cloud"}, {{{stage(0, 0, 4)}, 4, 2},
                                                        {{stage(0, 0, 2), stage(1, 2, 4)}, 8, 2},
                                                        {{stage(1, 0, 4)}, 4, 2}});
  model::ModelSpec spec = model::make_model("fmnist-cnn");
  std::map<int, std::vector<std::string>> order;
  std::mutex mu;
  auto errors = comm::testing::run_ranks(2, [&](comm::Rendezvous& rv) {
    torch::set_num_threads(1);
    comm::Group world =
        comm::Group::world(rv, comm::GroupOptions().with_timeout(std::chrono::seconds(20)));
    WorkerOptions wo;
    wo.seed = kSeed;
    wo.optimizer = sgd();
    Worker worker(plan, spec, world, wo);
    data::Dataset data = dataset();
    const IterationStats st = worker.step(data, batch_indices(0, 16), torch::Tensor());
    std::vector<std::string> labels;
    for (const Span& s : st.trace) {
      if (s.kind == "compute") labels.push_back(s.label);
    }
    std::lock_guard<std::mutex> lock(mu);
    order[rv.rank()] = labels;
  });
  comm::testing::expect_ok(errors);
  using V = std::vector<std::string>;
  EXPECT_EQ(order[0], (V{"fwd p1 mb0", "fwd p1 mb1", "fwd p0 mb0", "bwd p0 mb0", "fwd p0 mb1",
                         "bwd p0 mb1", "bwd p1 mb0", "bwd p1 mb1", "optimizer step"}));
  EXPECT_EQ(order[1], (V{"fwd p2 mb0", "bwd p2 mb0", "fwd p2 mb1", "bwd p2 mb1", "fwd p1 mb0",
                         "bwd p1 mb0", "fwd p1 mb1", "bwd p1 mb1", "optimizer step"}));
}

TEST(ExecPlan, ValidationNamesThePath) {
  ExecPlan p = make_plan({"a", "b"}, {{{stage(0, 0, 1), stage(1, 2, 4)}, 8, 1}});
  try {
    validate(p, "plan.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where_part(), "plan.json: paths[0].stages[1]");
  }
  p = make_plan({"a", "b"}, {{{stage(0, 0, 4)}, 8, 9}});
  EXPECT_THROW(validate(p, "x"), ConfigError);
  p = make_plan({"a", "b"}, {{{stage(0, 0, 2), stage(0, 2, 4)}, 8, 1}});
  EXPECT_THROW(validate(p, "x"), ConfigError);
}

TEST(ExecPlan, ReplicaGroupsAndMicroBatches) {
  ExecPlan p = make_plan({"d", "e", "c"},
                         {{{stage(0, 0, 4)}, 4, 1},
                          {{stage(0, 0, 1), stage(1, 1, 3), stage(2, 3, 4)}, 8, 3}});
  auto groups = replica_groups(p);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].ranks, (std::vector<int>{0, 2}));  // fc2 on device and cloud
  EXPECT_EQ(groups[0].blocks, (std::vector<size_t>{3}));
  EXPECT_EQ(groups[1].ranks, (std::vector<int>{0, 1}));  // conv2, fc1 on device and edge
  EXPECT_EQ(groups[2].ranks, (std::vector<int>{0}));     // conv1 only on the device
  EXPECT_EQ(micro_batch_sizes(p.paths[1]), (std::vector<int64_t>{3, 3, 2}));
  EXPECT_EQ(path_offsets(p), (std::vector<int64_t>{0, 4}));
  EXPECT_NE(plan_hash(p), plan_hash(make_plan({"d", "e", "c"}, {{{stage(0, 0, 4)}, 12, 1}})));
}

}  // namespace
}  // namespace dec::runtime
