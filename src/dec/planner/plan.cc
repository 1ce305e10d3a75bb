#include "dec/planner/plan.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "dec/core/error.h"
#include "dec/core/format_version.h"
#include "dec/core/file.h"

namespace dec::planner {

using nlohmann::json;

namespace {

json ranges_json(const std::vector<BlockRange>& rs) {
  json a = json::array();
  for (const auto& r : rs) a.push_back({r.begin, r.end});
  return a;
}

json plan_json(const Plan& p, bool top) {
  json j;
  j["format_version"] = kPlanFormatVersion;  // what this writes, whatever version was read
  j["kind"] = p.kind;
  j["feasible"] = p.feasible;
  j["note"] = p.note;
  j["cluster"] = {{"name", p.cluster}, {"sha256", p.cluster_sha256}};
  j["model"] = {{"name", p.model}, {"hash", p.model_hash}, {"blocks", p.blocks}};
  j["profiles"] = json::array();
  for (const auto& r : p.profiles)
    j["profiles"].push_back({{"node", r.node}, {"path", r.path}, {"sha256", r.sha256}});
  j["training"] = {{"batch", p.batch}, {"micro_batches", p.micro_batches}};
  if (top) {
    j["data"] = json::array();
    for (const auto& d : p.data) j["data"].push_back({{"node", d.node}, {"share", d.share}, {"samples", d.samples}});
  }
  j["paths"] = json::array();
  for (const auto& q : p.paths) {
    j["paths"].push_back({{"source", q.source},
                          {"nodes", q.nodes},
                          {"ranges", ranges_json(q.ranges)},
                          {"samples", q.samples},
                          {"micro_batches", q.micro_batches},
                          {"node_s", q.node_s},
                          {"hop_s", q.hop_s},
                          {"latency_s", q.latency_s},
                          {"fill_s", q.fill_s}});
  }
  j["replicas"] = json::array();
  for (const auto& r : p.replicas) j["replicas"].push_back({{"block", r.block}, {"nodes", r.nodes}});
  const Prediction& d = p.prediction;
  j["prediction"] = {{"iteration_s", d.iteration_s}, {"bottleneck", d.bottleneck},
                     {"bottleneck_kind", d.bottleneck_kind}, {"path", d.path},
                     {"load_s", d.load_s}, {"sync_s", d.sync_s},
                     {"fill_s", d.fill_s}, {"latency_s", d.latency_s}, {"overlap_s", d.overlap_s}};
  j["nodes"] = json::array();
  for (const auto& n : p.nodes) {
    j["nodes"].push_back({{"name", n.name}, {"tier", n.tier}, {"blocks", ranges_json(n.blocks)},
                          {"samples", n.samples}, {"compute_s", n.compute_s},
                          {"memory_bytes", n.memory_bytes}, {"memory_cap_bytes", n.memory_cap_bytes}});
  }
  j["links"] = json::array();
  for (const auto& l : p.links) {
    j["links"].push_back({{"name", l.name}, {"a", l.a}, {"b", l.b},
                          {"activation_bytes", l.activation_bytes}, {"sync_bytes", l.sync_bytes},
                          {"seconds", l.seconds}, {"bandwidth_mbps", l.bandwidth_mbps},
                          {"latency_s", l.latency_s}});
  }
  if (p.solver) {
    const SolverReport& s = *p.solver;
    // JSON has no infinity: an unknown bound is written as null.
    j["solver"] = {{"status", s.status}, {"objective", s.objective},
                   {"bound", std::isfinite(s.bound) ? json(s.bound) : json(nullptr)},
                   {"gap", std::isfinite(s.gap) ? json(s.gap) : json(nullptr)},
                   {"seconds", s.seconds}, {"method", s.method}, {"bound_method", s.bound_method},
                   {"fastest_s", s.fastest_s}, {"simpler", s.simpler}};
  }
  if (top) {
    j["baselines"] = json::array();
    for (const auto& b : p.baselines) j["baselines"].push_back(plan_json(b, false));
  }
  return j;
}

// Field access that names the JSON path on failure.
struct Reader {
  const std::string& where;

