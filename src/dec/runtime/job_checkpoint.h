// A distributed job's checkpoints, on one machine's disk: the checkpoint
// keeper's (docs/checkpoint.md, "Without a shared filesystem"). No rank needs
// to see another's files.
//
// Save (collective, every rank): each block's owner (the lowest rank of its
// replica group) encodes its shards in memory, announces them with their
// sha256 on the store (protocol.h: "ckpt/<step>/<rank>") and sends them to
// the keeper over the job's own connections (a process group of its own, so
// its tags never meet the executor's). The keeper writes its own shards and
// every received one into step-N.partial, checks each against the sha256 its
// owner announced, and commits (manifest last, rename, `latest`) only when
// every shard is there: a rank killed during a save leaves the keeper's last
// complete checkpoint as it was.
//
// Resume (collective): the keeper opens and verifies the checkpoint, each
// rank asks for the blocks it holds under this job's plan (any plan), and the
// keeper sends them; every rank restores from memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "dec/comm/group.h"
#include "dec/comm/rendezvous.h"
#include "dec/comm/store.h"
#include "dec/model/model.h"
#include "dec/runtime/checkpoint.h"
#include "dec/runtime/job.h"
#include "dec/runtime/worker.h"

namespace dec::runtime {

// Where training stands: iterations done, and the sampler's position.
struct TrainingPosition {
  int64_t step = 0;
  int64_t epoch = 0;           // epoch of the next batch
  int64_t batch_in_epoch = 0;  // batches of `epoch` already consumed
};

// The keeper's rank. `keeper`: "" = the lowest rank whose tier is "cloud"
// (--tier), else rank 0; a rank number; or a node name (its lowest rank).
// ConfigError when no rank matches.
int checkpoint_keeper(const std::string& keeper, const comm::Rendezvous& rv);

class JobCheckpoints {
 public:
  // Collective over the job when the job checkpoints or resumes (every rank,
  // the same options): builds the group the shards travel on. `store`: the
  // job's versioned store (protocol.h).
  JobCheckpoints(const JobOptions& options, const comm::Rendezvous& rv, comm::Store store,
                 const comm::Group& world);

  int keeper() const { return keeper_; }

  // Collective: saves the checkpoint of `at`. Returns the committed step
  // directory (on the keeper's disk) on the keeper and on rank 0, "" on the
  // others. Failure: IoError from the keeper's filesystem; Mismatch when a
  // shard does not match the sha256 its owner announced; PeerLost / Timeout
  // when a rank is lost or late (nothing is committed then).
  std::string save(const Worker& worker, const model::ModelSpec& spec, const std::string& plan_hash,
                   const TrainingPosition& at);

  // Collective: restores every block `worker` holds from the keeper's
  // `options.resume` (other ranks' value is not read) and returns the position
  // to continue from. Mismatch on every rank when the checkpoint's model,
  // global batch or seed differs from the job's.
  TrainingPosition resume(Worker& worker, const model::ModelSpec& spec);

 private:
  void receive_shards(CheckpointWriter& writer, int64_t step,
                      std::map<std::string, std::string>& files);

  const JobOptions& o_;
  const comm::Rendezvous& rv_;
  comm::Store store_;
  int keeper_ = 0;
  std::optional<comm::Group> group_;  // absent in a one-rank job
};

}  // namespace dec::runtime
