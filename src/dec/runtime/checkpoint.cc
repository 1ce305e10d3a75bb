#include "dec/runtime/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <fcntl.h>
#include <stdio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "dec/core/error.h"
#include "dec/core/format_version.h"
#include "dec/core/file.h"
#include "dec/core/sha256.h"

namespace dec::runtime {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kManifest = "manifest.json";
constexpr const char* kLatest = "latest";

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
  return buf;
}

std::string pickle(const std::map<std::string, torch::Tensor>& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [k, v] : tensors) dict.insert(k, v.contiguous());
  std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  return std::string(bytes.begin(), bytes.end());
}

std::map<std::string, torch::Tensor> unpickle_bytes(const std::string& bytes, const std::string& path) {
  c10::IValue v;
  try {
    v = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    throw CorruptFile("cannot read tensor file", path, e.what_without_backtrace());
  }
  DEC_CHECK(v.isGenericDict(), CorruptFile, "cannot read tensor file", path,
            "expected a dict of tensors");
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : v.toGenericDict()) {
    DEC_CHECK(item.key().isString() && item.value().isTensor(), CorruptFile,
              "cannot read tensor file", path, "expected a dict of str -> tensor");
    out[item.key().toStringRef()] = item.value().toTensor();
  }
  return out;
}

std::map<std::string, torch::Tensor> unpickle(const std::string& path) {
  return unpickle_bytes(read_file(path), path);
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

}  // namespace

// The block name is a file name: no separators, nothing hidden.
std::string block_file(const std::string& block) {
  DEC_ASSERT(!block.empty() && block.find('/') == std::string::npos && block[0] != '.',
             "bad block name '", block, "'");
  return "blocks/" + block + ".pt";
}

std::string encode_block(const BlockState& s) {
  std::map<std::string, torch::Tensor> all;
  for (const auto& [k, v] : s.params) all["param/" + k] = v;
  for (const auto& [k, v] : s.buffers) all["buffer/" + k] = v;
  for (const auto& [k, v] : s.optim) all["optim/" + k] = v;
  return pickle(all);
}

BlockState decode_block(const std::string& bytes, const std::string& where) {
  BlockState s;
  for (auto& [k, v] : unpickle_bytes(bytes, where)) {
    if (k.rfind("param/", 0) == 0) s.params[k.substr(6)] = v;
    else if (k.rfind("buffer/", 0) == 0) s.buffers[k.substr(7)] = v;
    else if (k.rfind("optim/", 0) == 0) s.optim[k.substr(6)] = v;
    else throw CorruptFile("invalid checkpoint shard", where, str("unexpected key '", k, "'"));
  }
  return s;
}

CheckpointWriter CheckpointWriter::in_memory(int64_t step) {
  CheckpointWriter w;
  w.step_ = step;
  w.in_memory_ = true;
  return w;
}

CheckpointWriter::CheckpointWriter(std::string root, int64_t step)
    : root_(std::move(root)), step_(step) {
  final_ = (fs::path(root_) / step_name(step)).string();
  staging_ = final_ + ".partial";
  std::error_code ec;
  fs::create_directories(fs::path(staging_) / "blocks", ec);
  DEC_CHECK(!ec, IoError, "cannot create checkpoint directory", staging_, ec.message());
}

std::string CheckpointWriter::write_block(const std::string& block, const BlockState& s) {
  std::string bytes = encode_block(s);
  if (in_memory_) {
    std::string sha = sha256_hex(bytes);
    shards_[block_file(block)] = std::move(bytes);
    return sha;
  }
  return write_encoded(block_file(block), bytes);
}

std::string CheckpointWriter::write_encoded(const std::string& file, const std::string& bytes) {
  DEC_ASSERT(!in_memory_, "write_encoded on an in-memory checkpoint writer");
  DEC_ASSERT(file.rfind("blocks/", 0) == 0 && file.find("..") == std::string::npos,
             "bad shard path '", file, "'");
  write_file_atomic((fs::path(staging_) / file).string(), bytes);
  return sha256_hex(bytes);
}

std::string CheckpointWriter::write_rng() {
  DEC_ASSERT(!in_memory_, "write_rng on an in-memory checkpoint writer");
  auto gen = at::detail::getDefaultCPUGenerator();
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  std::string bytes = pickle({{"torch_cpu", state}});
  write_file_atomic((fs::path(staging_) / "rng.pt").string(), bytes);
  return sha256_hex(bytes);
}

