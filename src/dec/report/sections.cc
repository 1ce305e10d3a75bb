#include "dec/report/sections.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "dec/core/error.h"
#include "dec/core/units.h"
#include "dec/planner/svg.h"
#include "dec/report/chart_data.h"
#include "dec/report/comparison.h"
#include "dec/report/html.h"

namespace dec::report {

namespace {

// A table whose cells are HTML (callers escape text). `align` has one letter
// per column: 'l' text, 'w' text that gets room to wrap (notes), 'r' a number
// (right-aligned, tabular digits). A head of empty names writes no header row.
class Table {
 public:
  Table(std::vector<std::string> head, std::string align)
      : head_(std::move(head)), align_(std::move(align)) {
    DEC_ASSERT(align_.size() == head_.size(), "align '", align_, "' for ", head_.size(),
               " columns");
  }
  void row(std::vector<std::string> cells) {
    DEC_ASSERT(cells.size() == head_.size(), cells.size(), " cells for ", head_.size(), " columns");
    rows_.push_back(std::move(cells));
  }
  bool empty() const { return rows_.empty(); }
  std::string html() const {
    std::string o = "<table>\n";
    if (std::any_of(head_.begin(), head_.end(), [](const std::string& h) { return !h.empty(); })) {
      o += "<thead><tr>";
      for (size_t c = 0; c < head_.size(); ++c) o += cell("th", c, escape_html(head_[c]));
      o += "</tr></thead>\n";
    }
    o += "<tbody>\n";
    for (const auto& r : rows_) {
      o += "<tr>";
      for (size_t c = 0; c < r.size(); ++c) o += cell("td", c, r[c]);
      o += "</tr>\n";
    }
    return o + "</tbody>\n</table>\n";
  }

