#include "dec/cluster/load.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "dec/cluster/validate.h"
#include "dec/core/error.h"
#include "dec/core/format_version.h"
#include "dec/core/file.h"
#include "dec/core/units.h"

namespace dec::cluster {
namespace {

constexpr const char* kWhat = "invalid cluster spec";

// A YAML node together with its field path, so every error can name it.
struct Field {
  YAML::Node node;
  std::string path;  // "links[2].bandwidth"
  const std::string* file;

  std::string where() const { return file->empty() ? path : *file + ": " + path; }
  std::string where(const std::string& key) const {
    std::string p = path.empty() ? key : path + "." + key;
    return file->empty() ? p : *file + ": " + p;
  }

  bool has(const char* key) const { return node[key].IsDefined() && !node[key].IsNull(); }

  Field child(const char* key) const {
    DEC_CHECK(has(key), ConfigError, kWhat, where(key), "missing required field");
    return {node[key], path.empty() ? std::string(key) : path + "." + key, file};
  }
  Field item(size_t i) const { return {node[i], str(path, "[", i, "]"), file}; }

  // Rejects keys outside `allowed`: a typo must not silently fall back to a default.
  void only(std::initializer_list<const char*> allowed) const {
    DEC_CHECK(node.IsMap(), ConfigError, kWhat, where(), "expected a mapping");
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      DEC_CHECK(ok.count(k), ConfigError, kWhat, where(k), "unknown field");
    }
  }

  std::string text() const {
    DEC_CHECK(node.IsScalar(), ConfigError, kWhat, where(), "expected a single value");
    return node.as<std::string>();
  }
  template <typename T>
  T as(const char* type) const {
    DEC_CHECK(node.IsScalar(), ConfigError, kWhat, where(), "expected ", type);
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      throw ConfigError(kWhat, where(), str("expected ", type, ", got '", node.as<std::string>(), "'"));
    }
  }
  size_t seq_size() const {
    DEC_CHECK(node.IsSequence(), ConfigError, kWhat, where(), "expected a list");
    return node.size();
  }
};

Node parse_node(const Field& f) {
  f.only({"name", "tier", "speed", "profile", "memory", "accelerator"});
  Node n;
  n.name = f.child("name").text();
  const std::string tier = f.child("tier").text();
  auto t = parse_tier(tier);
  DEC_CHECK(t.has_value(), ConfigError, kWhat, f.where("tier"), "unknown tier '", tier,
            "' (expected device, edge or cloud)");
  n.tier = *t;
  // Both may be given: the profile then plans, and the speed is what `--emulate` paces.
  DEC_CHECK(f.has("speed") || f.has("profile"), ConfigError, kWhat, f.where("speed"),
            "give 'speed' (a factor on the reference profile) or 'profile' (a file), or both");
  if (f.has("speed")) n.speed = f.child("speed").as<double>("a number");
  if (f.has("profile")) n.profile = f.child("profile").text();
  Field mem = f.child("memory");
  n.memory_bytes = parse_bytes(mem.text(), mem.where());
  if (f.has("accelerator")) n.accelerator = f.child("accelerator").text();
  return n;
}

Link parse_link(const Field& f) {
  f.only({"between", "bandwidth", "latency"});
  Link l;
  Field ends = f.child("between");
  DEC_CHECK(ends.seq_size() == 2, ConfigError, kWhat, ends.where(),
            "a link has exactly two endpoints: between: [a, b]");
  l.a = ends.item(0).text();
  l.b = ends.item(1).text();
  Field bw = f.child("bandwidth");
  l.bandwidth_mbps = parse_mbps(bw.text(), bw.where());
  Field lat = f.child("latency");
  l.latency_s = parse_seconds(lat.text(), lat.where());
  return l;
}

DataSource parse_source(const Field& f) {
  f.only({"node", "share"});
  DataSource d;
  d.node = f.child("node").text();
  d.share = f.child("share").as<double>("a number");
  return d;
}

Training parse_training(const Field& f) {
  f.only({"batch", "micro_batches", "optimizer_state_factor"});
  Training t;
  t.batch = f.child("batch").as<int64_t>("an integer");
  if (f.has("micro_batches")) t.micro_batches = f.child("micro_batches").as<int>("an integer");
  if (f.has("optimizer_state_factor"))
    t.optimizer_state_factor = f.child("optimizer_state_factor").as<double>("a number");
  return t;
}

}  // namespace

ClusterSpec parse_cluster(const std::string& yaml_text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(kWhat, str(file, ":", e.mark.line + 1), e.msg);
  }
  Field top{root, "", &file};
  DEC_CHECK(root.IsMap(), ConfigError, kWhat, file, "the top level must be a mapping");
  ClusterSpec s;
  // The version first: a newer file's fields would otherwise read as unknown ones.
  s.format_version = top.child("format_version").as<int>("an integer");
  check_format_version<ConfigError>(s.format_version, kClusterFormatVersion, kClusterFormatVersion,
                                    "cluster spec", file.empty() ? "format_version" : file);
  top.only({"format_version", "name", "nodes", "links", "data", "training"});
  if (top.has("name")) s.name = top.child("name").text();
  Field nodes = top.child("nodes");
  for (size_t i = 0; i < nodes.seq_size(); ++i) s.nodes.push_back(parse_node(nodes.item(i)));
  if (top.has("links")) {
    Field links = top.child("links");
    for (size_t i = 0; i < links.seq_size(); ++i) s.links.push_back(parse_link(links.item(i)));
  }
  Field data = top.child("data");
  for (size_t i = 0; i < data.seq_size(); ++i) s.data.push_back(parse_source(data.item(i)));
  s.training = parse_training(top.child("training"));
  validate(s, file);
  s.written_share_sum = 0;
  for (const DataSource& d : s.data) s.written_share_sum += d.share;
  for (DataSource& d : s.data) d.share /= s.written_share_sum;
  return s;
}

ClusterSpec load_cluster(const std::string& path) {
  ClusterSpec s = parse_cluster(read_file(path), path);
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (auto& n : s.nodes) {
    if (!n.profile.empty() && std::filesystem::path(n.profile).is_relative())
      n.profile = (dir / n.profile).lexically_normal().string();
  }
  return s;
}

std::string share_warning(const ClusterSpec& spec) {
  const double sum = spec.written_share_sum;
  if (std::fabs(sum - 1) <= kShareSumMargin) return "";
  return str("the shares sum to ", sum, "; each is taken as a weight, its fraction of the batch share / ", sum);
}

}  // namespace dec::cluster
