// One infer request on one tier: where it enters the chain, the split, this
// tier's blocks, the rest sent on to the next tier (or finished here when it
// fails), and the answer.
#include <cmath>
#include <thread>

#include "dec/core/error.h"
#include "dec/serve/energy.h"
#include "dec/serve/kserve.h"
#include "dec/serve/next_tier.h"
#include "dec/serve/server_util.h"

namespace dec::serve {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct InferenceServer::Route {
  size_t boundary = 0;       // the input holds this boundary
  size_t s1 = 0, s2 = 0;
  size_t end = 0;            // this tier runs [boundary, end)
  bool forwarded = false;    // from the previous tier
  bool report = false;       // the client asked where it ran
  std::string chosen_by;     // "request", "fixed", "latency", "energy", "local"
  double predicted_s = -1;   // the decision's prediction (entry at a deciding device)
  double predicted_energy_j = -1;
};

namespace {

bool flag(const json& p, const char* key) {
  return p.contains(key) && p[key].is_boolean() && p[key].get<bool>();
}

// A non-negative integer parameter, or -1 when absent; 400 when malformed.
int64_t index_param(const json& p, const char* key) {
  if (!p.contains(key)) return -1;
  if (!p[key].is_number_unsigned()) throw ProtocolError(400, str("parameters.", key, ": must be an integer >= 0"));
  return p[key].get<int64_t>();
}

void check_input(const InferRequest& r, const std::vector<int64_t>& want, int64_t max_rows) {
  if (r.inputs.size() != 1) {
    throw ProtocolError(400, str("expected 1 input ('", kInputName, "'), got ", r.inputs.size()));
  }
  const Tensor& in = r.inputs[0];
  if (in.name != kInputName) {
    throw ProtocolError(400, str("unknown input '", in.name, "': this model takes '", kInputName, "'"));
  }
  const std::vector<int64_t> tail(in.shape.begin() + (in.shape.empty() ? 0 : 1), in.shape.end());
  if (in.shape.empty() || tail != want || in.shape[0] < 1) {
    throw ProtocolError(400, str("input '", kInputName, "': shape must be [N, ", dump(json(want)).substr(1),
                                 " with N >= 1, got ", dump(json(in.shape))));
  }
  if (in.shape[0] > max_rows) {
    throw ProtocolError(400, str("input '", kInputName, "': ", in.shape[0], " rows, at most ", max_rows,
                                 " per request"));
  }
  for (const auto& o : r.outputs) {
    if (o.name != kOutputName) {
      throw ProtocolError(400, str("unknown output '", o.name, "': this model gives '", kOutputName, "'"));
    }
  }
}

size_t end_of(int tier, size_t s1, size_t s2, size_t n) { return tier == 0 ? s1 : tier == 1 ? s2 : n; }

}  // namespace

InferenceServer::Route InferenceServer::route_of(const InferRequest& r) const {
  const size_t n = model_->num_blocks();
  const json& p = r.parameters;
  Route route;
  route.report = flag(p, "dec_report");
  const int64_t boundary = index_param(p, "dec_boundary");
  route.forwarded = boundary >= 0;
  route.boundary = route.forwarded ? static_cast<size_t>(boundary) : 0;
  if (p.contains("dec_split")) {
    const json& s = p["dec_split"];
    if (!s.is_array() || s.size() != 2 || !s[0].is_number_unsigned() || !s[1].is_number_unsigned() ||
        s[0].get<size_t>() > s[1].get<size_t>() || s[1].get<size_t>() > n) {
      throw ProtocolError(400, str("parameters.dec_split: must be [s1, s2] with 0 <= s1 <= s2 <= ", n));
    }
    route.s1 = s[0].get<size_t>();
    route.s2 = s[1].get<size_t>();
    route.chosen_by = "request";
  } else if (route.forwarded) {
    throw ProtocolError(400, "parameters.dec_boundary needs parameters.dec_split");
  } else {
    route = decide(route, p);
  }
  // An entry at the edge or the cloud: the tiers before it run nothing.
  if (!route.forwarded && options_.tier >= 1 && route.s1 != 0) {
    throw ProtocolError(400, str("parameters.dec_split: this tier (", options_.tier, ") runs no blocks before ",
                                 "the device's; s1 must be 0"));
  }
  if (!route.forwarded && options_.tier == 2 && route.s2 != 0) {
    throw ProtocolError(400, "parameters.dec_split: a request entering at the cloud runs all blocks there; s2 must be 0");
  }
  route.end = end_of(options_.tier, route.s1, route.s2, n);
  if (route.boundary > route.end ||
      (route.forwarded && options_.tier > 0 && route.boundary != end_of(options_.tier - 1, route.s1, route.s2, n))) {
    throw ProtocolError(400, str("parameters.dec_boundary: ", route.boundary, " is not where tier ", options_.tier,
                                 " starts under the split [", route.s1, ", ", route.s2, "]"));
  }
  if (route.end < n && !next_ && !options_.fallback) {
    throw ProtocolError(400, str("blocks [", route.end, ", ", n, ") belong to a next tier and this server has none"));
  }
  return route;
}

Conditions InferenceServer::conditions() const {
  Conditions c;
  {
    std::lock_guard<std::mutex> lock(learned_mu_);
    c = learned_;
    c.queue_s[0] = local_pending_ * local_compute_s_ / std::max(1, options_.slots);
  }
  const LinkEstimator hop0 = next_->estimate();
  c.bandwidth_Bps[0] = hop0.bandwidth_Bps();
  c.latency_s[0] = hop0.latency_s();
  return c;
}

InferenceServer::Route InferenceServer::decide(Route route, const json& p) const {
  const size_t n = model_->num_blocks();
  if (options_.split.size() == 2) {
    route.s1 = options_.split[0];
    route.s2 = options_.split[1];
    route.chosen_by = "fixed";
  } else if (next_ && options_.tier == 0 && options_.decider) {
    std::string objective = options_.objective;
    double bound = options_.latency_bound_s;
    double battery = options_.battery;
    if (p.contains("dec_battery")) {
      if (!p["dec_battery"].is_number() || p["dec_battery"].get<double>() < 0 || p["dec_battery"].get<double>() > 1) {
        throw ProtocolError(400, "parameters.dec_battery: must be a number in [0, 1]");
      }
      battery = p["dec_battery"].get<double>();
    }
    const bool low_battery = battery >= 0 && battery < options_.battery_threshold;
    if (low_battery) objective = "energy";
    if (p.contains("dec_objective")) {
      if (p["dec_objective"] != "latency" && p["dec_objective"] != "energy") {
        throw ProtocolError(400, "parameters.dec_objective: must be \"latency\" or \"energy\"");
      }
      objective = p["dec_objective"].get<std::string>();
    }
    if (p.contains("dec_latency_bound_s")) {
      if (!p["dec_latency_bound_s"].is_number() || !(p["dec_latency_bound_s"].get<double>() > 0)) {
        throw ProtocolError(400, "parameters.dec_latency_bound_s: must be a number > 0");
      }
      bound = p["dec_latency_bound_s"].get<double>();
    }
    const Conditions c = conditions();
    const Split s = objective == "energy" ? options_.decider->least_energy(c, bound) : options_.decider->fastest(c);
    route.s1 = s.s1;
    route.s2 = s.s2;
    route.predicted_s = s.latency_s;
    route.predicted_energy_j = s.device_energy_j;
    route.chosen_by = low_battery && !p.contains("dec_objective") ? "battery" : objective;
  } else {
    // Everything here: this tier's range is the whole model.
    route.s1 = options_.tier == 0 ? n : 0;
    route.s2 = options_.tier == 2 ? 0 : n;
    route.chosen_by = "local";
  }
  return route;
}

std::vector<float> InferenceServer::run_blocks(const std::vector<float>& in, int64_t rows, size_t begin,
                                               size_t end) const {
  const auto tc = Clock::now();
  std::vector<float> out = model_->run(in, rows, begin, end);
  if (!options_.emulate_block_s.empty()) {
    double target = 0;
    for (size_t l = begin; l < end; ++l) target += options_.emulate_block_s[l] * static_cast<double>(rows);
    const double left = target - since(tc);
    if (left > 0) std::this_thread::sleep_for(std::chrono::duration<double>(left));
  }
  return out;
}

std::vector<float> InferenceServer::compute(const std::vector<float>& in, int64_t rows, size_t begin, size_t end,
                                            Outcome& o) {
  const auto queue_by = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(options_.queue_timeout_s));
  const bool deadline_first = o.deadline <= queue_by;
  Batcher::Result r = batcher_->submit(in, rows, begin, end, std::min(queue_by, o.deadline));
  o.queue_s = std::max(0.0, o.queue_s) + r.queue_s;
  if (r.ran) metrics_.batch(r.batch_rows);
  o.batch_rows = std::max(o.batch_rows, r.batch_rows);
  if (r.status == Batcher::Result::Status::kQueueFull) {
    throw ProtocolError(503, str("the server is busy: ", options_.max_queue, " requests are already waiting"));
  }
  if (r.status == Batcher::Result::Status::kTimedOut) {
    if (deadline_first) throw ProtocolError(504, deadline_message(o.timeout_s));
    throw ProtocolError(503, str("no compute slot within ", options_.queue_timeout_s, " s"));
  }
  o.compute_s = std::max(0.0, o.compute_s) + r.compute_s;
  return std::move(r.out);
}

