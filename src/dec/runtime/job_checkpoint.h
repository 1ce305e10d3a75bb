// A distributed job's checkpoints (protocol.h: "ckpt/<step>/<rank>"): every
// rank writes the blocks it owns into the shared checkpoint directory, rank 0
// gathers the lists of files and their hashes and commits the manifest
// (checkpoint.h). Resuming reads the position back and checks that it fits
// the job.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "dec/comm/rendezvous.h"
#include "dec/comm/store.h"
#include "dec/model/model.h"
#include "dec/runtime/job.h"
#include "dec/runtime/worker.h"

namespace dec::runtime {

// Where training stands: iterations done, and the sampler's position.
struct TrainingPosition {
  int64_t step = 0;
  int64_t epoch = 0;           // epoch of the next batch
  int64_t batch_in_epoch = 0;  // batches of `epoch` already consumed
};

// Collective: saves the checkpoint of `at`. Returns the committed step
// directory on rank 0, "" on the others. Failure: IoError from the
// filesystem, Timeout when a rank does not report its files in time.
std::string save_job_checkpoint(const JobOptions& options, const comm::Rendezvous& rv,
                                const comm::Store& store, const Worker& worker,
                                const model::ModelSpec& spec, const std::string& plan_hash,
                                const TrainingPosition& at);

// Restores every block `worker` holds from `options.resume` and returns the
// position to continue from. Mismatch when the checkpoint's model, global
// batch or seed differs from the job's.
TrainingPosition resume_job(const JobOptions& options, Worker& worker, const model::ModelSpec& spec);

}  // namespace dec::runtime
