#include "dec/cli/job_flags.h"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "dec/cli/progress.h"
#include "dec/core/error.h"
#include "dec/model/model.h"

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
  cmd->add_option("--model", o.model, "Zoo model")->capture_default_str();
  cmd->add_option("--dataset", o.dataset, "fashion-mnist or synthetic")->capture_default_str();
  cmd->add_option("--data-dir", o.data_dir, "Fashion-MNIST directory");
  cmd->add_option("--input", f.input, "Sample shape: synthetic data, or Fashion-MNIST resized to it, e.g. 3x96x96");
  cmd->add_option("--classes", o.num_classes, "Classes of synthetic data");
  cmd->add_option("--synthetic-size", o.synthetic_size, "Samples of synthetic data")
      ->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Epochs")->capture_default_str();
  cmd->add_option("--steps", o.max_steps, "Stop after this many iterations");
  cmd->add_option("--optimizer", o.optimizer.kind, "sgd (momentum) or adam")->capture_default_str();
  f.lr_option = cmd->add_option("--lr", f.lr, "Learning rate (default: sgd 0.01, adam 0.001)");
  cmd->add_option("--momentum", o.optimizer.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of initialisation and data order")->capture_default_str();
  cmd->add_option("--threads", f.threads, "Torch threads per process");
  cmd->add_option("--checkpoint-dir", o.checkpoint_dir, "Checkpoints (shared by the processes)");
  cmd->add_option("--checkpoint-every", o.checkpoint_every, "Checkpoint every N iterations");
  cmd->add_option("--keep-last", o.keep_last, "Checkpoints to keep (0: all)")->capture_default_str();
  cmd->add_option("--resume", o.resume, "Continue from a checkpoint (any plan)");
  cmd->add_option("--metrics", o.metrics_path, "JSON-lines metrics (rank 0)");
  cmd->add_flag("--no-eval{false}", o.evaluate, "Skip test-set evaluation");
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
  if (!f.input.empty()) o.input_shape = model::parse_shape(f.input, "--input");
  const bool lr_given = f.lr_option != nullptr && f.lr_option->count() > 0;
  o.optimizer.lr = lr_given ? f.lr : (o.optimizer.kind == "adam" ? 1e-3 : 1e-2);
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
    // Speed 1 is one core of this machine, and a task's cost is its thread's CPU time (task_costs.h).
    DEC_CHECK(f.threads <= 1, ConfigError, "invalid flag", "--threads",
              "--emulate runs one Torch thread per process (speed 1 = one core), got ", f.threads);
    f.threads = 1;
    DEC_CHECK(!o.rendezvous.node_name.empty(), ConfigError, "invalid flag", "--node-name",
              "--emulate needs each process's node name in the cluster spec");
  }
  o.rendezvous.tier = f.tier;
}

void JobPrinter::end_line() {
  if (live_) std::fputc('\n', stderr);
  live_ = false;
}

void JobPrinter::on_join(const std::string& message) {
  end_line();
  std::fprintf(stderr, "%s\n", message.c_str());
}

void JobPrinter::on_plan(const runtime::ExecPlan& plan, const std::string& summary) {
  end_line();
  std::fprintf(stderr, "plan (hash %s):\n%s", runtime::plan_hash(plan).substr(0, 12).c_str(),
               runtime::describe(plan).c_str());
  (void)summary;
}

void JobPrinter::on_iteration(const runtime::IterationEvent& e) {
  const double now = std::chrono::duration<double>(
                         std::chrono::steady_clock::now().time_since_epoch()).count();
  const bool final_step = e.step == e.total_steps;
  if (!final_step && now - last_print_ < (tty_ ? 0.1 : 10)) return;
  last_print_ = now;
  char line[200];
  std::snprintf(line, sizeof line,
                "step %lld/%lld  epoch %lld  loss %.4f  %.0f samples/s  iteration %.3f s "
                "(predicted %.3f s)  ETA %s",
                static_cast<long long>(e.step), static_cast<long long>(e.total_steps),
                static_cast<long long>(e.epoch + 1), e.loss, e.samples_per_s, e.measured_s,
                e.predicted_s, format_duration(e.eta_s).c_str());
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line);
    live_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line);
  }
  std::fflush(stderr);
}

void JobPrinter::on_epoch(int64_t epoch, double accuracy, double loss) {
  end_line();
  std::fprintf(stderr, "epoch %lld: test accuracy %.2f%%, test loss %.4f\n",
               static_cast<long long>(epoch + 1), 100 * accuracy, loss);
}

void JobPrinter::on_checkpoint(const std::string& dir, int64_t step) {
  end_line();
  std::fprintf(stderr, "checkpoint at step %lld: %s\n", static_cast<long long>(step), dir.c_str());
}

}  // namespace dec::cli
