// What a pause costs the compute after it, on this machine: why an emulated
// node paces its tasks by their profile's cost (runtime/task_costs.h) and not
// by the CPU time they spend in the job.
//
// A node of speed s sleeps (1 / s - 1) times each task's compute, so at speed
// 0.01 it pauses for about 0.3 s between fmnist-cnn tasks. This times one
// forward (with the loss) and one backward of a micro-batch after pauses of
// increasing length, in thread CPU time, and prints each median against the
// back-to-back one and against the same task measured as the profiler measures
// (profile/stage_cost.h).
//
//   build/bench/pause_cost [--model fmnist-cnn] [--micro-batch 16] [--repeats 21]
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "dec/core/stats.h"
#include "dec/core/malloc_tuning.h"
#include "dec/model/model.h"
#include "dec/profile/compute_pacer.h"
#include "dec/profile/stage_cost.h"

int main(int argc, char** argv) {
  dec::retain_freed_memory();  // as in dec's processes: tasks cost what they cost there
  CLI::App app{"CPU time of a task after a pause"};
  std::string model = "fmnist-cnn";
  int64_t rows = 16;
  int repeats = 21;
  app.add_option("--model", model, "Zoo model")->capture_default_str();
  app.add_option("--micro-batch", rows, "Samples per task")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed tasks per pause (median)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(1);

  const dec::model::ModelSpec spec = dec::model::make_model(model);
  const size_t L = spec.num_blocks();
  const dec::profile::StageShape whole{0, L, rows, true, false};
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  const dec::profile::StageCost cost = dec::profile::measure_stage_cost(spec, whole, 0, gen);

  torch::nn::Sequential net = spec.build_all(0);
  net->train();
  std::vector<int64_t> shape{rows};
  for (int64_t d : spec.input_shape()) shape.push_back(d);
  const torch::Tensor x = torch::randn(shape);
  const torch::Tensor y = torch::randint(spec.num_classes(), {rows}, torch::kLong);
  auto pause = [](double s) {
    if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
  };

  std::printf("%s, micro-batch %lld, thread CPU ms (median of %d)\n", model.c_str(),
              static_cast<long long>(rows), repeats);
  std::printf("  measured as profiled: forward %.3f, backward %.3f\n", 1e3 * cost.forward_s,
              1e3 * cost.backward_s);
  std::printf("  %-9s %9s %9s %10s %10s\n", "pause", "forward", "backward", "fwd/b2b", "fwd/cost");
  double b2b_fwd = 0, b2b_bwd = 0;
  for (double p : {0.0, 0.001, 0.01, 0.03, 0.1, 0.3}) {
    std::vector<double> fwd, bwd;
    for (int r = 0; r < repeats + 2; ++r) {
      pause(p);
      double t0 = dec::profile::thread_cpu_seconds();
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          net->forward(x), y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      loss.item<double>();
      const double f = dec::profile::thread_cpu_seconds() - t0;
      pause(p);
      t0 = dec::profile::thread_cpu_seconds();
      loss.backward();
      const double b = dec::profile::thread_cpu_seconds() - t0;
      net->zero_grad(/*set_to_none=*/true);
      if (r < 2) continue;  // warm-up
      fwd.push_back(f);
      bwd.push_back(b);
    }
    const double mf = dec::median(fwd), mb = dec::median(bwd);
    if (p == 0) b2b_fwd = mf, b2b_bwd = mb;
    std::printf("  %6.0f ms %9.3f %9.3f %10.2f %10.2f   (bwd/b2b %.2f, bwd/cost %.2f)\n", 1e3 * p,
                1e3 * mf, 1e3 * mb, mf / b2b_fwd, mf / cost.forward_s, mb / b2b_bwd,
                mb / cost.backward_s);
  }
  return 0;
}