namespace {

Tensor boundary_tensor(std::vector<float> data, int64_t rows, const std::vector<int64_t>& shape, const char* name) {
  Tensor t;
  t.name = name;
  t.shape = {rows};
  t.shape.insert(t.shape.end(), shape.begin(), shape.end());
  t.data = std::move(data);
  return t;
}

// Keeps an EWMA of each later tier's queue wait and the next tier's own next hop.
void learn(const json& p, int tier, Conditions& learned) {
  if (p.contains("dec_link") && p["dec_link"].is_object()) {
    const json& l = p["dec_link"];
    if (l.value("bandwidth_Bps", 0.0) > 0) learned.bandwidth_Bps[tier + 1] = l["bandwidth_Bps"].get<double>();
    if (l.value("latency_s", -1.0) >= 0) learned.latency_s[tier + 1] = l["latency_s"].get<double>();
  }
  if (!p.contains("dec_ran") || !p["dec_ran"].is_array()) return;
  for (const json& e : p["dec_ran"]) {
    const int t = e.value("tier", -1);
    if (t > tier && t < kTiers && e.contains("queue_s") && e["queue_s"].is_number()) {
      learned.queue_s[t] = 0.8 * learned.queue_s[t] + 0.2 * e["queue_s"].get<double>();
    }
  }
}

}  // namespace

