// Per-iteration overhead of the distributed runtime: a 1-node plan (one
// process, the whole model, world size 1) against the single-node trainer on
// the same model (W1), batch, optimizer and data, in one process. Runs are
// interleaved so machine noise hits both; prints medians and the ratio.
//
//   build/bench/runtime_overhead [--steps 150] [--rounds 5] [--threads 2]
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dec/core/stats.h"
#include "dec/planner/plan.h"
#include "dec/runtime/job.h"
#include "dec/runtime/trainer.h"

int main(int argc, char** argv) {
  int64_t steps = 150, rounds = 5, batch = 64;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  }
  torch::set_num_threads(threads);

  dec::planner::Plan plan;
  plan.model = "fmnist-cnn";
  plan.blocks = {"conv1", "conv2", "fc1", "fc2"};
  plan.batch = batch;
  plan.micro_batches = 1;
  dec::planner::PlanPath path;
  path.source = "solo";
  path.nodes = {"solo"};
  path.ranges = {{0, 4}};
  path.samples = batch;
  path.micro_batches = 1;
  plan.paths = {path};
  for (const auto& b : plan.blocks) plan.replicas.push_back({b, {"solo"}});
  const std::string plan_path = "/tmp/dec_overhead_plan_" + std::to_string(::getpid()) + ".json";
  dec::planner::save_plan(plan_path, plan);

  std::vector<double> job_s, trainer_s;
  for (int64_t r = 0; r < rounds; ++r) {
    dec::runtime::JobOptions jo;
    jo.rendezvous.init.master_port = 0;
    jo.rendezvous.node_name = "solo";
    jo.plan_path = plan_path;
    jo.max_steps = steps;
    jo.optimizer.kind = "adam";
    jo.optimizer.lr = 1e-3;
    jo.evaluate = false;
    dec::runtime::JobResult j = dec::runtime::run_job(jo, nullptr);
    job_s.push_back(j.mean_iteration_s);

    dec::runtime::TrainOptions to;
    to.max_steps = steps;
    to.batch_size = batch;
    to.optimizer.kind = "adam";
    to.optimizer.lr = 1e-3;
    to.evaluate = false;
    dec::runtime::TrainResult t = dec::runtime::train(to, nullptr);
    trainer_s.push_back(t.train_seconds / t.steps);
    std::printf("round %lld: runtime %.2f ms/iteration, trainer %.2f ms/step\n",
                static_cast<long long>(r + 1), 1e3 * job_s.back(), 1e3 * trainer_s.back());
  }
  std::remove(plan_path.c_str());
  const double j = dec::median(job_s), t = dec::median(trainer_s);
  std::printf("W1 fmnist-cnn, batch %lld, Adam, %d threads, %lld steps x %lld rounds\n",
              static_cast<long long>(batch), threads, static_cast<long long>(steps),
              static_cast<long long>(rounds));
  std::printf("median seconds/iteration: runtime (1-node plan) %.5f  trainer %.5f  ratio %.3f\n", j,
              t, j / t);
  return 0;
}
