// Flags shared by `dec launch` and `dec worker` (torchrun's names where they exist).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "dec/cli/training_flags.h"
#include "dec/runtime/job.h"

namespace dec::cli {

struct JobFlags {
  runtime::JobOptions job;
  TrainingFlags training;
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
};

// Set by `dec launch --master-port 0` for its rank 0 only: the file where that
// worker writes the port its store listens on, once it listens.
inline constexpr const char* kMasterPortFileEnv = "DEC_MASTER_PORT_FILE";

void add_job_flags(CLI::App* cmd, JobFlags& f);
// Fills f.job from the flags; `local_rank` picks this process's node name.
void finish_job_options(JobFlags& f, int local_rank);

}  // namespace dec::cli