 private:
  std::string cell(const char* tag, size_t c, const std::string& html) const {
    const char* cls = align_[c] == 'r'   ? " class=\"num\""
                      : align_[c] == 'w' ? " class=\"wide\""
                                         : "";
    return str("<", tag, cls, ">", html, "</", tag, ">");
  }
  std::vector<std::string> head_;
  std::string align_;
  std::vector<std::vector<std::string>> rows_;
};

std::string missing(const std::string& html) { return "<p class=\"missing\">" + html + "</p>\n"; }

std::string seconds(double s) {
  if (!std::isfinite(s)) return "-";
  return s == 0 ? "0" : escape_html(format_seconds(s));
}
std::string bytes(double b) { return std::isfinite(b) ? escape_html(format_bytes(b)) : "-"; }
std::string percent(double fraction) {
  if (!std::isfinite(fraction)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * fraction);
  return buf;
}
std::string fixed2(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}
std::string times_x(double r) { return std::isfinite(r) ? fixed2(r) + "&times;" : "-"; }

std::string canvas(const std::string& id, int height_px, const std::string& caption) {
  return str("<figure class=\"chart\"><div class=\"chart-box\" style=\"height:", height_px,
             "px\"><canvas id=\"", id, "\"></canvas></div><figcaption>", caption,
             "</figcaption></figure>\n");
}

std::string section(const std::string& id, const std::string& title, const std::string& body) {
  return str("<section id=\"", id, "\">\n<h2>", escape_html(title), "</h2>\n", body,
             "</section>\n");
}

// "2..5 (conv2 .. fc1)" for [2, 6) (block indices, then names); "forwards" for
// an empty range: the node runs no blocks of that path, only passes its data on.
std::string range_text(const planner::Plan& p, const planner::BlockRange& r) {
  if (r.empty()) return "forwards";
  std::string o = r.end - r.begin == 1 ? str(r.begin) : str(r.begin, "..", r.end - 1);
  const int L = static_cast<int>(p.blocks.size());
  if (r.begin >= 0 && r.end <= L) {
    o += " (" + p.blocks[r.begin];
    if (r.end - r.begin > 1) o += " .. " + p.blocks[r.end - 1];
    o += ")";
  }
  return escape_html(o);
}

}  // namespace

std::string format_utc(double unix_seconds) {
  if (!std::isfinite(unix_seconds)) return "-";
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string summary_section(const RunRecord& run) {
  std::string run_table;
  if (run.summary.empty()) {
    run_table =
        missing("No <code>summary</code> event: the run's scenario and settings are not recorded.");
  } else {
    Table t({"", ""}, "ll");
    for (const auto& [k, v] : run.summary) t.row({escape_html(k), escape_html(v)});
    run_table = t.html();
  }
  Table r({"", ""}, "ll");  // no header: a list of facts
  r.row({"metrics file", "<code>" + escape_html(run.source) + "</code>"});
  if (std::isfinite(run.first_time)) {
    r.row({"recorded", escape_html(format_utc(run.first_time)) + " to " +
                           escape_html(format_utc(run.last_time)) + " (" +
                           seconds(run.last_time - run.first_time) + ")"});
  }
  if (!run.iterations.empty()) {
    r.row({run.single_node ? "steps (single node)" : "iterations",
           str(run.iterations.size(), " (steps ", run.iterations.front().step, " to ",
               run.iterations.back().step, ")")});
    r.row({"final training loss", format_number(run.iterations.back().loss, 4)});
  }
  if (!run.epochs.empty()) {
    r.row({"epochs evaluated", str(run.epochs.size())});
    r.row({"final test accuracy", percent(run.epochs.back().test_accuracy) + " (test loss " +
                                      format_number(run.epochs.back().test_loss, 4) + ")"});
  }
  int64_t n = 0;
  const double measured = mean_measured_s(run, &n);
  if (std::isfinite(measured)) {
    // The iterations with a time that mean_measured_s() left out (warm-up, core/stats.h).
    const int64_t left_out =
        std::count_if(run.iterations.begin(), run.iterations.end(),
                      [](const Iteration& it) { return std::isfinite(it.measured_s); }) - n;
    const std::string left = left_out == 1  ? ", the first left out"
                             : left_out > 1 ? str(", the first ", left_out, " left out")
                                            : "";
    r.row({run.single_node ? "mean step time" : "measured iteration (mean)",
           seconds(measured) + str(" (", n, n == 1 ? " iteration" : " iterations", left, ")")});
  }
  const std::vector<TimeRow> rows = compare_times(run);
  if (!rows.empty()) {
    r.row({"predicted iteration", seconds(rows[0].predicted_s)});
    r.row({"measured / predicted", fixed2(rows[0].ratio)});
    const TimeRow* best = nullptr;
    for (size_t i = 1; i < rows.size(); ++i) {
      if (std::isfinite(rows[i].measured_s) && !rows[i].same_plan_as_dec &&
          (best == nullptr || rows[i].measured_s < best->measured_s))
        best = &rows[i];
    }
    if (best != nullptr) {
      r.row({"DEC speedup, measured", times_x(best->measured_speedup) + " over " +
                                          escape_html(best->kind) +
                                          ", the fastest other plan run"});
    }
  }
  if (run.ignored > 0) r.row({"other lines", str(run.ignored, " with other events (not shown)")});
  return section("summary", "Summary",
                 "<div class=\"two-col\">\n<div><h3>Run</h3>\n" + run_table +
                     "</div>\n<div><h3>Results</h3>\n" + r.html() + "</div>\n</div>\n");
}

std::string plan_section(const RunRecord& run) {
  if (!run.plan) {
    return section("plan", "Plan",
                   missing("No <code>plan</code> event: the plan is not shown. "
                           "Distributed jobs record it first; a single-node run (<code>dec "
                           "train</code>) has none."));
  }
  const planner::Plan& p = *run.plan;
  std::string o;
  o += str("<p class=\"lead\"><b>", escape_html(p.model), "</b> on <b>", escape_html(p.cluster),
           "</b>: batch ", p.batch, ", ", p.micro_batches, " micro-batches per path, predicted <b>",
           seconds(p.prediction.iteration_s), "</b> per iteration, set by ",
           escape_html(p.prediction.bottleneck_kind), " <b>", escape_html(p.prediction.bottleneck),
           "</b> (load ", seconds(p.prediction.load_s), ", pipeline fill ",
           seconds(p.prediction.fill_s),
           p.prediction.overlap_s > 0 ? str(", less ", seconds(p.prediction.overlap_s), " overlapped") : "",
           ").");
  if (p.solver) {
    o += str(" Solver: ", escape_html(p.solver->status), ", gap ", percent(p.solver->gap), ", ",
             seconds(p.solver->seconds), " (", escape_html(p.solver->method), ").");
  }
  o += "</p>\n<div class=\"svg-wrap\">\n" + planner::render_svg(p) + "</div>\n";

  Table paths(
      {"#", "source", "route: node and the blocks it runs", "samples", "micro-batches", "fill"},
      "lllrrr");
  for (size_t i = 0; i < p.paths.size(); ++i) {
    const planner::PlanPath& q = p.paths[i];
    std::string route;
    for (size_t j = 0; j < q.nodes.size(); ++j) {
      if (j > 0) route += " &rarr; ";
      route += "<b>" + escape_html(q.nodes[j]) + "</b> " + range_text(p, q.ranges[j]);
    }
    paths.row({str(i + 1), escape_html(q.source), route, str(q.samples), str(q.micro_batches),
               seconds(q.fill_s)});
  }
  o += "<h3>Paths</h3>\n" + paths.html();

  Table nodes({"node", "tier", "blocks held", "samples", "compute / iteration", "memory", "cap"},
              "lllrrrr");
  std::vector<const planner::NodeReport*> ordered;
  for (const auto& name : node_order(run)) {
    for (const auto& n : p.nodes) {
      if (n.name == name) ordered.push_back(&n);
    }
  }
  for (const auto* n : ordered) {
    std::string held;
    for (const auto& r : n->blocks) held += (held.empty() ? "" : ", ") + range_text(p, r);
    nodes.row({"<b>" + escape_html(n->name) + "</b>", escape_html(n->tier),
               held.empty() ? "-" : held, str(n->samples), seconds(n->compute_s),
               bytes(n->memory_bytes), bytes(n->memory_cap_bytes)});
  }
  o += "<h3>Nodes</h3>\n" + nodes.html();

  Table links({"link", "activations", "gradient sync", "busy / iteration", "bandwidth", "latency"},
              "lrrrrr");
  for (const auto& l : p.links) {
    links.row({escape_html(l.a) + " &ndash; " + escape_html(l.b), bytes(l.activation_bytes),
               bytes(l.sync_bytes), seconds(l.seconds), escape_html(format_mbps(l.bandwidth_mbps)),
               seconds(l.latency_s)});
  }
  if (!links.empty()) o += "<h3>Links (per iteration)</h3>\n" + links.html();
  return section("plan", "Plan", o);
}

std::string timeline_section(const RunRecord& run) {
  if (!run.trace) {
    return section(
        "timeline", "One iteration, measured",
        missing(
            "No <code>trace</code> event: the measured timeline of one iteration is not shown."));
  }
  const Trace& t = *run.trace;
  std::string o =
      str("<p>Step ", t.step,
          ": what each node did, in seconds from the start of the iteration on that node.",
          run.plan ? " The dashed line is the plan's predicted iteration time." : "",
          " Hover a bar for its label.</p>\n");
  const int rows = static_cast<int>(t.nodes.size());  // one per node, idle ones too
  o += canvas("timeline-chart", 90 + 46 * std::max(rows, 1),
              "Compute, send, receive and all-reduce intervals per node.");
  Table busy({"node", "compute", "send", "recv", "allreduce", "other", "last span ends"},
             "lrrrrrr");
  for (const auto& name : node_order(run)) {
    for (const auto& [node, spans] : t.nodes) {
      if (node != name) continue;
      std::map<std::string, double> sum;
      double end = 0;
      for (const auto& s : spans) {
        const bool known =
            s.kind == "compute" || s.kind == "send" || s.kind == "recv" || s.kind == "allreduce";
        sum[known ? s.kind : "other"] += s.end_s - s.start_s;
        end = std::max(end, s.end_s);
      }
      busy.row({"<b>" + escape_html(node) + "</b>", seconds(sum["compute"]), seconds(sum["send"]),
                seconds(sum["recv"]), seconds(sum["allreduce"]), seconds(sum["other"]),
                seconds(end)});
    }
  }
  o += "<h3>Time per kind of work</h3>\n" + busy.html();
  return section("timeline", "One iteration, measured", o);
}

std::string training_section(const RunRecord& run) {
  std::string o = "<div class=\"two-col\">\n";
  const bool any_loss = std::any_of(run.iterations.begin(), run.iterations.end(),
                                    [](const Iteration& it) { return std::isfinite(it.loss); });
  if (any_loss) {
    o += canvas("loss-chart", 320,
                run.single_node ? "Training loss per step; test loss after each epoch."
                                : "Training loss per iteration; test loss after each epoch.");
  } else {
    o +=
        missing("No <code>iteration</code> or <code>step</code> event with a loss: no loss curve.");
  }
  const bool any_accuracy = std::any_of(run.epochs.begin(), run.epochs.end(), [](const Epoch& e) {
    return std::isfinite(e.test_accuracy);
  });
  if (any_accuracy) {
    o += canvas("accuracy-chart", 320, "Test accuracy after each epoch.");
  } else {
    o += missing("No <code>epoch</code> event with a test accuracy: no accuracy curve.");
  }
  o += "</div>\n";
  if (!run.epochs.empty()) {
    Table t({"epoch", "last step", "train loss", "test loss", "test accuracy"}, "rrrrr");
    for (const auto& e : run.epochs) {
      t.row({str(e.epoch + 1), str(e.step), format_number(e.train_loss, 4),
             format_number(e.test_loss, 4), percent(e.test_accuracy)});
    }
    o += "<h3>Epochs</h3>\n" + t.html();
  }
  return section("training", "Training", o);
}

std::string times_section(const RunRecord& run) {
  std::string o;
  const std::vector<TimeRow> rows = compare_times(run);
  if (rows.empty()) {
    o +=
        missing(run.single_node
                    ? "A single-node run: no plan or baselines to compare with."
                    : "No <code>plan</code>, <code>baseline</code> or <code>iteration</code> event "
                      "with a prediction: nothing to compare.");
  } else {
    o += "<p>Mean seconds per iteration, predicted by the cost model and measured, for DEC's plan "
         "and each "
         "baseline. Speedup is the baseline's time over DEC's: above 1, DEC is faster.</p>\n";
    o += canvas("times-chart", 340, "Predicted and measured iteration time per plan.");
    Table t({"plan", "predicted", "measured", "measured / predicted", "iterations",
             "DEC speedup, predicted", "DEC speedup, measured", "note"},
            "lrrrrrrw");
    for (const auto& r : rows) {
      t.row({"<b>" + escape_html(r.kind) + "</b>", seconds(r.predicted_s),
             std::isfinite(r.measured_s) ? seconds(r.measured_s) : "not run", fixed2(r.ratio),
             r.iterations > 0 ? str(r.iterations) : "-", times_x(r.predicted_speedup),
             times_x(r.measured_speedup), escape_html(r.note)});
    }
    o += t.html();
    if (std::none_of(rows.begin(), rows.end(),
                     [](const TimeRow& r) { return std::isfinite(r.measured_s); }))
      o += missing(
          "No measured times: the run has no <code>iteration</code> or <code>baseline</code> "
          "events.");
  }
  const bool any_measured =
      std::any_of(run.iterations.begin(), run.iterations.end(),
                  [](const Iteration& it) { return std::isfinite(it.measured_s); });
  if (any_measured) {
    o += "<h3>Per iteration</h3>\n";
    o += canvas("per-step-chart", 280,
                run.single_node ? "Measured seconds per step."
                                : "Measured and predicted seconds per iteration.");
  }
  const std::vector<NodeBreakdown> parts = node_breakdown(run);
  if (!parts.empty()) {
    o += "<h3>Where each node's time goes</h3>\n";
    o += canvas(
        "breakdown-chart", 90 + 46 * static_cast<int>(parts.size()),
        "Mean seconds per iteration: computing, waiting to receive, waiting on sends, waiting on "
        "gradient sync, other.");
  }
  std::map<std::string, std::pair<double, int>> sent;  // link -> (sum, iterations)
  for (const auto& it : run.iterations) {
    for (const auto& [link, b] : it.bytes_sent) {
      if (!std::isfinite(b)) continue;
      sent[link].first += b;
      sent[link].second += 1;
    }
  }
  if (!sent.empty()) {
    Table t({"from -> to", "mean bytes per iteration", "iterations"}, "lrr");
    for (const auto& [link, s] : sent) {
      std::string name = link;
      const size_t arrow = name.find("->");
      if (arrow != std::string::npos)
        name = name.substr(0, arrow) + " \xe2\x86\x92 " + name.substr(arrow + 2);
      t.row({escape_html(name), bytes(s.first / s.second), str(s.second)});
    }
    o += "<h3>Traffic sent, measured</h3>\n" + t.html();
  }
  return section("times", "Iteration time: predicted and measured", o);
}

}  // namespace dec::report
