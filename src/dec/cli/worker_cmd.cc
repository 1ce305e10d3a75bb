// `dec worker`: one process of a distributed job. `dec launch` starts these;
// they can also run under any launcher that sets torchrun's environment
// (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, NODE_RANK).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "dec/cli/cli_util.h"
#include "dec/cli/job_flags.h"
#include "dec/cli/progress.h"
#include "dec/comm/init_method.h"
#include "dec/core/file.h"

namespace dec::cli {

void add_worker_command(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  auto* cmd = app.add_subcommand(
      "worker",
      "Run one process of a distributed job (started by `dec launch`, or any launcher that sets\n"
      "MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK).\n"
      "Example: dec worker --node-name device --plan plan.json   "
      "(with RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 set)");
  add_job_flags(cmd, *f);
  cmd->callback([f] {
    comm::InitOptions init = comm::init_from_env();
    if (!f->init_method.empty() && f->init_method != "env://") {
      init = comm::parse_init_method(f->init_method, init);
    }
    finish_job_options(*f, f->nproc_per_node > 1 ? init.local_rank : 0);
    f->job.rendezvous.init = init;
    // Under `dec launch --master-port 0` rank 0 binds a free port itself and
    // tells the launcher which (kMasterPortFileEnv), which then starts the others.
    if (const char* port_file = std::getenv(kMasterPortFileEnv); port_file && init.rank == 0) {
      f->job.rendezvous.on_listening = [path = std::string(port_file)](uint16_t port) {
        write_file_atomic(path, std::to_string(port));
      };
    }
    set_threads(f->training.threads);
    JobProgress progress(stderr_is_tty());
    runtime::JobResult r = runtime::run_job(f->job, &progress);
    if (r.rank == 0) {
      std::printf("trained %lld iterations; final loss %.4f; mean iteration %.3f s (predicted %.3f s)",
                  static_cast<long long>(r.steps), r.final_loss, r.mean_iteration_s,
                  r.predicted_iteration_s);
      if (r.test_accuracy >= 0) std::printf("; test accuracy %.2f%%", 100 * r.test_accuracy);
      std::printf("\n");
      if (!r.last_checkpoint.empty()) std::printf("checkpoint: %s\n", r.last_checkpoint.c_str());
    }
  });
}

}  // namespace dec::cli
