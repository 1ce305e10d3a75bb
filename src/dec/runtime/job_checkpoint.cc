#include "dec/runtime/job_checkpoint.h"

#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "dec/core/error.h"
#include "dec/runtime/checkpoint.h"
#include "dec/runtime/protocol.h"

namespace dec::runtime {

using nlohmann::json;

std::string save_job_checkpoint(const JobOptions& o, const comm::Rendezvous& rv, const comm::Store& store,
                                const Worker& worker, const model::ModelSpec& spec,
                                const std::string& plan_hash, const TrainingPosition& at) {
  CheckpointWriter writer(o.checkpoint_dir, at.step);
  const json files = worker.save_owned_blocks(writer);
  store.set(keys::checkpoint(at.step, rv.rank()), files.dump());
  if (rv.rank() != 0) return "";
  std::map<std::string, std::string> all;
  for (int r = 0; r < rv.world_size(); ++r) {
    const std::string key = keys::checkpoint(at.step, r);
    const auto theirs = read_peer_message(store.get(key, o.timeout), rv.describe(r), key, [](const json& j) {
      return j.get<std::map<std::string, std::string>>();
    });
    all.insert(theirs.begin(), theirs.end());
  }
  std::vector<std::string> blocks;
  for (size_t l = 0; l < spec.num_blocks(); ++l) blocks.push_back(spec.block(l).name);
  CheckpointState cs;
  cs.step = at.step;
  cs.epoch = at.epoch;
  cs.batch_in_epoch = at.batch_in_epoch;
  cs.seed = o.seed;
  cs.global_batch = worker.plan().global_batch;
  cs.model = spec.name();
  cs.model_hash = spec.hash();
  cs.plan_hash = plan_hash;
  cs.optimizer = o.optimizer.to_string();
  return writer.commit(cs, blocks, all, o.keep_last);
}

TrainingPosition resume_job(const JobOptions& o, Worker& worker, const model::ModelSpec& spec) {
  const Checkpoint c = open_checkpoint(o.resume, spec.hash());
  const int64_t batch = worker.plan().global_batch;
  DEC_CHECK(c.state.global_batch == batch, Mismatch, "cannot resume", c.dir, "checkpoint has global batch ",
            c.state.global_batch, ", the plan ", batch);
  DEC_CHECK(c.state.seed == o.seed, Mismatch, "cannot resume", c.dir, "checkpoint has seed ", c.state.seed,
            ", this run ", o.seed);
  worker.restore(c);
  return {c.state.step, c.state.epoch, c.state.batch_in_epoch};
}

}  // namespace dec::runtime
