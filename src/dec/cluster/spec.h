// The cluster spec: who takes part (nodes), how they are connected (links),
// where the data is (sources) and how one iteration is shaped (training).
// docs/cluster.md specifies the YAML form and its versions.
//
// This header is plain data. load.h turns a YAML file into a ClusterSpec and
// validates it; validate.h holds the checks so specs built in code (tests,
// benchmarks) pass the same gate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dec::cluster {

// The only version there has been; the reader refuses any other (load.h).
inline constexpr int kClusterFormatVersion = 1;

enum class Tier { kDevice, kEdge, kCloud };

const char* tier_name(Tier t);
// Parses "device", "edge" or "cloud"; returns nullopt for anything else.
std::optional<Tier> parse_tier(const std::string& s);

struct Node {
  std::string name;
  Tier tier = Tier::kDevice;
  // Compute: either a speed factor applied to the reference profile (1 = the
  // machine the reference profile was measured on, 0.01 = a hundred times
  // slower), or the path of a profile measured on this node (relative paths
  // are resolved against the spec file's folder by load_cluster).
  double speed = 1;
  std::string profile;          // empty: use speed
  double memory_bytes = 0;      // cap for parameters, gradients, optimizer state, activations
  std::string accelerator;      // free text, e.g. "none", "jetson-nano", "a100"; informational
};

struct Link {
  std::string a, b;             // endpoint node names
  double bandwidth_mbps = 0;    // Mbit/s, each direction (links are full duplex)
  double latency_s = 0;         // one way
};

struct DataSource {
  std::string node;             // the node that holds (produces) this data
  double share = 0;             // its fraction of the global batch per iteration; written as a
                                // weight, normalised by the loader so that the shares sum to 1
};

struct Training {
  int64_t batch = 0;            // global batch B: samples per synchronous iteration
  int micro_batches = 1;        // micro-batches each path's samples are split into (GPipe)
  // Optimizer state bytes per parameter byte (Adam: 2, SGD with momentum: 1,
  // plain SGD: 0). Unset: use the profile's optim_bytes.
  std::optional<double> optimizer_state_factor;
};

struct ClusterSpec {
  int format_version = kClusterFormatVersion;
  std::string name;
  std::vector<Node> nodes;
  std::vector<Link> links;
  std::vector<DataSource> data;
  Training training;
  double written_share_sum = 1;  // the data shares as the file wrote them, summed

  // Index of the node called `name`, or -1.
  int node_index(const std::string& name) const;
};

}  // namespace dec::cluster
