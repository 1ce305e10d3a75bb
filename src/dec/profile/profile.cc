#include "dec/profile/profile.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "dec/core/error.h"
#include "dec/core/format_version.h"
#include "dec/core/file.h"

namespace dec::profile {

using nlohmann::json;

double ModelProfile::total_param_bytes() const {
  double s = 0;
  for (const auto& b : blocks) s += b.param_bytes;
  return s;
}

double ModelProfile::block_sum_s() const {
  double s = 0;
  for (const auto& b : blocks) s += b.fwd_s + b.bwd_s;
  return s;
}

double task_s(const BlockProfile& b, double rows, bool backward) {
  if (b.by_rows.empty()) return rows * (backward ? b.bwd_s : b.fwd_s);
  return cost_at_rows(
      b.by_rows, rows, [](const BlockProfile::AtRows& a) { return static_cast<double>(a.rows); },
      [backward](const BlockProfile::AtRows& a) { return backward ? a.bwd_s : a.fwd_s; });
}

std::string to_json(const ModelProfile& p) {
  json j;
  j["format_version"] = kProfileFormatVersion;
  j["model"] = p.model;
  j["model_hash"] = p.model_hash;
  j["input_shape"] = p.input_shape;
  j["num_classes"] = p.num_classes;
  j["input_bytes"] = p.input_bytes;
  j["node"] = p.node;
  j["speed"] = p.speed;
  j["micro_batch"] = p.micro_batch;
  j["threads"] = p.threads;
  j["repeats"] = p.repeats;
  j["optimizer"] = p.optimizer;
  j["whole_s"] = p.whole_s;
  j["block_sum_ratio"] = p.block_sum_ratio;
  j["blocks"] = json::array();
  for (const auto& b : p.blocks) {
    j["blocks"].push_back({{"name", b.name},
                           {"fwd_s", b.fwd_s},
                           {"bwd_s", b.bwd_s},
                           {"fwd_spread", b.fwd_spread},
                           {"bwd_spread", b.bwd_spread},
                           {"opt_s", b.opt_s},
                           {"out_bytes", b.out_bytes},
                           {"saved_bytes", b.saved_bytes},
                           {"param_bytes", b.param_bytes},
                           {"optim_bytes", b.optim_bytes},
                           {"flops", b.flops}});
    if (!b.by_rows.empty()) {
      json rows = json::array();
      for (const auto& r : b.by_rows) rows.push_back({{"rows", r.rows}, {"fwd_s", r.fwd_s}, {"bwd_s", r.bwd_s}});
      j["blocks"].back()["by_rows"] = rows;
    }
  }
  return j.dump(2) + "\n";
}

namespace {

template <typename T>
T field(const json& j, const char* key, const std::string& where) {
  DEC_CHECK(j.contains(key), CorruptFile, "invalid profile", where, "missing field '", key, "'");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    throw CorruptFile("invalid profile", where, str("field '", key, "': ", e.what()));
  }
}

double number(const json& j, const char* key, const std::string& where) {
  double v = field<double>(j, key, where);
  DEC_CHECK(std::isfinite(v) && v >= 0, CorruptFile, "invalid profile", where, "field '", key,
            "' must be a finite non-negative number, got ", v);
  return v;
}

}  // namespace

ModelProfile from_json(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw CorruptFile("invalid profile", where, str("not JSON: ", e.what()));
  }
  DEC_CHECK(j.is_object(), CorruptFile, "invalid profile", where, "top level must be an object");
  ModelProfile p;
  p.format_version = field<int>(j, "format_version", where);
  check_format_version<CorruptFile>(p.format_version, kOldestProfileFormatVersion, kProfileFormatVersion,
                                    "profile", where);
  p.model = field<std::string>(j, "model", where);
  p.model_hash = field<std::string>(j, "model_hash", where);
  p.input_shape = field<std::vector<int64_t>>(j, "input_shape", where);
  p.num_classes = field<int64_t>(j, "num_classes", where);
  p.input_bytes = number(j, "input_bytes", where);
  p.node = j.value("node", "");
  p.speed = j.contains("speed") ? number(j, "speed", where) : 1.0;
  DEC_CHECK(p.speed > 0, CorruptFile, "invalid profile", where, "speed must be positive");
  p.micro_batch = field<int>(j, "micro_batch", where);
  p.threads = field<int>(j, "threads", where);
  p.repeats = field<int>(j, "repeats", where);
  p.optimizer = field<std::string>(j, "optimizer", where);
  p.whole_s = number(j, "whole_s", where);
  p.block_sum_ratio = number(j, "block_sum_ratio", where);
  // Version 1 profiles written with --speed may carry "task_s" (a per-task
  // overhead that emulation no longer costs, runtime/task_costs.h): read past.
  const json& blocks = j.contains("blocks") ? j["blocks"] : json();
  DEC_CHECK(blocks.is_array() && !blocks.empty(), CorruptFile, "invalid profile", where,
            "'blocks' must be a non-empty array");
  for (size_t i = 0; i < blocks.size(); ++i) {
    const json& b = blocks[i];
    const std::string bw = str(where, ": blocks[", i, "]");
    BlockProfile bp;
    bp.name = field<std::string>(b, "name", bw);
    bp.fwd_s = number(b, "fwd_s", bw);
    bp.bwd_s = number(b, "bwd_s", bw);
    bp.fwd_spread = number(b, "fwd_spread", bw);
    bp.bwd_spread = number(b, "bwd_spread", bw);
    // Version 1 profiles may leave opt_s out (it came later in version 1): 0.
    if (p.format_version >= 2 || b.contains("opt_s")) bp.opt_s = number(b, "opt_s", bw);
    bp.out_bytes = number(b, "out_bytes", bw);
    bp.saved_bytes = number(b, "saved_bytes", bw);
    bp.param_bytes = number(b, "param_bytes", bw);
    bp.optim_bytes = number(b, "optim_bytes", bw);
    bp.flops = number(b, "flops", bw);
    if (b.contains("by_rows")) {  // optional in every version
      DEC_CHECK(b["by_rows"].is_array(), CorruptFile, "invalid profile", bw, "'by_rows' must be an array");
      for (size_t r = 0; r < b["by_rows"].size(); ++r) {
        const json& at = b["by_rows"][r];
        const std::string rw = str(bw, ".by_rows[", r, "]");
        BlockProfile::AtRows a;
        a.rows = field<int64_t>(at, "rows", rw);
        a.fwd_s = number(at, "fwd_s", rw);
        a.bwd_s = number(at, "bwd_s", rw);
        DEC_CHECK(a.rows > 0 && (bp.by_rows.empty() || a.rows > bp.by_rows.back().rows), CorruptFile,
                  "invalid profile", rw, "rows must be positive and ascending, got ", a.rows);
        bp.by_rows.push_back(a);
      }
    }
    p.blocks.push_back(std::move(bp));
  }
  return p;
}

ModelProfile load_profile(const std::string& path) { return from_json(read_file(path), path); }

void save_profile(const std::string& path, const ModelProfile& p) {
  write_file_atomic(path, to_json(p));
}

ModelProfile scaled(const ModelProfile& p, double speed) {
  DEC_ASSERT(speed > 0, "speed ", speed);
  ModelProfile q = p;
  q.speed = p.speed * speed;
  q.whole_s = p.whole_s / speed;
  for (auto& b : q.blocks) {
    b.fwd_s /= speed;
    b.bwd_s /= speed;
    b.opt_s /= speed;
    for (auto& r : b.by_rows) {
      r.fwd_s /= speed;
      r.bwd_s /= speed;
    }
  }
  return q;
}

}  // namespace dec::profile
