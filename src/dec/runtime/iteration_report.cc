#include "dec/runtime/iteration_report.h"

#include <algorithm>
#include <numeric>
#include <thread>

#include "dec/core/error.h"
#include "dec/core/stats.h"
#include "dec/runtime/protocol.h"

namespace dec::runtime {

namespace {

using nlohmann::json;

json span_json(const std::vector<Span>& spans) {
  json out = json::array();
  for (const auto& s : spans) {
    out.push_back({{"kind", s.kind}, {"start_s", s.start_s}, {"end_s", s.end_s}, {"label", s.label}});
  }
  return out;
}

json stats_json(const IterationStats& st) {
  return {{"loss_sum", st.loss_sum},       {"loss_samples", st.loss_samples},
          {"wall_s", st.wall_s},           {"compute_s", st.compute_s},
          {"recv_wait_s", st.recv_wait_s}, {"sync_wait_s", st.sync_wait_s},
          {"send_wait_s", st.send_wait_s}};
}

// Bytes this rank sent to each peer (by node name), point-to-point and collective.
json sent_json(const comm::CountersSnapshot& traffic, const ExecPlan& plan) {
  json sent = json::object();
  for (const auto& [peer, t] : traffic.peers) {
    if (t.bytes_sent + t.collective_bytes_sent > 0) {
      sent[plan.nodes[peer]] = t.bytes_sent + t.collective_bytes_sent;
    }
  }
  return sent;
}

}  // namespace

IterationReporter::IterationReporter(const comm::Rendezvous& rv, comm::Store store, const ExecPlan& plan,
                                     std::chrono::milliseconds timeout, MetricsWriter* metrics,
                                     JobObserver* observer, int64_t first_step, int64_t total_steps)
    : rv_(rv),
      store_(std::move(store)),
      plan_(plan),
      timeout_(timeout),
      metrics_(metrics),
      observer_(observer),
      first_step_(first_step),
      total_steps_(total_steps),
      // The third iteration run: past the warm-up, and past the first
      // iteration after it, whose links may still carry warm-up traffic.
      trace_step_(std::min(total_steps, first_step + 3)) {}

IterationReporter::~IterationReporter() {
  stop_ = true;
  if (reading_.valid()) reading_.wait();
}

void IterationReporter::report(int64_t step, int64_t epoch, const IterationStats& stats,
                               const comm::CountersSnapshot& traffic) {
  const json sent = sent_json(traffic, plan_);
  const bool traced = step == trace_step_;
  if (rv_.rank() == 0) {
    finish_pending();
    pending_ = Own{step, epoch, stats, sent, traced};
    reading_ = std::async(std::launch::async, [this, step, traced] { return read_peers(step, traced); });
    if (step == total_steps_) finish_pending();
    return;
  }
  json report = {{"stats", stats_json(stats)}, {"sent", sent}};
  if (traced) report["trace"] = span_json(stats.trace);
  store_.set(keys::iteration(step, rv_.rank()), report.dump());
}

std::vector<IterationReporter::PeerReport> IterationReporter::read_peers(int64_t step, bool traced) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::vector<PeerReport> peers;
  for (int r = 1; r < rv_.world_size(); ++r) {
    const std::string key = keys::iteration(step, r);
    // As Store::wait, from 50 us upwards: a report is usually written within
    // a millisecond of rank 0's own.
    std::chrono::microseconds pause(50);
    while (!store_.check({key})) {
      if (stop_) return {};
      DEC_CHECK(std::chrono::steady_clock::now() < deadline, Timeout, "no iteration report",
                rv_.describe(r), "step ", step, ": none after ", timeout_.count(), " ms (store key ", key, ")");
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
    }
    peers.push_back(read_peer_message(store_.get(key, timeout_), rv_.describe(r), key, [&](const json& j) {
      return PeerReport{j.at("stats").at("loss_sum").get<double>(), j.at("stats").at("wall_s").get<double>(),
                        j.at("stats"), j.at("sent"), traced ? j.at("trace") : json()};
    }));
    store_.native()->deleteKey(key);  // the store lives as long as the job
  }
  return peers;
}

void IterationReporter::finish_pending() {
  if (!pending_) return;
  const Own own = std::move(*pending_);
  pending_.reset();
  publish(own, reading_.get());  // rethrows the read's Timeout or Mismatch
}

void IterationReporter::publish(const Own& own, const std::vector<PeerReport>& peers) {
  const IterationStats& stats = own.stats;
  json trace = json::object(), nodes = json::object(), links = json::object();
  const std::string& me = plan_.nodes[0];
  if (own.traced) trace[me] = span_json(stats.trace);
  double loss_sum = stats.loss_sum, measured = stats.wall_s;
  nodes[me] = stats_json(stats);
  for (const auto& [to, bytes] : own.sent.items()) links[me + "->" + to] = bytes;
  for (size_t k = 0; k < peers.size(); ++k) {
    const PeerReport& pr = peers[k];
    const std::string& node = plan_.nodes[k + 1];
    loss_sum += pr.loss_sum;
    measured = std::max(measured, pr.wall_s);
    nodes[node] = pr.stats;
    if (own.traced) trace[node] = pr.trace;
    for (const auto& [to, bytes] : pr.sent.items()) links[node + "->" + to] = bytes;
  }
  last_loss_ = loss_sum / static_cast<double>(plan_.global_batch);
  measured_s_.push_back(measured);
  samples_ += plan_.global_batch;
  const int64_t step = own.step;
  if (metrics_) {
    metrics_->write({{"event", "iteration"}, {"step", step}, {"epoch", own.epoch}, {"loss", last_loss_},
                     {"measured_s", measured}, {"predicted_s", plan_.predicted_iteration_s},
                     {"nodes", nodes}, {"bytes_sent", links}});
    if (own.traced) metrics_->write({{"event", "trace"}, {"step", step}, {"nodes", trace}});
  }
  if (!observer_) return;
  const double run_s = std::accumulate(measured_s_.begin(), measured_s_.end(), 0.0);
  IterationEvent ev;
  ev.step = step;
  ev.total_steps = total_steps_;
  ev.epoch = own.epoch;
  ev.loss = last_loss_;
  ev.measured_s = measured;
  ev.predicted_s = plan_.predicted_iteration_s;
  ev.samples_per_s = static_cast<double>(samples_) / std::max(run_s, 1e-9);
  ev.eta_s = run_s / static_cast<double>(step - first_step_) * static_cast<double>(total_steps_ - step);
  observer_->on_iteration(ev);
}

double IterationReporter::mean_iteration_s() const {
  return measured_s_.empty() ? 0 : steady_mean(measured_s_);
}

}  // namespace dec::runtime
