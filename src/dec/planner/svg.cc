#include "dec/planner/svg.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "dec/core/units.h"

namespace dec::planner {
namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

const char* tier_color(const std::string& tier) {
  if (tier == "device") return "#8fbc8f";
  if (tier == "edge") return "#6fa8dc";
  return "#c9a0dc";
}

}  // namespace

std::string render_svg(const Plan& p) {
  const double W = 960, left = 170, right = 30, row = 28;
  const int L = static_cast<int>(p.blocks.size());
  std::map<std::string, std::string> tier;
  for (const auto& n : p.nodes) tier[n.name] = n.tier;
  // Earliest arrival of work at each resource: the smallest upstream part of
  // the first micro-batch over the paths that use it.
  std::map<std::string, double> start;
  for (const auto& q : p.paths) {
    double t = 0;
    for (size_t j = 0; j < q.nodes.size(); ++j) {
      if (!q.ranges[j].empty() && (!start.count(q.nodes[j]) || t < start[q.nodes[j]])) start[q.nodes[j]] = t;
      t += q.node_s[j];
      if (j < q.hop_s.size()) {
        const std::string link = q.nodes[j] + "-" + q.nodes[j + 1];
        if (!start.count(link) || t < start[link]) start[link] = t;
        t += q.hop_s[j];
      }
    }
  }
  std::vector<std::tuple<std::string, double, double, double, const char*>> bars;  // name, start, busy, sync, color
  for (const auto& n : p.nodes)
    if (n.compute_s > 0) bars.emplace_back(n.name, start[n.name], n.compute_s, 0, tier_color(n.tier));
  for (const auto& l : p.links) {
    if (l.seconds <= 0) continue;
    const double sync = l.seconds * l.sync_bytes / std::max(1e-300, l.activation_bytes + l.sync_bytes);
    bars.emplace_back(l.name, start.count(l.name) ? start[l.name] : 0, l.seconds, sync, "#f6b26b");
  }
  double horizon = p.prediction.iteration_s;
  for (const auto& b : bars) horizon = std::max(horizon, std::get<1>(b) + std::get<2>(b));
  horizon = std::max(horizon, 1e-9);
  const double paths_h = 40 + row * static_cast<double>(p.paths.size());
  const double time_top = paths_h + 50;
  const double H = time_top + 30 + row * static_cast<double>(bars.size()) + 40;
  const double span = W - left - right;
  auto x_of = [&](double t) { return left + span * t / horizon; };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">" << esc(p.kind) << " plan: "
    << esc(p.model) << " on " << esc(p.cluster) << ", " << esc(format_seconds(p.prediction.iteration_s))
    << " per iteration (batch " << p.batch << ")</text>\n";
  // Paths: each node's share of the chain drawn to scale over [0, L).
  for (size_t i = 0; i < p.paths.size(); ++i) {
    const PlanPath& q = p.paths[i];
    const double y = 40 + row * static_cast<double>(i);
    o << "<text x=\"10\" y=\"" << y + 16 << "\">" << i + 1 << ". " << esc(q.source) << ": " << q.samples
      << " samples</text>\n";
    for (size_t j = 0; j < q.nodes.size(); ++j) {
      const BlockRange& r = q.ranges[j];
      if (r.empty()) continue;
      const double x0 = left + span * r.begin / L, x1 = left + span * r.end / L;
      o << "<rect x=\"" << x0 << "\" y=\"" << y << "\" width=\"" << x1 - x0 << "\" height=\"" << row - 6
        << "\" fill=\"" << tier_color(tier[q.nodes[j]]) << "\" stroke=\"#333\"/>\n";
      o << "<text x=\"" << x0 + 4 << "\" y=\"" << y + 15 << "\">" << esc(q.nodes[j]) << " " << r.begin << ".."
        << r.end - 1 << "</text>\n";
    }
  }
  o << "<text x=\"10\" y=\"" << time_top - 10 << "\" font-weight=\"bold\">One iteration: busy time per node"
    << " and link (orange: transfers, red: gradient sync)</text>\n";
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& [name, s, busy, sync, color] = bars[i];
    const double y = time_top + row * static_cast<double>(i);
    o << "<text x=\"10\" y=\"" << y + 15 << "\">" << esc(name) << "</text>\n";
    o << "<rect x=\"" << x_of(s) << "\" y=\"" << y << "\" width=\"" << x_of(s + busy - sync) - x_of(s)
      << "\" height=\"" << row - 8 << "\" fill=\"" << color << "\"/>\n";
    if (sync > 0) {
      o << "<rect x=\"" << x_of(s + busy - sync) << "\" y=\"" << y << "\" width=\"" << x_of(s + busy) - x_of(s + busy - sync)
        << "\" height=\"" << row - 8 << "\" fill=\"#cc4125\"/>\n";
    }
    o << "<text x=\"" << x_of(s + busy) + 4 << "\" y=\"" << y + 15 << "\" fill=\"#555\">"
      << esc(format_seconds(busy)) << "</text>\n";
  }
  const double xe = x_of(p.prediction.iteration_s), yb = time_top + row * static_cast<double>(bars.size());
  o << "<line x1=\"" << xe << "\" y1=\"" << time_top - 5 << "\" x2=\"" << xe << "\" y2=\"" << yb
    << "\" stroke=\"black\" stroke-dasharray=\"4,3\"/>\n";
  o << "<text x=\"" << std::max(left, xe - 140) << "\" y=\"" << yb + 16 << "\">predicted iteration "
    << esc(format_seconds(p.prediction.iteration_s)) << "</text>\n";
  o << "</svg>\n";
  return o.str();
}

}  // namespace dec::planner
