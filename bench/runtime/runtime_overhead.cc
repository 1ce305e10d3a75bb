// Per-iteration overhead of the distributed runtime: a 1-node plan (one
// process, the whole model, world size 1) against the single-node trainer on
// the same model (W1), batch, optimizer and data, in one process. Runs are
// interleaved so machine noise hits both; prints medians and the ratio.
//
//   build/bench/runtime_overhead [--steps 150] [--rounds 5] [--threads 2] [--batch 64]
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "../bench_args.h"
#include "dec/core/stats.h"
#include "dec/planner/plan.h"
#include "dec/runtime/job.h"

int main(int argc, char** argv) {
  const dec::bench::StepBenchArgs args = dec::bench::parse_step_bench_args(argc, argv);
  const int64_t steps = args.steps, batch = args.batch;
  torch::set_num_threads(args.threads);

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
  for (int64_t r = 0; r < args.rounds; ++r) {
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

    trainer_s.push_back(dec::bench::trainer_step_seconds(steps, batch));
    std::printf("round %lld: runtime %.2f ms/iteration, trainer %.2f ms/step\n",
                static_cast<long long>(r + 1), 1e3 * job_s.back(), 1e3 * trainer_s.back());
  }
  std::remove(plan_path.c_str());
  const double j = dec::median(job_s), t = dec::median(trainer_s);
  dec::bench::print_step_bench_setup(args);
  std::printf("median seconds/iteration: runtime (1-node plan) %.5f  trainer %.5f  ratio %.3f\n", j,
              t, j / t);
  return 0;
}
