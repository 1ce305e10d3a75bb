#include "dec/cli/workloads.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "dec/core/error.h"
#include "dec/core/format_version.h"
#include "dec/core/file.h"

namespace dec::cli {

namespace {

constexpr const char* kWhat = "invalid workloads file";

// A mapping and its place in the file, so that each error names the field.
struct Entry {
  YAML::Node node;
  std::string file;
  std::string path;  // "workloads[1].demo"; "" for the top level

  std::string where() const { return path.empty() ? file : file + ": " + path; }
  std::string where(const std::string& key) const {
    return file + ": " + (path.empty() ? key : path + "." + key);
  }
  Entry child(const char* key) const {
    DEC_CHECK(node[key].IsDefined() && !node[key].IsNull(), ConfigError, kWhat, where(key),
              "missing required field");
    return {node[key], file, path.empty() ? std::string(key) : path + "." + key};
  }

  void only(std::initializer_list<const char*> allowed) const {
    DEC_CHECK(node.IsMap(), ConfigError, kWhat, where(), "expected a mapping");
    const std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      DEC_CHECK(ok.count(key), ConfigError, kWhat, where(key), "unknown field");
    }
  }
  template <typename T>
  T get(const char* key, const char* type) const {
    const YAML::Node v = child(key).node;
    DEC_CHECK(v.IsScalar(), ConfigError, kWhat, where(key), "expected ", type);
    try {
      return v.as<T>();
    } catch (const YAML::Exception&) {
      throw ConfigError(kWhat, where(key), str("expected ", type, ", got '", v.as<std::string>(), "'"));
    }
  }
};

Workload parse_workload(const Entry& e) {
  e.only({"id", "what", "model", "input", "classes", "batch", "micro_batch", "dataset", "demo"});
  Workload w;
  w.id = e.get<std::string>("id", "a name");
  w.what = e.get<std::string>("what", "a description");
  w.model = e.get<std::string>("model", "a zoo model");
  w.input = e.get<std::string>("input", "a shape such as 3x96x96");
  w.classes = e.get<int64_t>("classes", "an integer");
  w.batch = e.get<int64_t>("batch", "an integer");
  w.micro_batch = e.get<int64_t>("micro_batch", "an integer");
  w.dataset = e.get<std::string>("dataset", "fashion-mnist or synthetic");
  DEC_CHECK(w.classes > 0 && w.batch > 0 && w.micro_batch > 0 && w.micro_batch <= w.batch,
            ConfigError, kWhat, e.where(), "classes, batch and micro_batch must be positive, "
            "micro_batch at most batch");
  DEC_CHECK(w.dataset == "fashion-mnist" || w.dataset == "synthetic", ConfigError, kWhat,
            e.where("dataset"), "expected fashion-mnist or synthetic, got '", w.dataset, "'");
  const Entry demo = e.child("demo");
  demo.only({"epochs", "eval_samples"});
  w.demo_epochs = demo.get<double>("epochs", "a number");
  w.demo_eval_samples = demo.get<int64_t>("eval_samples", "an integer");
  DEC_CHECK(w.demo_epochs > 0 && w.demo_eval_samples >= 0, ConfigError, kWhat, demo.where(),
            "epochs must be positive and eval_samples at least 0");
  return w;
}

}  // namespace

std::vector<Workload> load_workloads(const std::string& path) {
  const std::string text = read_file(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(kWhat, path, e.what());
  }
  const Entry top{root, path, ""};
  DEC_CHECK(root.IsMap(), ConfigError, kWhat, path, "the top level must be a mapping");
  // The version first: a newer file's fields would otherwise read as unknown ones.
  const int version = top.get<int>("format_version", "an integer");
  check_format_version<ConfigError>(version, kWorkloadsFormatVersion, kWorkloadsFormatVersion, "workloads",
                                    path);
  top.only({"format_version", "workloads"});
  const Entry list = top.child("workloads");
  DEC_CHECK(list.node.IsSequence() && list.node.size() > 0, ConfigError, kWhat, list.where(),
            "expected a non-empty list");
  std::vector<Workload> out;
  std::set<std::string> ids;
  for (size_t i = 0; i < list.node.size(); ++i) {
    const Entry item{list.node[i], path, str("workloads[", i, "]")};
    out.push_back(parse_workload(item));
    DEC_CHECK(ids.insert(out.back().id).second, ConfigError, kWhat, item.where("id"), "'",
              out.back().id, "' is defined twice");
  }
  return out;
}

const Workload& find_workload(const std::vector<Workload>& workloads, const std::string& id,
                              const std::string& where, const std::string& file) {
  std::string known;
  for (const auto& w : workloads) {
    if (w.id == id) return w;
    known += (known.empty() ? "" : ", ") + w.id;
  }
  throw ConfigError("unknown workload", where, str("'", id, "'; ", file, " defines ", known));
}

}  // namespace dec::cli
