#include "dec/report/comparison.h"

#include <algorithm>
#include <cmath>

#include "dec/core/stats.h"

namespace dec::report {

namespace {

double divide(double a, double b) {
  if (!std::isfinite(a) || !std::isfinite(b) || b <= 0) return std::nan("");
  return a / b;
}

// Two plans run the same paths: sources, routes, block ranges and samples.
bool same_paths(const planner::Plan& a, const planner::Plan& b) {
  if (!a.feasible || a.paths.size() != b.paths.size()) return false;
  for (size_t i = 0; i < a.paths.size(); ++i) {
    const planner::PlanPath &p = a.paths[i], &q = b.paths[i];
    if (p.source != q.source || p.nodes != q.nodes || p.ranges != q.ranges || p.samples != q.samples)
      return false;
  }
  return true;
}

// How many of n iterations steady_mean() averages.
int64_t steady_count(size_t n) {
  return static_cast<int64_t>(n > kWarmupIterations ? n - kWarmupIterations : n);
}

int tier_rank(const std::string& tier) {
  if (tier == "device") return 0;
  if (tier == "edge") return 1;
  if (tier == "cloud") return 2;
  return 3;
}

}  // namespace

double mean_measured_s(const RunRecord& run, int64_t* count) {
  std::vector<double> times;
  for (const auto& it : run.iterations) {
    if (std::isfinite(it.measured_s)) times.push_back(it.measured_s);
  }
  if (count != nullptr) *count = steady_count(times.size());
  return steady_mean(times);
}

std::vector<TimeRow> compare_times(const RunRecord& run) {
  std::vector<TimeRow> rows;
  double predicted = std::nan("");
  if (run.plan) {
    predicted = run.plan->prediction.iteration_s;
  } else {
    for (const auto& it : run.iterations) {
      if (std::isfinite(it.predicted_s)) predicted = it.predicted_s;
    }
  }
  if (run.plan || std::isfinite(predicted) || !run.baselines.empty()) {
    TimeRow dec;
    dec.kind = "dec";
    dec.predicted_s = predicted;
    dec.measured_s = run.single_node ? std::nan("") : mean_measured_s(run, &dec.iterations);
    if (run.single_node) dec.iterations = 0;
    rows.push_back(dec);
  }
  if (run.plan) {
    for (const auto& b : run.plan->baselines) {
      TimeRow row;
      row.kind = b.kind;
      row.predicted_s = b.feasible ? b.prediction.iteration_s : std::nan("");
      row.measured_s = std::nan("");
      row.note = b.note;
      row.same_plan_as_dec = same_paths(b, *run.plan);
      rows.push_back(row);
    }
  }
  for (const auto& b : run.baselines) {
    auto it = std::find_if(rows.begin() + 1, rows.end(),
                           [&](const TimeRow& r) { return r.kind == b.kind; });
    if (it == rows.end()) {
      rows.push_back(TimeRow{b.kind, std::nan(""), std::nan(""), 0, "", 0, 0, 0});
      it = rows.end() - 1;
    }
    if (std::isfinite(b.predicted_s)) it->predicted_s = b.predicted_s;
    it->measured_s = b.measured_s;
    it->iterations = std::isfinite(b.measured_s) ? b.iterations : 0;
    if (!b.note.empty()) it->note = b.note;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    TimeRow& r = rows[i];
    r.ratio = divide(r.measured_s, r.predicted_s);
    r.predicted_speedup = i == 0 ? std::nan("") : divide(r.predicted_s, rows[0].predicted_s);
    r.measured_speedup = i == 0 ? std::nan("") : divide(r.measured_s, rows[0].measured_s);
  }
  return rows;
}

std::vector<std::string> node_order(const RunRecord& run) {
  std::vector<std::string> names;
  auto add = [&names](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  if (run.plan) {
    std::vector<const planner::NodeReport*> nodes;
    for (const auto& n : run.plan->nodes) nodes.push_back(&n);
    std::stable_sort(nodes.begin(), nodes.end(), [](const auto* a, const auto* b) {
      return tier_rank(a->tier) < tier_rank(b->tier);
    });
    for (const auto* n : nodes) add(n->name);
  }
  if (run.trace) {
    for (const auto& [name, spans] : run.trace->nodes) add(name);
  }
  for (const auto& it : run.iterations) {
    for (const auto& [name, t] : it.nodes) add(name);
  }
  return names;
}

}  // namespace dec::report
