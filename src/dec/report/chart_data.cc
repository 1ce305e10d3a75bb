#include "dec/report/chart_data.h"

#include <algorithm>
#include <cmath>

#include "dec/core/error.h"
#include "dec/core/stats.h"
#include "dec/report/comparison.h"

namespace dec::report {

using nlohmann::json;

namespace {

// NaN as null: JSON has no NaN and Chart.js leaves a gap for null.
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// {x: step, y: value} points, averaged over buckets of consecutive entries so
// that at most max_points remain; entries with a non-finite value are skipped.
json series(const std::vector<std::pair<double, double>>& xy, int max_points, int* bucket_out) {
  std::vector<std::pair<double, double>> finite;
  for (const auto& p : xy) {
    if (std::isfinite(p.second)) finite.push_back(p);
  }
  const size_t bucket = std::max<size_t>(1, (finite.size() + max_points - 1) / max_points);
  json out = json::array();
  for (size_t i = 0; i < finite.size(); i += bucket) {
    const size_t end = std::min(finite.size(), i + bucket);
    double sum = 0;
    for (size_t k = i; k < end; ++k) sum += finite[k].second;
    out.push_back({{"x", finite[end - 1].first}, {"y", sum / static_cast<double>(end - i)}});
  }
  if (bucket_out != nullptr) *bucket_out = static_cast<int>(bucket);
  return out;
}

json timeline(const RunRecord& run) {
  if (!run.trace) return nullptr;
  json spans = json::array();
  for (const auto& [node, list] : run.trace->nodes) {
    for (const auto& s : list) {
      spans.push_back({{"node", node},
                       {"kind", s.kind},
                       {"start", s.start_s},
                       {"end", s.end_s},
                       {"label", s.label}});
    }
  }
  std::vector<std::string> nodes;
  for (const auto& name : node_order(run)) {
    for (const auto& [node, list] : run.trace->nodes) {
      if (node == name) nodes.push_back(name);
    }
  }
  return {{"step", run.trace->step},
          {"nodes", nodes},
          {"spans", spans},
          {"predicted_s", num(run.plan ? run.plan->prediction.iteration_s : std::nan(""))}};
}

json loss(const RunRecord& run, int max_points) {
  std::vector<std::pair<double, double>> train, test;
  for (const auto& it : run.iterations) train.emplace_back(it.step, it.loss);
  for (const auto& e : run.epochs) test.emplace_back(e.step, e.test_loss);
  int bucket = 1;
  json t = series(train, max_points, &bucket);
  json v = series(test, max_points, nullptr);
  if (t.empty() && v.empty()) return nullptr;
  return {{"train", t}, {"bucket", bucket}, {"test", v}};
}

json accuracy(const RunRecord& run) {
  json labels = json::array(), values = json::array();
  for (const auto& e : run.epochs) {
    if (!std::isfinite(e.test_accuracy)) continue;
    labels.push_back(str("epoch ", e.epoch + 1));
    values.push_back(100 * e.test_accuracy);
  }
  if (values.empty()) return nullptr;
  return {{"labels", labels}, {"accuracy", values}};
}

json times(const RunRecord& run) {
  const std::vector<TimeRow> rows = compare_times(run);
  if (rows.empty()) return nullptr;
  json labels = json::array(), predicted = json::array(), measured = json::array();
  for (const auto& r : rows) {
    labels.push_back(r.kind);
    predicted.push_back(num(r.predicted_s));
    measured.push_back(num(r.measured_s));
  }
  return {{"labels", labels}, {"predicted", predicted}, {"measured", measured}};
}

json per_step(const RunRecord& run, int max_points) {
  std::vector<std::pair<double, double>> measured, predicted;
  for (const auto& it : run.iterations) {
    measured.emplace_back(it.step, it.measured_s);
    predicted.emplace_back(it.step, it.predicted_s);
  }
  int bucket = 1;
  json m = series(measured, max_points, &bucket);
  if (m.empty()) return nullptr;
  return {
      {"measured", m}, {"predicted", series(predicted, max_points, nullptr)}, {"bucket", bucket}};
}

json breakdown(const RunRecord& run) {
  const std::vector<NodeBreakdown> rows = node_breakdown(run);
  if (rows.empty()) return nullptr;
  json nodes = json::array();
  json compute = json::array(), recv = json::array(), send = json::array(), sync = json::array(),
       other = json::array();
  for (const auto& r : rows) {
    nodes.push_back(r.node);
    compute.push_back(num(r.compute_s));
    recv.push_back(num(r.recv_wait_s));
    send.push_back(num(r.send_wait_s));
    sync.push_back(num(r.sync_wait_s));
    other.push_back(num(r.other_s));
  }
  json parts = json::array();
  for (auto& [name, values] : {std::pair<const char*, json*>{"compute", &compute},
                               {"recv wait", &recv},
                               {"send wait", &send},
                               {"sync wait", &sync},
                               {"other", &other}}) {
    parts.push_back(json::object({{"name", name}, {"values", *values}}));
  }
  return json::object({{"nodes", nodes}, {"parts", parts}});
}

}  // namespace

std::vector<NodeBreakdown> node_breakdown(const RunRecord& run) {
  // The iterations mean_measured_s() averages (those with a measured time, the
  // warm-up left out as dec::steady_mean does), among those with per-node times.
  std::vector<const Iteration*> used;
  for (const auto& it : run.iterations) {
    if (std::isfinite(it.measured_s) && !it.nodes.empty()) used.push_back(&it);
  }
  if (used.size() > kWarmupIterations) used.erase(used.begin(), used.begin() + kWarmupIterations);
  std::vector<NodeBreakdown> out;
  for (const auto& name : node_order(run)) {
    NodeBreakdown b;
    b.node = name;
    int n = 0;
    for (const Iteration* it : used) {
      auto f = it->nodes.find(name);
      if (f == it->nodes.end()) continue;
      const NodeTimes& t = f->second;
      auto add = [](double v) { return std::isfinite(v) ? v : 0.0; };
      b.wall_s += add(t.wall_s);
      b.compute_s += add(t.compute_s);
      b.recv_wait_s += add(t.recv_wait_s);
      b.send_wait_s += add(t.send_wait_s);
      b.sync_wait_s += add(t.sync_wait_s);
      ++n;
    }
    if (n == 0) continue;
    for (double* v : {&b.wall_s, &b.compute_s, &b.recv_wait_s, &b.send_wait_s, &b.sync_wait_s})
      *v /= n;
    b.other_s =
        std::max(0.0, b.wall_s - b.compute_s - b.recv_wait_s - b.send_wait_s - b.sync_wait_s);
    out.push_back(b);
  }
  return out;
}

json chart_data(const RunRecord& run, int max_points) {
  DEC_ASSERT(max_points >= 2, "max_points = ", max_points);
  return {{"timeline", timeline(run)},
          {"loss", loss(run, max_points)},
          {"accuracy", accuracy(run)},
          {"times", times(run)},
          {"per_step", per_step(run, max_points)},
          {"breakdown", breakdown(run)}};
}

}  // namespace dec::report
