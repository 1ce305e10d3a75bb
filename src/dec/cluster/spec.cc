#include "dec/cluster/spec.h"

namespace dec::cluster {

const char* tier_name(Tier t) {
  switch (t) {
    case Tier::kDevice:
      return "device";
    case Tier::kEdge:
      return "edge";
    case Tier::kCloud:
      return "cloud";
  }
  return "?";
}

std::optional<Tier> parse_tier(const std::string& s) {
  if (s == "device") return Tier::kDevice;
  if (s == "edge") return Tier::kEdge;
  if (s == "cloud") return Tier::kCloud;
  return std::nullopt;
}

int ClusterSpec::node_index(const std::string& n) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].name == n) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace dec::cluster