void InferenceServer::set_deadline(const json& p, Clock::time_point t0, Outcome& o) const {
  double timeout_s = options_.request_timeout_s;
  if (p.contains("timeout")) {
    // Triton's schedule-policy parameter: microseconds, 0 = none.
    if (!p["timeout"].is_number_unsigned()) {
      throw ProtocolError(400, "parameters.timeout: must be an integer >= 0 (microseconds)");
    }
    const double t = static_cast<double>(p["timeout"].get<uint64_t>()) / 1e6;
    if (t > 0) timeout_s = timeout_s > 0 ? std::min(timeout_s, t) : t;
  }
  if (timeout_s <= 0) return;
  o.timeout_s = timeout_s;
  o.deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
}

std::vector<float> InferenceServer::rest_of_chain(const InferRequest& r, const Route& route, int64_t rows,
                                                  std::vector<float> here, json& ran, Outcome& o) {
  const size_t n = model_->num_blocks();
  if (!next_) {
    o.fallback = "no next tier";
    here = compute(here, rows, route.end, n, o);
    ran[0]["blocks"] = {route.boundary, n};
    ran[0]["compute_s"] = o.compute_s;
    return here;
  }
  try {
    const Tensor act = boundary_tensor(std::move(here), rows, model_->boundary_shape(route.end), kInputName);
    double left_s = 0;
    if (o.timeout_s > 0) {
      left_s = std::chrono::duration<double>(o.deadline - Clock::now()).count();
      if (left_s <= 0) throw ProtocolError(504, deadline_message(o.timeout_s));
    }
    NextTier::Reply reply = next_->forward(model_->name(), r.id, act, route.end, route.s1, route.s2, left_s);
    metrics_.hop_bytes(str(options_.node, "->next"), reply.up_bytes);
    o.hop_bytes += reply.up_bytes;
    if (reply.response.outputs.size() != 1 ||
        reply.response.outputs[0].data.size() != static_cast<size_t>(rows * model_->boundary_elements(n))) {
      throw ProtocolError(503, str("the next tier ", next_->url(), " answered another output than [", rows, ", ",
                                   model_->boundary_elements(n), "]"));
    }
    const json& p = reply.response.parameters;
    if (p.contains("dec_ran") && p["dec_ran"].is_array()) {
      for (const json& e : p["dec_ran"]) ran.push_back(e);
    }
    {
      std::lock_guard<std::mutex> lock(learned_mu_);
      learn(p, options_.tier, learned_);
    }
    return std::move(reply.response.outputs[0].data);
  } catch (const ProtocolError& e) {
    // A wait bounded by the deadline may end a millisecond early (poll's
    // granularity); with so little time left there is none for a fallback either.
    if (e.status() == 504 || (e.status() == 503 && Clock::now() + std::chrono::milliseconds(5) >= o.deadline)) {
      throw ProtocolError(504, str(deadline_message(o.timeout_s), ": ", e.what()));
    }
    if (e.status() != 503 || !options_.fallback) throw;
    o.fallback = e.what();
    std::vector<float> out = compute(r.inputs[0].data, rows, route.boundary, n, o);  // the input is still at hand
    ran[0]["blocks"] = {route.boundary, n};
    ran[0]["compute_s"] = o.compute_s;
    return out;
  }
}

