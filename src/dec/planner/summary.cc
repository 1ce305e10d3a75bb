#include "dec/planner/summary.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "dec/core/units.h"

namespace dec::planner {
namespace {

std::string ranges_text(const std::vector<BlockRange>& rs) {
  if (rs.empty()) return "-";
  std::string s;
  for (const auto& r : rs) s += (s.empty() ? "" : " ") + std::to_string(r.begin) + ".." + std::to_string(r.end - 1);
  return s;
}

std::string range_text(const BlockRange& r) {
  if (r.empty()) return "(forward)";
  return "[" + std::to_string(r.begin) + "," + std::to_string(r.end) + ")";
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

std::string summarize(const Plan& p) {
  std::ostringstream o;
  const Prediction& d = p.prediction;
  o << "DEC plan for model '" << p.model << "' on cluster '" << p.cluster << "': "
    << format_seconds(d.iteration_s) << " per iteration (batch " << p.batch << ", "
    << p.micro_batches << " micro-batches per path)\n";
  o << "  time = " << d.bottleneck_kind << " " << d.bottleneck << " busy " << format_seconds(d.load_s);
  if (d.sync_s > 0 && d.bottleneck_kind == "link") {
    o << " (of which gradient sync " << format_seconds(d.sync_s) << ")";
  } else if (d.sync_s > 0) {
    o << " + the gradient sync after it " << format_seconds(d.sync_s);
  }
  if (d.path >= 0) {
    o << " + pipeline fill/drain " << format_seconds(d.fill_s) << " + latency " << format_seconds(d.latency_s);
    if (d.overlap_s > 0) o << " - overlapped with its own micro-batches " << format_seconds(d.overlap_s);
    o << " (path " << d.path + 1 << ")";
  }
  o << "\n";
  if (p.solver) {
    const SolverReport& s = *p.solver;
    o << "  solver: " << s.status << ", bound "
      << (std::isfinite(s.bound) ? format_seconds(s.bound) : std::string("unknown")) << ", gap "
      << (std::isfinite(s.gap) ? fmt("%.2f%%", 100 * s.gap) : std::string("unknown")) << ", "
      << fmt("%.2f s", s.seconds) << "; plan from " << s.method << "\n";
    o << "  bound: " << s.bound_method << "\n";
    if (!s.simpler.empty()) o << "  chosen: " << s.simpler << "\n";
  }
  // Each source's share, as normalised (cluster/validate.h): the first few.
  constexpr size_t kShown = 8;
  o << "  data:";
  for (size_t i = 0; i < p.data.size() && i < kShown; ++i)
    o << (i ? ", " : " ") << p.data[i].node << " " << fmt("%.4g", p.data[i].share) << " (" << p.data[i].samples << ")";
  if (p.data.size() > kShown) o << ", and " << p.data.size() - kShown << " more sources";
  o << "\n";
  o << "\nPaths\n";
  for (size_t i = 0; i < p.paths.size(); ++i) {
    const PlanPath& q = p.paths[i];
    std::string route;
    for (size_t j = 0; j < q.nodes.size(); ++j)
      route += (j ? " -> " : "") + q.nodes[j] + " " + range_text(q.ranges[j]);
    o << "  " << i + 1 << ". " << pad(std::to_string(q.samples) + " samples", 12) << " x"
      << q.micro_batches << " mb  " << route << "  fill " << format_seconds(q.fill_s) << "\n";
  }
  o << "\nNodes" << std::string(12, ' ') << pad("tier", 8) << pad("blocks", 18) << pad("samples", 9)
    << pad("compute", 12) << "memory / cap\n";
  for (const auto& n : p.nodes) {
    o << "  " << pad(n.name, 15) << pad(n.tier, 8) << pad(ranges_text(n.blocks), 18)
      << pad(std::to_string(n.samples), 9) << pad(format_seconds(n.compute_s), 12)
      << format_bytes(n.memory_bytes) << " / " << format_bytes(n.memory_cap_bytes) << "\n";
  }
  o << "\nLinks" << std::string(20, ' ') << pad("activations", 14) << pad("sync", 12) << pad("seconds", 12)
    << "bandwidth, latency\n";
  for (const auto& l : p.links) {
    o << "  " << pad(l.name, 23) << pad(format_bytes(l.activation_bytes), 14) << pad(format_bytes(l.sync_bytes), 12)
      << pad(format_seconds(l.seconds), 12) << format_mbps(l.bandwidth_mbps) << ", " << format_seconds(l.latency_s)
      << "\n";
  }
  if (!p.baselines.empty()) {
    o << "\nBaselines" << std::string(9, ' ') << pad("predicted", 14) << "DEC speedup\n";
    for (const auto& b : p.baselines) {
      o << "  " << pad(b.kind, 16);
      if (b.paths.empty()) {
        o << "n/a (" << b.note << ")\n";
        continue;
      }
      o << pad(format_seconds(b.prediction.iteration_s), 14)
        << fmt("%.2fx", b.prediction.iteration_s / d.iteration_s);
      if (!b.feasible) o << "  (" << b.note << ")";
      o << "\n";
    }
  }
  return o.str();
}

}  // namespace dec::planner
