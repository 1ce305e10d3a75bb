#include "dec/report/run_record.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "dec/core/error.h"
#include "dec/core/format_version.h"
#include "dec/core/file.h"
#include "dec/report/metrics_format.h"

namespace dec::report {

// ordered_json keeps the file's key order: trace nodes and summary keys are
// shown in the order the job wrote them.
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kWhat = "invalid metrics record";

// Field access for one line; every failure names "<file>:<line>" and the field.
struct Line {
  std::string where;

  const Json* find(const Json& j, const char* key) const {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }
  const Json& require(const Json& j, const char* key, const std::string& path) const {
    const Json* v = find(j, key);
    DEC_CHECK(v != nullptr, CorruptFile, kWhat, where, "missing field '", path, key, "'");
    return *v;
  }
  // Missing or null: NaN.
  double number(const Json& j, const char* key, const std::string& path = "") const {
    const Json* v = find(j, key);
    if (v == nullptr || v->is_null()) return std::nan("");
    DEC_CHECK(v->is_number(), CorruptFile, kWhat, where, "field '", path, key,
              "' must be a number, not ", v->dump());
    return v->get<double>();
  }
  int64_t integer(const Json& v, const std::string& field) const {
    const bool integral =
        v.is_number_integer() || (v.is_number_float() && std::isfinite(v.get<double>()) &&
                                  std::floor(v.get<double>()) == v.get<double>());
    DEC_CHECK(integral, CorruptFile, kWhat, where, "field '", field, "' must be an integer, not ",
              v.dump());
    return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
  }
  int64_t integer(const Json& j, const char* key, bool required,
                  const std::string& path = "") const {
    if (required) return integer(require(j, key, path), path + key);
    const Json* v = find(j, key);
    return v == nullptr || v->is_null() ? 0 : integer(*v, path + key);
  }
  std::string string(const Json& j, const char* key, bool required,
                     const std::string& path = "") const {
    const Json* v = required ? &require(j, key, path) : find(j, key);
    if (v == nullptr || v->is_null()) return "";
    DEC_CHECK(v->is_string(), CorruptFile, kWhat, where, "field '", path, key,
              "' must be a string, not ", v->dump());
    return v->get<std::string>();
  }
  const Json& object(const Json& j, const char* key, const std::string& path = "") const {
    const Json& v = require(j, key, path);
    DEC_CHECK(v.is_object(), CorruptFile, kWhat, where, "field '", path, key,
              "' must be an object");
    return v;
  }
};

// An `iteration` event, or version 1's `step` event of `dec train`, which names
// its measured time `step_s` and has no prediction: `measured_key` tells which.
Iteration read_iteration(const Line& L, const Json& j, const char* measured_key) {
  Iteration it;
  it.step = L.integer(j, "step", true);
  it.epoch = L.integer(j, "epoch", false);
  it.loss = L.number(j, "loss");
  it.measured_s = L.number(j, measured_key);
  it.predicted_s = L.number(j, "predicted_s");
  if (j.contains("nodes")) {
    for (const auto& [name, n] : L.object(j, "nodes").items()) {
      const std::string at = "nodes." + name + ".";
      DEC_CHECK(n.is_object(), CorruptFile, kWhat, L.where, "field 'nodes.", name,
                "' must be an object");
      NodeTimes t;
      t.wall_s = L.number(n, "wall_s", at);
      t.compute_s = L.number(n, "compute_s", at);
      t.recv_wait_s = L.number(n, "recv_wait_s", at);
      t.send_wait_s = L.number(n, "send_wait_s", at);
      t.sync_wait_s = L.number(n, "sync_wait_s", at);
      t.loss_sum = L.number(n, "loss_sum", at);
      t.loss_samples = L.number(n, "loss_samples", at);
      it.nodes[name] = t;
    }
  }
  if (j.contains("bytes_sent")) {
    const Json& b = L.object(j, "bytes_sent");
    for (const auto& [link, bytes] : b.items())
      it.bytes_sent[link] = L.number(b, link.c_str(), "bytes_sent.");
  }
  return it;
}

// A `start` event: the version of the lines that follow (metrics_format.h).
int read_start(const Line& L, const Json& j) {
  const int version = static_cast<int>(L.integer(j, "format_version", true));
  check_format_version<CorruptFile>(version, kOldestMetricsFormatVersion, kMetricsFormatVersion, "metrics",
                                    L.where);
  return version;
}

Epoch read_epoch(const Line& L, const Json& j) {
  Epoch e;
  e.epoch = L.integer(j, "epoch", true);
  e.step = L.integer(j, "step", false);
  e.train_loss = L.number(j, "train_loss");
  e.test_loss = L.number(j, "test_loss");
  e.test_accuracy = L.number(j, "test_accuracy");
  return e;
}

Trace read_trace(const Line& L, const Json& j) {
  Trace t;
  t.step = L.integer(j, "step", false);
  for (const auto& [name, spans] : L.object(j, "nodes").items()) {
    DEC_CHECK(spans.is_array(), CorruptFile, kWhat, L.where, "field 'nodes.", name,
              "' must be an array of spans");
    std::vector<Span> out;
    for (size_t i = 0; i < spans.size(); ++i) {
      const std::string at = str("nodes.", name, "[", i, "].");
      DEC_CHECK(spans[i].is_object(), CorruptFile, kWhat, L.where, "field '",
                at.substr(0, at.size() - 1), "' must be an object");
      Span s;
      s.kind = L.string(spans[i], "kind", true, at);
      s.start_s = L.number(spans[i], "start_s", at);
      s.end_s = L.number(spans[i], "end_s", at);
      s.label = L.string(spans[i], "label", false, at);
      DEC_CHECK(std::isfinite(s.start_s) && std::isfinite(s.end_s) && s.end_s >= s.start_s,
                CorruptFile, kWhat, L.where, "span '", at.substr(0, at.size() - 1),
                "' needs start_s <= end_s, got ", s.start_s, " and ", s.end_s);
      out.push_back(std::move(s));
    }
    t.nodes.emplace_back(name, std::move(out));
  }
  return t;
}

BaselineRun read_baseline(const Line& L, const Json& j) {
  BaselineRun b;
  b.kind = L.string(j, "kind", true);
  b.predicted_s = L.number(j, "predicted_s");
  b.measured_s = L.number(j, "measured_s");
  b.iterations = L.integer(j, "iterations", false);
  b.note = L.string(j, "note", false);
  return b;
}

void merge_summary(const Json& j, RunRecord* r) {
  for (const auto& [key, value] : j.items()) {
    if (key == "event" || key == "time") continue;
    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    bool replaced = false;
    for (auto& kv : r->summary) {
      if (kv.first == key) {
        kv.second = text;
        replaced = true;
      }
    }
    if (!replaced) r->summary.emplace_back(key, text);
  }
}

void read_line(const Line& L, const std::string& text, RunRecord* r) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    std::string why = e.what();
    // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
    if (!why.empty() && why[0] == '[' && why.find("] ") != std::string::npos)
      why = why.substr(why.find("] ") + 2);
    throw CorruptFile(kWhat, L.where, "not JSON: " + why);
  }
  DEC_CHECK(j.is_object(), CorruptFile, kWhat, L.where, "a line must be a JSON object");
  const std::string event = L.string(j, "event", true);
  const double time = L.number(j, "time");
  if (std::isfinite(time)) {
    if (!std::isfinite(r->first_time) || time < r->first_time) r->first_time = time;
    if (!std::isfinite(r->last_time) || time > r->last_time) r->last_time = time;
  }
  if (event == kStartEvent) {
    const int version = read_start(L, j);
    if (r->lines == 1) r->format_version = version;
  } else if (r->lines == 1) {
    r->format_version = kOldestMetricsFormatVersion;  // written before the start event existed
  }
  if (event == "plan") {
    const Json& plan = L.object(j, "plan");
    // The plan's reader checks it as it checks plan.json; it names L.where.
    r->plan = planner::plan_from_json(plan.dump(), L.where);
  } else if (event == "iteration") {
    r->iterations.push_back(read_iteration(L, j, "measured_s"));
  } else if (event == "step") {
    r->iterations.push_back(read_iteration(L, j, "step_s"));
  } else if (event == "epoch") {
    r->epochs.push_back(read_epoch(L, j));
  } else if (event == "trace") {
    r->trace = read_trace(L, j);
  } else if (event == "baseline") {
    BaselineRun b = read_baseline(L, j);
    bool replaced = false;
    for (auto& old : r->baselines) {
      if (old.kind == b.kind) {
        old = b;
        replaced = true;
      }
    }
    if (!replaced) r->baselines.push_back(std::move(b));
  } else if (event == "summary") {
    merge_summary(j, r);
  } else if (event != kStartEvent) {
    ++r->ignored;
  }
}

}  // namespace

RunRecord parse_metrics(const std::string& text, const std::string& where) {
  RunRecord r;
  r.source = where;
  r.first_time = r.last_time = std::nan("");
  size_t begin = 0;
  for (int64_t number = 1; begin < text.size(); ++number) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++r.lines;
    read_line(Line{str(where, ":", number)}, line, &r);
  }
  // No plan, and no iteration that a plan predicted: `dec train`.
  r.single_node = !r.iterations.empty() && !r.plan &&
                  std::none_of(r.iterations.begin(), r.iterations.end(),
                               [](const Iteration& it) { return std::isfinite(it.predicted_s); });
  return r;
}

RunRecord read_metrics(const std::string& path) { return parse_metrics(read_file(path), path); }

}  // namespace dec::report