void InferenceServer::run_request(const httplib::Request& req, httplib::Response& res, Outcome& o) {
  const auto t0 = Clock::now();
  if (!known_model(req, res)) {
    o.status = 404;
    return;
  }
  if (!ready_) throw ProtocolError(503, "the model is not ready yet (warming up)");
  const InferRequest r = parse_infer_request(split_body(req.body, req.get_header_value(kInferenceHeaderLength)));
  o.id = r.id;
  set_deadline(r.parameters, t0, o);
  Route route = route_of(r);
  if (route.predicted_s < 0 && !route.forwarded && options_.tier == 0 && next_ && options_.decider) {
    const Split s = options_.decider->evaluate(conditions(), route.s1, route.s2);  // a split given, not decided
    route.predicted_s = s.latency_s;
    route.predicted_energy_j = s.device_energy_j;
  }
  o.split = {route.s1, route.s2};
  o.chosen_by = route.chosen_by;
  o.predicted_s = route.predicted_s;
  const size_t n = model_->num_blocks();
  check_input(r, model_->boundary_shape(route.boundary), options_.max_rows);
  const int64_t rows = r.inputs[0].shape[0];
  const bool local = options_.tier == 0 && route.end > route.boundary;
  if (local) {
    std::lock_guard<std::mutex> lock(learned_mu_);
    ++local_pending_;
  }
  std::vector<float> here;
  try {
    here = compute(r.inputs[0].data, rows, route.boundary, route.end, o);
  } catch (...) {
    if (local) {
      std::lock_guard<std::mutex> lock(learned_mu_);
      --local_pending_;
    }
    throw;
  }
  if (local) {
    std::lock_guard<std::mutex> lock(learned_mu_);
    --local_pending_;
    local_compute_s_ = local_compute_s_ > 0 ? 0.8 * local_compute_s_ + 0.2 * o.compute_s : o.compute_s;
  }
  o.ran = json::array({{{"node", options_.node}, {"tier", options_.tier}, {"blocks", {route.boundary, route.end}},
                        {"queue_s", o.queue_s}, {"compute_s", o.compute_s}}});
  if (route.end < n) here = rest_of_chain(r, route, rows, std::move(here), o.ran, o);
  Tensor logits = boundary_tensor(std::move(here), rows, model_->boundary_shape(n), kOutputName);
  logits.binary = !r.outputs.empty() && r.outputs[0].binary;
  if (!route.forwarded) {
    std::string tiers;
    for (const json& e : o.ran) tiers += (tiers.empty() ? "" : "+") + e.value("node", std::string("?"));
    metrics_.split(tiers, route.s1, route.s2);
  }
  if (options_.tier == 0 && !route.forwarded) {
    const MeasuredEnergy m = o.meter.finish(options_.decider ? options_.decider->energy() : EnergyModel{},
                                            clock_.now(), o.hop_bytes);
    o.device_j = m.joules;
    o.cpu_util = m.cpu_util;
    o.ghz = m.ghz;
    o.ghz_source = m.ghz_source;
    metrics_.device_energy(m.joules);
  }
  InferResponse resp;
  resp.model_name = model_->name();
  resp.id = r.id;
  if (route.forwarded || route.report) resp.parameters = report(route, o, since(t0));
  resp.outputs.push_back(std::move(logits));
  size_t header_length = 0;
  std::string body = write_infer_response(resp, &header_length);
  if (resp.outputs[0].binary) {
    res.set_header(kInferenceHeaderLength, std::to_string(header_length));
    res.set_content(std::move(body), "application/octet-stream");
  } else {
    res.set_content(std::move(body), "application/json");
  }
  res.status = 200;
  o.status = 200;
}

json InferenceServer::report(const Route& route, const Outcome& o, double server_s) const {
  json p;
  p["dec_ran"] = o.ran;
  p["dec_split"] = {route.s1, route.s2};
  p["dec_server_s"] = server_s;
  if (!o.fallback.empty()) p["dec_fallback"] = o.fallback;
  if (!route.forwarded) p["dec_chosen_by"] = route.chosen_by;
  if (route.predicted_s >= 0) p["dec_predicted_s"] = route.predicted_s;
  if (route.predicted_energy_j >= 0) p["dec_predicted_device_j"] = route.predicted_energy_j;
  if (o.device_j >= 0) {
    p["dec_device_j"] = o.device_j;
    p["dec_cpu_util"] = o.cpu_util;
    p["dec_ghz"] = o.ghz;
    p["dec_ghz_source"] = o.ghz_source;
  }
  if (next_) {
    const LinkEstimator e = next_->estimate();
    p["dec_link"] = {{"bandwidth_Bps", e.bandwidth_Bps()}, {"latency_s", e.latency_s()}};
  }
  return p;
}

}  // namespace dec::serve
