// The workloads W1-W3 (docs/workloads.md), read from scenarios/workloads.yaml:
// the one table that `dec demo` and bench/scenarios/run share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dec::cli {

inline constexpr int kWorkloadsFormatVersion = 1;

struct Workload {
  std::string id;        // "W2"
  std::string what;      // "MobileNetV2, 3x96x96"
  std::string model;     // a zoo model
  std::string input;     // sample shape, "3x96x96"; Fashion-MNIST is resized to it
  int64_t classes = 10;
  int64_t batch = 0;        // global batch per iteration
  int64_t micro_batch = 0;  // the profiler's micro-batch
  std::string dataset;      // what the benchmark trains on: fashion-mnist or synthetic
  double demo_epochs = 0;         // `dec demo`'s default length
  int64_t demo_eval_samples = 0;  // test samples `dec demo` evaluates (0: all)
};

// Reads a workloads file. Throws IoError if it cannot be read, ConfigError naming
// "<file>: <field>" for a missing, mistyped or unknown field, and for a
// format_version other than kWorkloadsFormatVersion.
std::vector<Workload> load_workloads(const std::string& path);

// The workload with this id; else a ConfigError naming `where` (the flag) and
// the ids that `file` defines.
const Workload& find_workload(const std::vector<Workload>& workloads, const std::string& id,
                              const std::string& where, const std::string& file);

}  // namespace dec::cli
