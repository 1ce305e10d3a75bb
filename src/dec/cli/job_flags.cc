#include "dec/cli/job_flags.h"

#include <chrono>
#include <sstream>

#include "dec/core/error.h"

namespace dec::cli {

void add_job_flags(CLI::App* cmd, JobFlags& f) {
  auto& o = f.job;
  cmd->add_option("--nnodes", f.nnodes, "Machines in the job")->capture_default_str();
  cmd->add_option("--node-rank", f.node_rank, "Index of this machine")->capture_default_str();
  cmd->add_option("--nproc-per-node", f.nproc_per_node, "Processes on this machine")
      ->capture_default_str();
  cmd->add_option("--master-addr", f.master_addr, "Address of rank 0's machine")
      ->capture_default_str();
  cmd->add_option("--master-port", f.master_port, "Port of rank 0's store (0: pick a free one)")
      ->capture_default_str();
  cmd->add_option("--init-method", f.init_method, "tcp://host:port or env:// (overrides the above)");
  cmd->add_option("--job-id", o.rendezvous.job_id, "Keys the store; jobs must differ")
      ->capture_default_str();
  cmd->add_option("--token", o.rendezvous.token, "Shared secret every process must present");
  cmd->add_option("--node-name", f.node_name,
                  "Plan node this process runs (comma-separated for --nproc-per-node > 1)");
  cmd->add_option("--tier", f.tier, "device, edge or cloud (informational)");
  cmd->add_option("--join-timeout", f.join_timeout_s, "Seconds to wait for every process to join")
      ->capture_default_str();
  cmd->add_option("--timeout", f.timeout_s, "Seconds any later wait may take")->capture_default_str();
  cmd->add_option("--plan", o.plan_path, "Plan from `dec plan` (rank 0 reads it)");
  cmd->add_option("--cluster", o.cluster_path, "Cluster spec: plan automatically from profiles");
  cmd->add_option("--planner-time-limit", o.planner_time_limit_s, "Seconds for the planner")
      ->capture_default_str();
  cmd->add_option("--baseline", o.baseline,
                  "Run this baseline of the plan instead (device-only, edge-only, cloud-only, "
                  "data-parallel, neurosurgeon, pipedream)");
  cmd->add_option("--batch-size", o.global_batch,
                  "Global batch per iteration in auto mode (default: the cluster spec's)");
  add_training_flags(cmd, o, f.training);
  cmd->add_option("--checkpoint-keeper", o.checkpoint_keeper,
                  "Rank or node that receives every shard and writes the checkpoints to its own "
                  "--checkpoint-dir (default: the first --tier cloud rank, else rank 0)");
  cmd->add_option("--eval-samples", o.eval_samples,
                  "Evaluate on the test split's first N samples (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--speed", o.speed, "Emulated compute speed, fraction of one core (1: as is)")
      ->capture_default_str();
  cmd->add_flag("--emulate", o.emulate,
                "Emulate --cluster on this machine: node speeds, link rates and latencies");
  cmd->add_flag("--real-links", o.real_links,
                "With --emulate: the network enforces link rates (scripts/netns-cluster); emulate "
                "latency only");
}

void finish_job_options(JobFlags& f, int local_rank) {
  auto& o = f.job;
  finish_training_flags(f.training, o);
  DEC_CHECK(f.join_timeout_s > 0, ConfigError, "invalid flag", "--join-timeout", "must be positive");
  DEC_CHECK(f.timeout_s > 0, ConfigError, "invalid flag", "--timeout", "must be positive");
  o.rendezvous.join_timeout = std::chrono::milliseconds(static_cast<int64_t>(f.join_timeout_s * 1000));
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(f.timeout_s * 1000));
  std::vector<std::string> names;
  std::stringstream ss(f.node_name);
  for (std::string n; std::getline(ss, n, ',');) names.push_back(n);
  if (names.size() == 1 && f.nproc_per_node > 1) {
    names.clear();
    for (int i = 0; i < f.nproc_per_node; ++i) names.push_back(f.node_name + std::to_string(i));
  }
  DEC_CHECK(names.empty() || static_cast<int>(names.size()) == f.nproc_per_node, ConfigError,
            "invalid flag", "--node-name", "gives ", names.size(), " names for ",
            f.nproc_per_node, " processes");
  o.rendezvous.node_name = names.empty() ? "" : names.at(local_rank);
  DEC_CHECK(!o.real_links || o.emulate, ConfigError, "invalid flag", "--real-links",
            "only applies with --emulate");
  if (o.emulate) {
    DEC_CHECK(!o.cluster_path.empty(), ConfigError, "invalid flag", "--emulate",
              "needs --cluster: the spec gives the nodes' speeds and the links");
    // Speed 1 is one core: the profile times blocks in one thread's CPU time (profile/stage_cost.h).
    DEC_CHECK(f.training.threads <= 1, ConfigError, "invalid flag", "--threads",
              "--emulate runs one Torch thread per process (speed 1 = one core), got ",
              f.training.threads);
    f.training.threads = 1;
    DEC_CHECK(!o.rendezvous.node_name.empty(), ConfigError, "invalid flag", "--node-name",
              "--emulate needs each process's node name in the cluster spec");
  }
  o.rendezvous.tier = f.tier;
}

}  // namespace dec::cli
