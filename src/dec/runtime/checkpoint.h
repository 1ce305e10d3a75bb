// Checkpoints: one shard per block plus a manifest, crash-safe (docs/checkpoint.md).
//
// Layout under a root directory:
//   root/step-00000100/manifest.json     written last; lists every file with its sha256
//   root/step-00000100/blocks/<block>.pt one block's parameters, buffers, optimizer state
//   root/step-00000100/rng.pt            torch's CPU generator state
//   root/latest                          "step-00000100", replaced atomically
// A save stages everything in root/step-N.partial/, then renames it to step-N
// and only then points `latest` at it. A save killed at any moment therefore
// leaves the previous checkpoint untouched and loadable; a stray .partial
// directory is ignored by readers and removed by the next save.
//
// Shards are torch pickles of a dict of tensors keyed "param/<name>",
// "buffer/<name>", "optim/<name>/<field>" (Python's torch.load opens them).
// They are keyed by block name, not by rank, so a checkpoint can be resumed
// under any partition of the model.
//
// Thread safety: none. In a distributed job each block has one owner (the
// lowest rank of its replica group), which encodes its shard in memory and
// sends it to the job's checkpoint keeper; the keeper alone writes and commits
// (job_checkpoint.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dec::runtime {

// The manifest's version (docs/checkpoint.md): the only one there has been.
inline constexpr int kCheckpointFormatVersion = 1;

// Everything but the tensors: where training stands.
struct CheckpointState {
  int64_t step = 0;            // optimizer steps completed
  int64_t epoch = 0;           // epoch of the next batch
  int64_t batch_in_epoch = 0;  // batches of `epoch` already consumed (sampler position)
  uint64_t seed = 0;           // the run's seed (sampler and initialisation)
  int64_t global_batch = 0;
  std::string model;           // zoo name
  std::string model_hash;
  std::string plan_hash;       // "" for single-node training
  std::string optimizer;       // optim::OptimizerConfig::to_string()
};

// One block's tensors, by full parameter name ("conv1.conv.weight").
struct BlockState {
  std::map<std::string, torch::Tensor> params;
  std::map<std::string, torch::Tensor> buffers;
  std::map<std::string, torch::Tensor> optim;  // "<param>/<field>"
};

// A block's shard as it is stored: the torch pickle of its tensors.
std::string encode_block(const BlockState& state);
// The shard's path relative to a step directory: "blocks/<block>.pt".
std::string block_file(const std::string& block);

// Stages one checkpoint in root/step-N.partial, or (in_memory) only collects
// the encoded shards, for a rank that sends them to the keeper.
class CheckpointWriter {
 public:
  CheckpointWriter(std::string root, int64_t step);
  // Writes nothing: write_block keeps the shard's bytes (shards()); write_rng
  // and commit may not be called.
  static CheckpointWriter in_memory(int64_t step);

  // Writes (fsync'd) blocks/<block>.pt into the staging directory; returns its sha256.
  std::string write_block(const std::string& block, const BlockState& state);
  // Writes a shard encoded elsewhere (received from its owner) at `file`
  // (block_file(block)); returns its sha256.
  std::string write_encoded(const std::string& file, const std::string& bytes);
  // Writes rng.pt with the current torch CPU generator state; returns its sha256.
  std::string write_rng();

  // Single committer, after every writer is done: writes the manifest listing
  // `files` (relative path -> sha256), publishes the directory and `latest`,
  // then removes all but the newest `keep_last` checkpoints (0 keeps all).
  // Returns the published directory.
  std::string commit(const CheckpointState& state, const std::vector<std::string>& blocks,
                     const std::map<std::string, std::string>& files, int keep_last);

  const std::string& staging_dir() const { return staging_; }
  // In memory: file (block_file) -> encoded shard, as written.
  const std::map<std::string, std::string>& shards() const { return shards_; }

 private:
  CheckpointWriter() = default;

  std::string root_, staging_, final_;
  int64_t step_ = 0;
  bool in_memory_ = false;
  std::map<std::string, std::string> shards_;
};

struct Checkpoint {
  std::string dir;                  // the step-N directory that was opened
  CheckpointState state;
  std::vector<std::string> blocks;  // in model order
  // Shards received from the keeper (block -> encoded shard), read instead of
  // dir's files; `dir` then names where they came from, for errors.
  std::map<std::string, std::string> received;
};

// Opens `path` (a root with `latest`, or a step-N directory), reads the manifest
// and verifies every listed file's sha256. Throws CorruptFile naming the file on
// any mismatch or on a manifest of another version, in one line:
//   unsupported checkpoint format (<dir>/manifest.json): format_version 2; this dec reads 1
// and Mismatch if expected_model_hash is non-empty and differs, IoError
// or ConfigError ("no checkpoint") when nothing is there.
Checkpoint open_checkpoint(const std::string& path, const std::string& expected_model_hash = "");

// A block's tensors, from `received` when it holds the block, else from the file.
BlockState read_block(const Checkpoint& ckpt, const std::string& block);
// Decodes an encoded shard; CorruptFile naming `where` when it is not one.
BlockState decode_block(const std::string& bytes, const std::string& where);
// Restores torch's CPU generator from rng.pt.
void restore_rng(const Checkpoint& ckpt);

}  // namespace dec::runtime