  const json& at(const json& j, const char* key, const std::string& path) const {
    DEC_CHECK(j.is_object() && j.contains(key), CorruptFile, "invalid plan", where,
              "missing field '", path, key, "'");
    return j.at(key);
  }
  template <typename T>
  T get(const json& j, const char* key, const std::string& path) const {
    const json& v = at(j, key, path);
    try {
      return v.get<T>();
    } catch (const json::exception& e) {
      throw CorruptFile("invalid plan", where, str("field '", path, key, "': ", e.what()));
    }
  }
  double number(const json& j, const char* key, const std::string& path) const {
    const json& v = at(j, key, path);
    if (v.is_null()) return std::nan("");  // written for a non-finite value
    DEC_CHECK(v.is_number(), CorruptFile, "invalid plan", where, "field '", path, key, "' must be a number");
    return v.get<double>();
  }
  std::vector<BlockRange> ranges(const json& j, const char* key, const std::string& path) const {
    std::vector<BlockRange> out;
    for (const auto& r : get<std::vector<std::vector<int>>>(j, key, path)) {
      DEC_CHECK(r.size() == 2 && r[0] <= r[1] && r[0] >= 0, CorruptFile, "invalid plan", where,
                "field '", path, key, "': a range is [begin, end] with 0 <= begin <= end");
      out.push_back({r[0], r[1]});
    }
    return out;
  }
};

// The version `j` was written at: one this dec reads, or CorruptFile naming
// the file and both versions.
int version_of(const Reader& R, const json& j) {
  const json& v = R.at(j, "format_version", "");
  const bool known = v.is_number_integer() && v.get<int64_t>() >= kOldestPlanFormatVersion &&
                     v.get<int64_t>() <= kPlanFormatVersion;
  DEC_CHECK(known, CorruptFile, "unsupported plan format", R.where,
            format_version_why(v.dump(), kOldestPlanFormatVersion, kPlanFormatVersion));
  return v.get<int>();
}

PlanPath parse_path(const Reader& R, const json& q, const std::string& at, int L) {
  PlanPath pp;
  pp.source = R.get<std::string>(q, "source", at);
  pp.nodes = R.get<std::vector<std::string>>(q, "nodes", at);
  pp.ranges = R.ranges(q, "ranges", at);
  pp.samples = R.get<int64_t>(q, "samples", at);
  pp.micro_batches = R.get<int>(q, "micro_batches", at);
  pp.node_s = R.get<std::vector<double>>(q, "node_s", at);
  pp.hop_s = R.get<std::vector<double>>(q, "hop_s", at);
  pp.latency_s = R.number(q, "latency_s", at);
  pp.fill_s = R.number(q, "fill_s", at);
  DEC_CHECK(!pp.nodes.empty() && pp.nodes.front() == pp.source, CorruptFile, "invalid plan", R.where,
            at, "nodes must start at the source");
  DEC_CHECK(pp.ranges.size() == pp.nodes.size(), CorruptFile, "invalid plan", R.where, at,
            "ranges needs one range per node");
  int next = 0;
  for (const auto& r : pp.ranges) {
    DEC_CHECK(r.begin == next, CorruptFile, "invalid plan", R.where, at,
              "ranges must be contiguous from block 0");
    next = r.end;
  }
  DEC_CHECK(next == L && !pp.ranges.back().empty(), CorruptFile, "invalid plan", R.where, at,
            "ranges must end at block ", L, " on the last node");
  DEC_CHECK(pp.samples >= 1, CorruptFile, "invalid plan", R.where, at, "samples must be >= 1");
  return pp;
}

Prediction parse_prediction(const Reader& R, const json& d, int version) {
  Prediction p;
  p.iteration_s = R.number(d, "iteration_s", "prediction.");
  p.bottleneck = R.get<std::string>(d, "bottleneck", "prediction.");
  p.bottleneck_kind = R.get<std::string>(d, "bottleneck_kind", "prediction.");
  p.path = R.get<int>(d, "path", "prediction.");
  p.load_s = R.number(d, "load_s", "prediction.");
  p.sync_s = R.number(d, "sync_s", "prediction.");
  p.fill_s = R.number(d, "fill_s", "prediction.");
  p.latency_s = R.number(d, "latency_s", "prediction.");
  // Version 1 plans may lack it (written before the early-backward term): nothing overlapped.
  const bool optional = version < 2 && !d.contains("overlap_s");
  p.overlap_s = optional ? 0 : R.number(d, "overlap_s", "prediction.");
  return p;
}

Plan parse(const json& j, const std::string& where, bool top) {
  Reader R{where};
  Plan p;
  p.format_version = version_of(R, j);
  p.kind = R.get<std::string>(j, "kind", "");
  p.feasible = R.get<bool>(j, "feasible", "");
  p.note = R.get<std::string>(j, "note", "");
  const json& c = R.at(j, "cluster", "");
  p.cluster = R.get<std::string>(c, "name", "cluster.");
  p.cluster_sha256 = R.get<std::string>(c, "sha256", "cluster.");
  const json& m = R.at(j, "model", "");
  p.model = R.get<std::string>(m, "name", "model.");
  p.model_hash = R.get<std::string>(m, "hash", "model.");
  p.blocks = R.get<std::vector<std::string>>(m, "blocks", "model.");
  for (const auto& r : R.at(j, "profiles", ""))
    p.profiles.push_back({R.get<std::string>(r, "node", "profiles[]."), R.get<std::string>(r, "path", "profiles[]."),
                          R.get<std::string>(r, "sha256", "profiles[].")});
  const json& t = R.at(j, "training", "");
  p.batch = R.get<int64_t>(t, "batch", "training.");
  p.micro_batches = R.get<int>(t, "micro_batches", "training.");
  if (top && p.format_version >= 3) {
    for (const auto& d : R.at(j, "data", ""))
      p.data.push_back({R.get<std::string>(d, "node", "data[]."), R.number(d, "share", "data[]."),
                        R.get<int64_t>(d, "samples", "data[].")});
  }
  const json& paths = R.at(j, "paths", "");
  for (size_t i = 0; i < paths.size(); ++i)
    p.paths.push_back(parse_path(R, paths[i], str("paths[", i, "]."), static_cast<int>(p.blocks.size())));
  for (const auto& r : R.at(j, "replicas", ""))
    p.replicas.push_back({R.get<std::string>(r, "block", "replicas[]."),
                          R.get<std::vector<std::string>>(r, "nodes", "replicas[].")});
  p.prediction = parse_prediction(R, R.at(j, "prediction", ""), p.format_version);
  for (const auto& n : R.at(j, "nodes", "")) {
    NodeReport r;
    r.name = R.get<std::string>(n, "name", "nodes[].");
    r.tier = R.get<std::string>(n, "tier", "nodes[].");
    r.blocks = R.ranges(n, "blocks", "nodes[].");
    r.samples = R.get<int64_t>(n, "samples", "nodes[].");
    r.compute_s = R.number(n, "compute_s", "nodes[].");
    r.memory_bytes = R.number(n, "memory_bytes", "nodes[].");
    r.memory_cap_bytes = R.number(n, "memory_cap_bytes", "nodes[].");
    p.nodes.push_back(std::move(r));
  }
  for (const auto& l : R.at(j, "links", "")) {
    LinkReport r;
    r.name = R.get<std::string>(l, "name", "links[].");
    r.a = R.get<std::string>(l, "a", "links[].");
    r.b = R.get<std::string>(l, "b", "links[].");
    r.activation_bytes = R.number(l, "activation_bytes", "links[].");
    r.sync_bytes = R.number(l, "sync_bytes", "links[].");
    r.seconds = R.number(l, "seconds", "links[].");
    r.bandwidth_mbps = R.number(l, "bandwidth_mbps", "links[].");
    r.latency_s = R.number(l, "latency_s", "links[].");
    p.links.push_back(std::move(r));
  }
  if (j.contains("solver")) {
    const json& s = j["solver"];
    SolverReport r;
    r.status = R.get<std::string>(s, "status", "solver.");
    r.objective = R.number(s, "objective", "solver.");
    r.bound = R.number(s, "bound", "solver.");
    if (std::isnan(r.bound)) r.bound = -INFINITY;
    r.gap = R.number(s, "gap", "solver.");
    if (std::isnan(r.gap)) r.gap = INFINITY;
    r.seconds = R.number(s, "seconds", "solver.");
    r.method = R.get<std::string>(s, "method", "solver.");
    r.bound_method = R.get<std::string>(s, "bound_method", "solver.");
    const bool v3 = p.format_version >= 3;
    r.fastest_s = v3 ? R.number(s, "fastest_s", "solver.") : r.objective;
    if (v3) r.simpler = R.get<std::string>(s, "simpler", "solver.");
    p.solver = r;
  }
  if (top && j.contains("baselines")) {
    for (const auto& b : j["baselines"]) p.baselines.push_back(parse(b, where, false));
  }
  return p;
}

}  // namespace

std::string to_json(const Plan& p) { return plan_json(p, true).dump(2) + "\n"; }

Plan plan_from_json(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw CorruptFile("invalid plan", where, str("not JSON: ", e.what()));
  }
  DEC_CHECK(j.is_object(), CorruptFile, "invalid plan", where, "top level must be an object");
  return parse(j, where, true);
}

Plan load_plan(const std::string& path) { return plan_from_json(read_file(path), path); }

void save_plan(const std::string& path, const Plan& p) { write_file_atomic(path, to_json(p)); }

}  // namespace dec::planner
