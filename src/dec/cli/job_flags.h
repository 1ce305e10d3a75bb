// Flags shared by `dec launch` and `dec worker` (torchrun's names where they exist).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "dec/runtime/job.h"

namespace dec::cli {

struct JobFlags {
  runtime::JobOptions job;
  // Launch layout (torchrun): global rank = node_rank * nproc_per_node + local_rank.
  int nnodes = 1;
  int node_rank = 0;
  int nproc_per_node = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string init_method;       // tcp://host:port or env://
  std::string node_name;         // comma-separated: one per local process
  std::string tier;
  double join_timeout_s = 60;
  double timeout_s = 60;
  std::string input;
  double lr = 0;
  CLI::Option* lr_option = nullptr;  // absent --lr: the optimizer's usual default
  int threads = 0;
};

void add_job_flags(CLI::App* cmd, JobFlags& f);
// Fills f.job from the flags; `local_rank` picks this process's node name.
void finish_job_options(JobFlags& f, int local_rank);

// Prints rank 0's progress (live line on a terminal), the plan, checkpoints.
class JobPrinter : public runtime::JobObserver {
 public:
  explicit JobPrinter(bool tty) : tty_(tty) {}
  void on_join(const std::string& message) override;
  void on_plan(const runtime::ExecPlan& plan, const std::string& summary) override;
  void on_iteration(const runtime::IterationEvent& e) override;
  void on_epoch(int64_t epoch, double accuracy, double loss) override;
  void on_checkpoint(const std::string& dir, int64_t step) override;

 private:
  void end_line();
  bool tty_;
  bool live_ = false;
  double last_print_ = -1e9;
};

}  // namespace dec::cli