std::string CheckpointWriter::commit(const CheckpointState& st,
                                     const std::vector<std::string>& blocks,
                                     const std::map<std::string, std::string>& files,
                                     int keep_last) {
  DEC_ASSERT(!in_memory_, "commit on an in-memory checkpoint writer");
  json m;
  m["format_version"] = kCheckpointFormatVersion;
  m["step"] = st.step;
  m["epoch"] = st.epoch;
  m["batch_in_epoch"] = st.batch_in_epoch;
  m["seed"] = st.seed;
  m["global_batch"] = st.global_batch;
  m["model"] = st.model;
  m["model_hash"] = st.model_hash;
  m["plan_hash"] = st.plan_hash;
  m["optimizer"] = st.optimizer;
  m["blocks"] = blocks;
  m["files"] = files;
  write_file_atomic((fs::path(staging_) / kManifest).string(), m.dump(2) + "\n");

  // Publish: a complete directory appears under its final name in one rename.
  // An older save of the same step (a resumed run passing it again) is swapped
  // out atomically, so `latest` never points at a missing directory.
  if (fs::exists(final_)) {
    DEC_CHECK(::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, final_.c_str(),
                          RENAME_EXCHANGE) == 0,
              IoError, "cannot publish checkpoint", final_, std::strerror(errno));
    remove_quietly(staging_);  // now holds the older save
  } else {
    std::error_code ec;
    fs::rename(staging_, final_, ec);
    DEC_CHECK(!ec, IoError, "cannot publish checkpoint", final_, ec.message());
  }
  fsync_path(root_);
  write_file_atomic((fs::path(root_) / kLatest).string(), step_name(step_) + "\n");

  // Retention and leftovers of killed saves.
  std::vector<fs::path> steps;
  for (const auto& e : fs::directory_iterator(root_)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) != 0) continue;
    if (name.size() > 8 && name.substr(name.size() - 8) == ".partial") {
      // Leftovers of killed saves of earlier steps; a later step may be in
      // progress on another rank.
      if (e.path().string() < staging_) remove_quietly(e.path());
      continue;
    }
    steps.push_back(e.path());
  }
  std::sort(steps.begin(), steps.end());
  if (keep_last > 0) {
    for (size_t i = 0; i + keep_last < steps.size(); ++i) {
      if (steps[i] != fs::path(final_)) remove_quietly(steps[i]);
    }
  }
  return final_;
}

Checkpoint open_checkpoint(const std::string& path, const std::string& expected_model_hash) {
  fs::path dir = path;
  DEC_CHECK(fs::exists(dir), ConfigError, "no checkpoint", path, "no such file or directory");
  if (!fs::exists(dir / kManifest)) {
    DEC_CHECK(fs::exists(dir / kLatest), ConfigError, "no checkpoint", path,
              "neither a manifest.json nor a 'latest' pointer is there");
    std::string name = read_file((dir / kLatest).string());
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    DEC_CHECK(name.rfind("step-", 0) == 0 && name.find('/') == std::string::npos, CorruptFile,
              "invalid checkpoint pointer", (dir / kLatest).string(), "'", name, "'");
    dir /= name;
  }
  const std::string manifest_path = (dir / kManifest).string();
  json m;
  try {
    m = json::parse(read_file(manifest_path));
  } catch (const json::exception& e) {
    throw CorruptFile("invalid checkpoint manifest", manifest_path, e.what());
  }
  Checkpoint c;
  c.dir = dir.string();
  try {
    // The version first: a later version's fields are not this reader's to judge.
    const int version = m.at("format_version").get<int>();
    check_format_version<CorruptFile>(version, kCheckpointFormatVersion, kCheckpointFormatVersion,
                                      "checkpoint", manifest_path);
    c.state.step = m.at("step").get<int64_t>();
    c.state.epoch = m.at("epoch").get<int64_t>();
    c.state.batch_in_epoch = m.at("batch_in_epoch").get<int64_t>();
    c.state.seed = m.at("seed").get<uint64_t>();
    c.state.global_batch = m.at("global_batch").get<int64_t>();
    c.state.model = m.at("model").get<std::string>();
    c.state.model_hash = m.at("model_hash").get<std::string>();
    c.state.plan_hash = m.at("plan_hash").get<std::string>();
    c.state.optimizer = m.at("optimizer").get<std::string>();
    c.blocks = m.at("blocks").get<std::vector<std::string>>();
    auto files = m.at("files").get<std::map<std::string, std::string>>();
    for (const auto& b : c.blocks) {
      DEC_CHECK(files.count(block_file(b)), CorruptFile, "incomplete checkpoint", manifest_path,
                "block '", b, "' has no shard");
    }
    for (const auto& [file, sha] : files) {
      DEC_CHECK(file.find("..") == std::string::npos && !file.empty() && file[0] != '/',
                CorruptFile, "invalid checkpoint manifest", manifest_path, "bad path '", file,
                "'");
      const std::string p = (dir / file).string();
      DEC_CHECK(fs::exists(p), CorruptFile, "incomplete checkpoint", p, "listed file missing");
      const std::string actual = sha256_file(p);
      DEC_CHECK(actual == sha, CorruptFile, "checkpoint file is corrupt", p,
                "sha256 is ", actual.substr(0, 12), "..., manifest says ", sha.substr(0, 12),
                "...");
    }
  } catch (const json::exception& e) {
    throw CorruptFile("invalid checkpoint manifest", manifest_path, e.what());
  }
  if (!expected_model_hash.empty()) {
    DEC_CHECK(c.state.model_hash == expected_model_hash, Mismatch,
              "checkpoint is for a different model", c.dir, "it holds '", c.state.model,
              "' (hash ", c.state.model_hash.substr(0, 12), "...), this run builds hash ",
              expected_model_hash.substr(0, 12), "...");
  }
  return c;
}

BlockState read_block(const Checkpoint& c, const std::string& block) {
  DEC_CHECK(std::find(c.blocks.begin(), c.blocks.end(), block) != c.blocks.end(), CorruptFile,
            "incomplete checkpoint", c.dir, "no shard for block '", block, "'");
  const std::string path = (fs::path(c.dir) / block_file(block)).string();
  const auto held = c.received.find(block);
  if (held != c.received.end()) return decode_block(held->second, path);
  return decode_block(read_file(path), path);
}

void restore_rng(const Checkpoint& c) {
  const std::string path = (fs::path(c.dir) / "rng.pt").string();
  if (!fs::exists(path)) return;  // written by single-node runs; optional
  auto t = unpickle(path);
  DEC_CHECK(t.count("torch_cpu"), CorruptFile, "invalid rng state", path, "missing torch_cpu");
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(t["torch_cpu"]);
}

}  // namespace dec::runtime
