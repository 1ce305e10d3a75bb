// How well a block profile predicts what a stage task costs on this machine:
// the planner's compute input (per-sample block times, summed over a stage's
// blocks, times its rows; an emulated node takes what the profile says,
// runtime/task_costs.h) against the task timed whole (profile/stage_cost.h).
//
// For each stage and row count it prints the profile's forward and backward
// seconds, the task's measured ones, and their ratios. A stage that ends
// the model ends in the loss; one that starts after block 0 computes its
// input's gradient, as in the runtime.
//
//   build/bench/stage_costs --profile W2.profile.json --stages 0:3,3:20,0:20 --rows 2,4,8
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "dec/core/malloc_tuning.h"
#include "dec/model/model.h"
#include "dec/profile/profile.h"
#include "dec/profile/stage_cost.h"

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t next = s.find(sep, at);
    out.push_back(s.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) break;
    at = next + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  dec::retain_freed_memory();  // as in dec's processes: tasks cost what they cost there
  CLI::App app{"A block profile's stage costs against the runtime's measured ones"};
  std::string profile_path, stages_arg = "all", rows_arg = "";
  int in_flight = 1;
  app.add_option("--profile", profile_path, "Full-speed block profile (dec profile)")->required();
  app.add_option("--stages", stages_arg, "Stages as begin:end, comma-separated, or 'all' (the whole model)");
  app.add_option("--rows", rows_arg, "Rows per task, comma-separated (default: the profile's micro-batch)");
  app.add_option("--in-flight", in_flight, "Forwards run before their backwards (GPipe: the micro-batches)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(1);

  const dec::profile::ModelProfile p = dec::profile::load_profile(profile_path);
  const dec::model::ModelSpec spec = dec::model::make_model(p.model, p.input_shape, p.num_classes);
  const size_t L = spec.num_blocks();
  std::vector<std::pair<size_t, size_t>> stages;
  if (stages_arg == "all") {
    stages.push_back({0, L});
  } else {
    for (const std::string& s : split(stages_arg, ',')) {
      const auto be = split(s, ':');
      if (be.size() != 2) {
        std::fprintf(stderr, "dec: error: bad stage (--stages): '%s' is not begin:end\n", s.c_str());
        return 2;
      }
      const size_t b = std::stoul(be[0]), e = std::stoul(be[1]);
      if (b >= e || e > L) {
        std::fprintf(stderr, "dec: error: bad stage (--stages): [%zu, %zu) of %zu blocks\n", b, e, L);
        return 2;
      }
      stages.push_back({b, e});
    }
  }
  std::vector<int64_t> rows;
  if (rows_arg.empty()) rows.push_back(p.micro_batch);
  for (const std::string& r : rows_arg.empty() ? std::vector<std::string>{} : split(rows_arg, ','))
    rows.push_back(std::stoll(r));

  std::printf("%s, profile micro-batch %d, thread CPU ms (profile: per sample at its micro-batch x rows)\n",
              p.model.c_str(), p.micro_batch);
  std::printf("%-9s %5s %10s %10s %10s %10s %8s %8s %8s\n", "stage", "rows", "prof fwd", "prof bwd",
              "task fwd", "task bwd", "fwd", "bwd", "both");
  for (auto [b, e] : stages) {
    for (int64_t r : rows) {
      const dec::profile::StageShape shape{b, e, r, e == L, b > 0, in_flight};
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
      const dec::profile::StageCost c = dec::profile::measure_stage_cost(spec, shape, 0, gen);
      double fwd = 0, bwd = 0;
      for (size_t l = b; l < e; ++l) {
        fwd += r * p.blocks[l].fwd_s;
        bwd += r * p.blocks[l].bwd_s;
      }
      std::printf("[%zu,%zu)%*s %5lld %10.3f %10.3f %10.3f %10.3f %8.3f %8.3f %8.3f\n", b, e,
                  static_cast<int>(6 - std::to_string(b).size() - std::to_string(e).size()), "",
                  static_cast<long long>(r), 1e3 * fwd, 1e3 * bwd, 1e3 * c.forward_s, 1e3 * c.backward_s,
                  c.forward_s / fwd, c.backward_s / bwd, (c.forward_s + c.backward_s) / (fwd + bwd));
    }
  }
  return 0;
}
