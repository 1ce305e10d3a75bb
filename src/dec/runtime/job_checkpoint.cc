#include "dec/runtime/job_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <vector>

#include <nlohmann/json.hpp>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/core/sha256.h"
#include "dec/runtime/checkpoint.h"
#include "dec/runtime/protocol.h"

namespace dec::runtime {

using nlohmann::json;

namespace {

// Every shard travels on this tag of the checkpoint group, in the order its
// sender announced them (by file name).
constexpr int kShardTag = 0;

at::Tensor as_bytes_tensor(const std::string& bytes) {
  at::Tensor t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::string as_string(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

json state_to_json(const Checkpoint& c) {
  return {{"dir", c.dir}, {"step", c.state.step}, {"epoch", c.state.epoch},
          {"batch_in_epoch", c.state.batch_in_epoch}, {"blocks", c.blocks}};
}

}  // namespace

int checkpoint_keeper(const std::string& keeper, const comm::Rendezvous& rv) {
  const auto& members = rv.members();
  if (keeper.empty()) {
    for (const auto& m : members) {
      if (m.tier == "cloud") return m.rank;
    }
    return 0;
  }
  if (keeper.size() < 10 && std::all_of(keeper.begin(), keeper.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    const int r = std::stoi(keeper);
    DEC_CHECK(r < rv.world_size(), ConfigError, "invalid flag", "--checkpoint-keeper", "rank ", r,
              " but the job has ", rv.world_size(), " ranks");
    return r;
  }
  for (const auto& m : members) {
    if (m.node_name == keeper) return m.rank;
  }
  std::string names;
  for (const auto& m : members) names += (names.empty() ? "" : ", ") + m.node_name;
  throw ConfigError("invalid flag", "--checkpoint-keeper", str("no rank runs node '", keeper, "' (nodes: ", names, ")"));
}

JobCheckpoints::JobCheckpoints(const JobOptions& o, const comm::Rendezvous& rv, comm::Store store,
                               const comm::Group& world)
    : o_(o), rv_(rv), store_(std::move(store)), keeper_(checkpoint_keeper(o.checkpoint_keeper, rv)) {
  if (rv.world_size() == 1) return;
  std::vector<int> all(rv.world_size());
  std::iota(all.begin(), all.end(), 0);
  group_.emplace(world.new_subgroup("checkpoint", all));
}

void JobCheckpoints::receive_shards(CheckpointWriter& writer, int64_t step,
                                    std::map<std::string, std::string>& files) {
  for (int r = 0; r < rv_.world_size(); ++r) {
    if (r == keeper_) continue;
    const std::string key = keys::checkpoint(step, r);
    const auto announced = read_peer_message(store_.get(key, o_.timeout), rv_.describe(r), key, [](const json& j) {
      return j.get<std::map<std::string, std::string>>();
    });
    for (const auto& [file, sha] : announced) {
      DEC_CHECK(file.rfind("blocks/", 0) == 0 && file.find("..") == std::string::npos &&
                    file.find('/', 7) == std::string::npos,
                Mismatch, "malformed message from a peer", rv_.describe(r), "store key '", key,
                "': bad shard path '", file, "'");
      const std::string got = writer.write_encoded(file, as_string(group_->recv_tensor(r, kShardTag)));
      DEC_CHECK(got == sha, Mismatch, "checkpoint shard does not match its hash", rv_.describe(r),
                file, ": received sha256 ", got.substr(0, 12), "..., announced ", sha.substr(0, 12), "...");
      files[file] = sha;
    }
  }
}

std::string JobCheckpoints::save(const Worker& worker, const model::ModelSpec& spec,
                                 const std::string& plan_hash, const TrainingPosition& at) {
  const int rank = rv_.rank();
  if (rank != keeper_) {
    CheckpointWriter shards = CheckpointWriter::in_memory(at.step);
    const json files = worker.save_owned_blocks(shards);
    store_.set(keys::checkpoint(at.step, rank), files.dump());
    for (const auto& [file, bytes] : shards.shards()) group_->send_tensor(as_bytes_tensor(bytes), keeper_, kShardTag);
    // Rank 0 reports the checkpoint: it learns the keeper's commit.
    return rank == 0 ? store_.get(keys::checkpoint_saved(at.step), o_.timeout) : "";
  }
  CheckpointWriter writer(o_.checkpoint_dir, at.step);
  std::map<std::string, std::string> files = worker.save_owned_blocks(writer);
  receive_shards(writer, at.step, files);
  std::vector<std::string> blocks;
  for (size_t l = 0; l < spec.num_blocks(); ++l) blocks.push_back(spec.block(l).name);
  CheckpointState cs;
  cs.step = at.step;
  cs.epoch = at.epoch;
  cs.batch_in_epoch = at.batch_in_epoch;
  cs.seed = o_.seed;
  cs.global_batch = worker.plan().global_batch;
  cs.model = spec.name();
  cs.model_hash = spec.hash();
  cs.plan_hash = plan_hash;
  cs.optimizer = o_.optimizer.to_string();
  // commit refuses a block without a shard only on reading; check here so
  // that an owner's missing announcement never publishes a hole.
  for (const auto& b : blocks) {
    DEC_CHECK(files.count(block_file(b)), Mismatch, "incomplete checkpoint", writer.staging_dir(),
              "no rank sent block '", b, "'");
  }
  const std::string dir = writer.commit(cs, blocks, files, o_.keep_last);
  if (keeper_ != 0) store_.set(keys::checkpoint_saved(at.step), dir);
  return dir;
}

TrainingPosition JobCheckpoints::resume(Worker& worker, const model::ModelSpec& spec) {
  const int rank = rv_.rank();
  if (rank != keeper_) {
    std::vector<std::string> held;
    for (size_t l : worker.held_blocks()) held.push_back(worker.block_name(l));
    store_.set(keys::resume_held(rank), json(held).dump());
    const std::string key = keys::resume_state();
    const std::string keeper = rv_.describe(keeper_);
    Checkpoint c = read_peer_message(store_.get(key, o_.timeout), keeper, key, [&](const json& j) {
      if (j.contains("error")) throw Mismatch("cannot resume", keeper, j.at("error").get<std::string>());
      Checkpoint got;
      got.dir = keeper + ":" + j.at("dir").get<std::string>();
      got.state.step = j.at("step").get<int64_t>();
      got.state.epoch = j.at("epoch").get<int64_t>();
      got.state.batch_in_epoch = j.at("batch_in_epoch").get<int64_t>();
      got.blocks = j.at("blocks").get<std::vector<std::string>>();
      return got;
    });
    for (const auto& b : held) c.received[b] = as_string(group_->recv_tensor(keeper_, kShardTag));
    worker.restore(c);
    return {c.state.step, c.state.epoch, c.state.batch_in_epoch};
  }
  Checkpoint c;
  try {
    c = open_checkpoint(o_.resume, spec.hash());
    const int64_t batch = worker.plan().global_batch;
    DEC_CHECK(c.state.global_batch == batch, Mismatch, "cannot resume", c.dir, "checkpoint has global batch ",
              c.state.global_batch, ", the plan ", batch);
    DEC_CHECK(c.state.seed == o_.seed, Mismatch, "cannot resume", c.dir, "checkpoint has seed ", c.state.seed,
              ", this run ", o_.seed);
  } catch (const Error& e) {
    if (group_) store_.set(keys::resume_state(), json{{"error", e.what()}}.dump());
    throw;
  }
  if (group_) store_.set(keys::resume_state(), state_to_json(c).dump());
  worker.restore(c);
  for (int r = 0; r < rv_.world_size(); ++r) {
    if (r == keeper_) continue;
    const std::string key = keys::resume_held(r);
    const auto held = read_peer_message(store_.get(key, o_.timeout), rv_.describe(r), key, [](const json& j) {
      return j.get<std::vector<std::string>>();
    });
    for (const auto& b : held) {
      DEC_CHECK(std::find(c.blocks.begin(), c.blocks.end(), b) != c.blocks.end(), Mismatch, "cannot resume",
                rv_.describe(r), "it holds block '", b, "', which the checkpoint ", c.dir, " lacks");
      group_->send_tensor(as_bytes_tensor(read_file(c.dir + "/" + block_file(b))), r, kShardTag);
    }
  }
  return {c.state.step, c.state.epoch, c.state.batch_in_epoch};
}

}  // namespace dec::runtime
