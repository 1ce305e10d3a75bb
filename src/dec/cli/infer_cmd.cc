// `dec infer`: a client of the Open Inference Protocol's infer route that
// drives load as perf_analyzer or hey do and says where the requests ran
// (docs/inference.md; bench/inference/run drives its runs with it).
//
// Load: closed loop (--concurrency C kept-alive connections, each sending its
// next request when the last is answered) or open loop (--rate R requests/s,
// Poisson or evenly spaced arrivals, on --connections connections; a request's
// latency counts from its scheduled arrival, so a server that falls behind
// shows its backlog instead of slowing the client down). Inputs: the
// Fashion-MNIST test set for a model taking 1x28x28, zeros otherwise.
// Every request asks "dec_report", so the answer says which tiers ran which
// blocks; the summary groups requests by route and gives latency percentiles,
// throughput, failures by status, predicted against measured latency and the
// device's energy when the server reports them.
#include <CLI/CLI.hpp>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dec/core/error.h"
#include "dec/data/dataset.h"
#include "dec/serve/kserve.h"

namespace dec::cli {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct InferFlags {
  std::string url = "http://127.0.0.1:8000";
  std::string model;
  int64_t requests = 0;        // 0: from --duration, else 100
  double duration_s = 0;
  double rate = 0;             // open loop, requests/s; 0: closed loop
  std::string arrivals = "poisson";
  int concurrency = 1;         // closed loop
  int connections = 16;        // open loop
  int64_t rows = 1;
  bool binary = false;
  std::string split, objective;
  double latency_bound_s = 0;
  std::string data_dir = data::kFashionMnistDir;
  bool zeros = false;
  int warmup = 0;
  double timeout_s = 60, ready_timeout_s = 30;
  std::string trace;
  bool json_out = false, each = false;
  uint64_t seed = 1;
};

struct Endpoint {
  std::string host;
  int port = 0;
};

Endpoint parse_url(const std::string& url) {
  const std::string scheme = "http://";
  DEC_CHECK(url.rfind(scheme, 0) == 0, ConfigError, "invalid flag", "--url", "expected http://HOST:PORT, got '",
            url, "'");
  std::string rest = url.substr(scheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  DEC_CHECK(colon != std::string::npos && colon > 0, ConfigError, "invalid flag", "--url",
            "expected http://HOST:PORT, got '", url, "'");
  char* end = nullptr;
  const long port = std::strtol(rest.c_str() + colon + 1, &end, 10);
  DEC_CHECK(*end == '\0' && port > 0 && port <= 65535, ConfigError, "invalid flag", "--url",
            "port must be 1..65535, got '", url, "'");
  std::string host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, static_cast<int>(port)};
}

std::unique_ptr<httplib::Client> connect(const Endpoint& e, double timeout_s) {
  auto c = std::make_unique<httplib::Client>(e.host, e.port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);  // else a body's last segment waits for a delayed ACK
  const auto t = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::duration<double>(timeout_s));
  c->set_connection_timeout(t);
  c->set_read_timeout(t);
  c->set_write_timeout(t);
  return c;
}

std::string error_of(const httplib::Result& r) {
  if (!r) return httplib::to_string(r.error());
  const json j = json::parse(r->body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return r->body.substr(0, 200);
}

// Waits for /v2/health/ready, then reads the model's input shape from its metadata.
std::vector<int64_t> model_input_shape(const Endpoint& e, const InferFlags& f) {
  auto c = connect(e, 10);
  const auto deadline = Clock::now() + std::chrono::duration<double>(f.ready_timeout_s);
  std::string last = "no answer";
  for (;;) {
    auto r = c->Get("/v2/health/ready");
    if (r && r->status == 200) break;
    last = r ? str("status ", r->status) : httplib::to_string(r.error());
    DEC_CHECK(Clock::now() < deadline, Timeout, "the server is not ready", f.url + "/v2/health/ready",
              "waited ", f.ready_timeout_s, " s (--ready-timeout), last: ", last);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string path = "/v2/models/" + f.model;
  auto r = c->Get(path.c_str());
  DEC_CHECK(r, IoError, "cannot read the model's metadata", f.url + path, httplib::to_string(r.error()));
  DEC_CHECK(r->status == 200, ConfigError, "cannot read the model's metadata", f.url + path, "status ", r->status,
            ": ", error_of(r));
  const json meta = json::parse(r->body, nullptr, false);
  DEC_CHECK(meta.is_object() && meta.contains("inputs") && meta["inputs"].is_array() && !meta["inputs"].empty() &&
                meta["inputs"][0].contains("shape") && meta["inputs"][0]["shape"].is_array(),
            Mismatch, "unexpected model metadata", f.url + path, "no inputs[0].shape");
  std::vector<int64_t> shape;
  const json& s = meta["inputs"][0]["shape"];
  for (size_t i = 1; i < s.size(); ++i) shape.push_back(s[i].get<int64_t>());  // [-1, sample shape...]
  return shape;
}

// One request's body, built before the run so that the client's own work
// during it is only the HTTP exchange and the answer's parsing.
struct Body {
  std::string text;
  size_t header_length = 0;     // > 0: the binary extension
  std::vector<int64_t> labels;  // one per row; empty when unknown
};

json request_parameters(const InferFlags& f) {
  json p = {{"dec_report", true}};
  if (!f.split.empty()) {
    const auto comma = f.split.find(',');
    char *e1 = nullptr, *e2 = nullptr;
    const std::string a = comma == std::string::npos ? "" : f.split.substr(0, comma);
    const std::string b = comma == std::string::npos ? "" : f.split.substr(comma + 1);
    const unsigned long s1 = std::strtoul(a.c_str(), &e1, 10), s2 = std::strtoul(b.c_str(), &e2, 10);
    DEC_CHECK(!a.empty() && !b.empty() && *e1 == '\0' && *e2 == '\0', ConfigError, "invalid flag", "--split",
              "expected s1,s2 (block indices), got '", f.split, "'");
    p["dec_split"] = {s1, s2};
  }
  if (!f.objective.empty()) p["dec_objective"] = f.objective;
  if (f.latency_bound_s > 0) p["dec_latency_bound_s"] = f.latency_bound_s;
  return p;
}

// The request bodies: rows of the Fashion-MNIST test set when the model takes
// 1x28x28 and the files are there (up to 1000 distinct bodies, reused
// round-robin), else one body of zeros. `source` says which.
std::vector<Body> make_bodies(const InferFlags& f, const std::vector<int64_t>& sample, std::string* source) {
  int64_t elements = 1;
  for (int64_t d : sample) elements *= d;
  std::vector<int64_t> shape{f.rows};
  shape.insert(shape.end(), sample.begin(), sample.end());
  serve::InferRequest req;
  req.parameters = request_parameters(f);
  if (f.binary) req.outputs.push_back({"logits", true});
  auto body_of = [&](std::vector<float> data, std::vector<int64_t> labels) {
    req.inputs = {serve::Tensor{"input", shape, std::move(data), f.binary, json::object()}};
    Body b;
    b.text = serve::write_infer_request(req, &b.header_length);
    if (!f.binary) b.header_length = 0;
    b.labels = std::move(labels);
    return b;
  };
  std::vector<Body> bodies;
  const bool fmnist_shape = sample == std::vector<int64_t>{1, 28, 28};
  if (!f.zeros && fmnist_shape && std::filesystem::exists(f.data_dir)) {
    const data::Dataset test = data::load_fashion_mnist(data::Split::kTest, f.data_dir);
    const int64_t count = std::min<int64_t>(1000, test.size() / f.rows);
    for (int64_t i = 0; i < count; ++i) {
      auto [images, labels] = test.rows(i * f.rows, (i + 1) * f.rows);
      images = images.contiguous();
      const float* p = images.data_ptr<float>();
      std::vector<int64_t> l(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + f.rows);
      bodies.push_back(body_of(std::vector<float>(p, p + f.rows * elements), std::move(l)));
    }
    *source = str("Fashion-MNIST test set (", bodies.size() * f.rows, " images)");
  }
  if (bodies.empty()) {
    bodies.push_back(body_of(std::vector<float>(static_cast<size_t>(f.rows * elements), 0.0f), {}));
    *source = "zeros";
  }
  return bodies;
}

// What one request did.
struct Record {
  double start_s = 0;    // sent (closed loop) or scheduled (open loop), from the run's start
  double latency_s = 0;  // from start_s to the answer
  int status = 0;        // HTTP status; 0: no answer
  std::string error;     // a failure's reason
  std::string route;     // "dev0[0,1) > edge0[1,4)": the tiers that computed, in order
  json split, ran;       // the answer's dec_split and dec_ran
  double predicted_s = -1, server_s = -1, device_j = -1, predicted_device_j = -1;
  bool fallback = false;
  int64_t correct = -1;  // rows whose argmax is the label; -1 unknown
};

double number(const json& p, const char* key) {
  return p.contains(key) && p[key].is_number() ? p[key].get<double>() : -1;
}

std::string route_of(const json& ran) {
  std::string route;
  for (const json& e : ran) {
    if (!e.contains("blocks") || !e["blocks"].is_array() || e["blocks"].size() != 2) continue;
    const int64_t b = e["blocks"][0].get<int64_t>(), end = e["blocks"][1].get<int64_t>();
    if (b == end) continue;  // relayed only
    route += str(route.empty() ? "" : " > ", e.value("node", std::string("?")), "[", b, ",", end, ")");
  }
  return route.empty() ? "-" : route;
}

void read_answer(const httplib::Response& res, const Body& body, Record& rec) {
  const serve::InferResponse resp = serve::parse_infer_response(
      serve::split_body(res.body, res.get_header_value(serve::kInferenceHeaderLength)));
  const json& p = resp.parameters;
  if (p.contains("dec_ran") && p["dec_ran"].is_array()) rec.ran = p["dec_ran"];
  if (p.contains("dec_split")) rec.split = p["dec_split"];
  rec.route = route_of(rec.ran);
  rec.predicted_s = number(p, "dec_predicted_s");
  rec.server_s = number(p, "dec_server_s");
  rec.device_j = number(p, "dec_device_j");
  rec.predicted_device_j = number(p, "dec_predicted_device_j");
  rec.fallback = p.contains("dec_fallback");
  if (body.labels.empty() || resp.outputs.empty()) return;
  const serve::Tensor& logits = resp.outputs[0];
  if (logits.shape.size() != 2 || logits.shape[0] != static_cast<int64_t>(body.labels.size())) return;
  const int64_t classes = logits.shape[1];
  rec.correct = 0;
  for (size_t i = 0; i < body.labels.size(); ++i) {
    const float* row = logits.data.data() + i * classes;
    rec.correct += std::max_element(row, row + classes) - row == body.labels[i];
  }
}

Record send(httplib::Client& c, const std::string& path, const Body& body) {
  httplib::Headers headers;
  if (body.header_length > 0) headers.emplace(serve::kInferenceHeaderLength, std::to_string(body.header_length));
  const char* type = body.header_length > 0 ? "application/octet-stream" : "application/json";
  Record rec;
  auto r = c.Post(path.c_str(), headers, body.text, type);
  rec.status = r ? r->status : 0;
  if (!r || r->status != 200) {
    rec.error = error_of(r);
    return rec;
  }
  try {
    read_answer(*r, body, rec);
  } catch (const serve::ProtocolError& e) {
    rec.status = -1;  // a 200 whose body is not an infer response
    rec.error = e.what();
  }
  return rec;
}

// The run: closed or open loop, until --requests are sent or --duration passed.
struct Load {
  const InferFlags& f;
  Endpoint endpoint;
  std::string path;
  const std::vector<Body>& bodies;
  int64_t count = 0;              // requests to send (open loop, or closed with --requests)
  std::vector<double> arrivals;   // open loop: scheduled offsets from the start
  double wall_s = 0;
  double start_unix = 0;  // the run's start on the system clock (to line traces up with other logs)

  std::vector<Record> run() {
    std::vector<Record> records;
    std::mutex mu;
    std::atomic<int64_t> next{0};
    const int workers = f.rate > 0 ? f.connections : f.concurrency;
    const auto t0 = Clock::now();
    start_unix = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto deadline = t0 + std::chrono::duration<double>(f.duration_s);
    auto worker = [&] {
      auto c = connect(endpoint, f.timeout_s);
      std::vector<Record> mine;
      for (;;) {
        const int64_t i = next++;
        if (count > 0 && i >= count) break;
        auto start = Clock::now();
        if (f.rate > 0) {
          start = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(arrivals[i]));
          std::this_thread::sleep_until(start);
        } else if (count == 0 && start >= deadline) {
          break;
        }
        Record rec = send(*c, path, bodies[static_cast<size_t>(i) % bodies.size()]);
        rec.start_s = std::chrono::duration<double>(start - t0).count();
        rec.latency_s = std::chrono::duration<double>(Clock::now() - start).count();
        mine.push_back(std::move(rec));
      }
      std::lock_guard<std::mutex> lock(mu);
      for (auto& r : mine) records.push_back(std::move(r));
    };
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) { return a.start_s < b.start_s; });
    return records;
  }
};

std::vector<double> arrival_times(const InferFlags& f, int64_t count) {
  std::vector<double> t(static_cast<size_t>(count));
  std::mt19937_64 rng(f.seed);
  std::exponential_distribution<double> gap(f.rate);
  double now = 0;
  for (int64_t i = 0; i < count; ++i) {
    t[i] = now;
    now += f.arrivals == "poisson" ? gap(rng) : 1.0 / f.rate;
  }
  return t;
}

// The q-quantile by nearest rank; NaN for none.
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

json latency_summary(const std::vector<double>& v) {
  return {{"mean", mean_of(v)}, {"p50", quantile(v, 0.5)}, {"p95", quantile(v, 0.95)},
          {"p99", quantile(v, 0.99)}, {"max", v.empty() ? std::nan("") : *std::max_element(v.begin(), v.end())}};
}

// Means of the fields present (value >= 0), or NaN.
double mean_present(const std::vector<Record>& rs, double Record::*field) {
  std::vector<double> v;
  for (const Record& r : rs) {
    if (r.status == 200 && r.*field >= 0) v.push_back(r.*field);
  }
  return mean_of(v);
}

// Requests grouped by route, and each tier's mean queue and compute seconds.
json where_they_ran(const std::vector<Record>& records) {
  std::map<std::string, std::vector<const Record*>> by_route;
  struct Tier {
    int tier = -1;
    int64_t n = 0;
    double queue = 0, compute = 0;
  };
  std::map<std::string, Tier> tiers;
  for (const Record& r : records) {
    if (r.status != 200) continue;
    by_route[r.route + (r.fallback ? " (fallback)" : "")].push_back(&r);
    for (const json& e : r.ran) {
      Tier& t = tiers[e.value("node", std::string("?"))];
      t.tier = e.value("tier", -1);
      t.n += 1;
      t.queue += e.value("queue_s", 0.0);
      t.compute += e.value("compute_s", 0.0);
    }
  }
  json routes = json::array();
  for (const auto& [route, rs] : by_route) {
    std::vector<double> lat, pred, server;
    for (const Record* r : rs) {
      lat.push_back(r->latency_s);
      if (r->predicted_s >= 0) pred.push_back(r->predicted_s);
      if (r->server_s >= 0) server.push_back(r->server_s);
    }
    routes.push_back({{"route", route}, {"split", rs.front()->split}, {"requests", rs.size()},
                      {"latency_p50_s", quantile(lat, 0.5)}, {"predicted_s", mean_of(pred)},
                      {"server_s", mean_of(server)}, {"first_s", rs.front()->start_s},
                      {"last_s", rs.back()->start_s}});
  }
  json per_tier = json::array();
  for (const auto& [node, t] : tiers) {
    per_tier.push_back({{"node", node}, {"tier", t.tier}, {"requests", t.n}, {"queue_s", t.queue / t.n},
                        {"compute_s", t.compute / t.n}});
  }
  return {{"routes", routes}, {"tiers", per_tier}};
}

json summarise(const InferFlags& f, const std::vector<Record>& records, double wall_s, const std::string& source) {
  std::vector<double> lat;
  std::map<std::string, int64_t> failures;
  int64_t correct = 0, judged = 0;
  for (const Record& r : records) {
    if (r.status == 200) {
      lat.push_back(r.latency_s);
      if (r.correct >= 0) correct += r.correct, judged += f.rows;
    } else {
      failures[r.status > 0 ? std::to_string(r.status) : r.status == 0 ? "no answer" : "bad answer"] += 1;
    }
  }
  json s = {{"url", f.url}, {"model", f.model}, {"inputs", source}, {"binary", f.binary}, {"rows", f.rows},
            {"load", f.rate > 0 ? json{{"open_loop_rate", f.rate}, {"arrivals", f.arrivals},
                                       {"connections", f.connections}}
                                : json{{"closed_loop_concurrency", f.concurrency}}},
            {"requests", records.size()}, {"ok", lat.size()}, {"failed", records.size() - lat.size()},
            {"failures", failures}, {"wall_s", wall_s},
            {"throughput_rps", wall_s > 0 ? static_cast<double>(lat.size()) / wall_s : 0.0},
            {"latency_s", latency_summary(lat)},
            {"predicted_s", mean_present(records, &Record::predicted_s)},
            {"server_s", mean_present(records, &Record::server_s)},
            {"device_j", mean_present(records, &Record::device_j)},
            {"predicted_device_j", mean_present(records, &Record::predicted_device_j)}};
  s["where"] = where_they_ran(records);
  if (judged > 0) s["accuracy"] = static_cast<double>(correct) / static_cast<double>(judged);
  return s;
}

std::string ms(double s) { return std::isnan(s) ? "-" : str(std::round(s * 1e5) / 100); }

void print_text(const json& s) {
  std::printf("dec infer: %s requests to %s/v2/models/%s, %s, inputs: %s%s\n",
              s["requests"].dump().c_str(), s["url"].get<std::string>().c_str(),
              s["model"].get<std::string>().c_str(), s["load"].dump().c_str(),
              s["inputs"].get<std::string>().c_str(), s["binary"].get<bool>() ? ", binary tensors" : "");
  std::printf("where they ran:\n  %-44s %8s %9s %13s %13s\n", "route", "requests", "p50 ms", "predicted ms",
              "server ms");
  for (const json& r : s["where"]["routes"]) {
    std::printf("  %-44s %8lld %9s %13s %13s\n", r["route"].get<std::string>().c_str(),
                static_cast<long long>(r["requests"].get<int64_t>()), ms(r["latency_p50_s"]).c_str(),
                ms(r["predicted_s"]).c_str(), ms(r["server_s"]).c_str());
  }
  std::printf("per tier (mean per request that reached it):\n  %-12s %4s %8s %10s %11s\n", "node", "tier",
              "requests", "queue ms", "compute ms");
  for (const json& t : s["where"]["tiers"]) {
    std::printf("  %-12s %4d %8lld %10s %11s\n", t["node"].get<std::string>().c_str(), t["tier"].get<int>(),
                static_cast<long long>(t["requests"].get<int64_t>()), ms(t["queue_s"]).c_str(),
                ms(t["compute_s"]).c_str());
  }
  const json& l = s["latency_s"];
  std::printf("requests %lld: %lld ok, %lld failed %s in %.2f s; throughput %.1f requests/s\n",
              static_cast<long long>(s["requests"].get<int64_t>()), static_cast<long long>(s["ok"].get<int64_t>()),
              static_cast<long long>(s["failed"].get<int64_t>()), s["failures"].dump().c_str(),
              s["wall_s"].get<double>(), s["throughput_rps"].get<double>());
  std::printf("latency ms: mean %s  p50 %s  p95 %s  p99 %s  max %s\n", ms(l["mean"]).c_str(), ms(l["p50"]).c_str(),
              ms(l["p95"]).c_str(), ms(l["p99"]).c_str(), ms(l["max"]).c_str());
  const double pred = s["predicted_s"], server = s["server_s"];
  if (!std::isnan(pred)) {
    std::printf("predicted %s ms, measured at the server %s ms (measured/predicted %.2f)\n", ms(pred).c_str(),
                ms(server).c_str(), server / pred);
  }
  if (!std::isnan(s["device_j"].get<double>())) std::printf("device energy %.4f J/request\n", s["device_j"].get<double>());
  if (!std::isnan(s["predicted_device_j"].get<double>())) {
    std::printf("device energy predicted %.4f J/request\n", s["predicted_device_j"].get<double>());
  }
  if (s.contains("accuracy")) std::printf("accuracy on the labels %.4f\n", s["accuracy"].get<double>());
}

json record_json(const Record& r) {
  json j = {{"t", r.start_s}, {"latency_s", r.latency_s}, {"status", r.status}};
  if (r.status != 200) {
    j["error"] = r.error;
    return j;
  }
  j["route"] = r.route;
  j["split"] = r.split;
  if (r.predicted_s >= 0) j["predicted_s"] = r.predicted_s;
  if (r.server_s >= 0) j["server_s"] = r.server_s;
  if (r.device_j >= 0) j["device_j"] = r.device_j;
  if (r.predicted_device_j >= 0) j["predicted_device_j"] = r.predicted_device_j;
  if (r.fallback) j["fallback"] = true;
  return j;
}

void check_flags(InferFlags& f) {
  DEC_CHECK(f.requests >= 0, ConfigError, "invalid flag", "--requests", "must be >= 0, got ", f.requests);
  DEC_CHECK(f.duration_s >= 0, ConfigError, "invalid flag", "--duration", "must be >= 0, got ", f.duration_s);
  DEC_CHECK(f.requests == 0 || f.duration_s == 0, ConfigError, "invalid flags", "--requests",
            "give --requests or --duration, not both");
  DEC_CHECK(f.rate >= 0, ConfigError, "invalid flag", "--rate", "must be >= 0, got ", f.rate);
  DEC_CHECK(f.concurrency >= 1, ConfigError, "invalid flag", "--concurrency", "must be >= 1, got ", f.concurrency);
  DEC_CHECK(f.connections >= 1, ConfigError, "invalid flag", "--connections", "must be >= 1, got ", f.connections);
  DEC_CHECK(f.rows >= 1, ConfigError, "invalid flag", "--rows", "must be >= 1, got ", f.rows);
  DEC_CHECK(f.timeout_s > 0, ConfigError, "invalid flag", "--timeout", "must be > 0, got ", f.timeout_s);
  DEC_CHECK(f.warmup >= 0, ConfigError, "invalid flag", "--warmup", "must be >= 0, got ", f.warmup);
  if (f.requests == 0 && f.duration_s == 0) f.requests = 100;
}

void run_infer(InferFlags& f) {
  check_flags(f);
  const Endpoint endpoint = parse_url(f.url);
  const json parameters = request_parameters(f);  // checks --split before anything is sent
  std::string source;
  const std::vector<Body> bodies = make_bodies(f, model_input_shape(endpoint, f), &source);
  const std::string path = "/v2/models/" + f.model + "/infer";
  if (f.warmup > 0) {
    auto c = connect(endpoint, f.timeout_s);
    for (int i = 0; i < f.warmup; ++i) {
      const Record r = send(*c, path, bodies[static_cast<size_t>(i) % bodies.size()]);
      DEC_CHECK(r.status == 200, ConfigError, "a warm-up request failed", f.url + path,
                r.status > 0 ? str("status ", r.status, ": ") : "", r.error);
    }
  }
  Load load{f, endpoint, path, bodies};
  load.count = f.requests > 0 ? f.requests
               : f.rate > 0   ? std::max<int64_t>(1, static_cast<int64_t>(std::llround(f.rate * f.duration_s)))
                              : 0;
  if (f.rate > 0) load.arrivals = arrival_times(f, load.count);
  const std::vector<Record> records = load.run();
  if (!f.trace.empty()) {
    std::ofstream out(f.trace);
    DEC_CHECK(out, IoError, "cannot write the trace", f.trace, std::strerror(errno));
    for (const Record& r : records) out << record_json(r).dump() << '\n';
  }
  json s = summarise(f, records, load.wall_s, source);
  s["start_unix"] = load.start_unix;
  if (f.each) {
    for (const Record& r : records) std::printf("%s\n", record_json(r).dump().c_str());
  }
  if (f.json_out) {
    std::printf("%s\n", s.dump(2).c_str());
  } else {
    print_text(s);
  }
  DEC_CHECK(s["ok"].get<int64_t>() > 0, PeerLost, "no request succeeded", f.url + path,
            records.empty() ? std::string("none sent") : str("the first failed: ", records.front().error));
}

}  // namespace

void add_infer_command(CLI::App& app) {
  auto f = std::make_shared<InferFlags>();
  auto* cmd = app.add_subcommand(
      "infer",
      "Send infer requests to a KServe v2 server (`dec serve`) and say where they ran:\n"
      "routes (which tier ran which blocks), latency p50/p95/p99, throughput, failures by\n"
      "status, predicted vs measured latency, device energy when reported.\n"
      "Closed loop (--concurrency) or open loop (--rate, latency counted from each arrival).\n"
      "Example: dec infer --url http://127.0.0.1:8000 --model fmnist-cnn --requests 200 --concurrency 4\n"
      "         dec infer --url http://127.0.0.1:8000 --model fmnist-cnn --duration 10 --rate 50 --json");
  cmd->add_option("--url", f->url, "The server, http://HOST:PORT (a device tier, or a lone server)")
      ->capture_default_str();
  cmd->add_option("--model", f->model, "The served model's name")->required();
  cmd->add_option("--requests", f->requests, "Requests to send (default 100 without --duration)");
  cmd->add_option("--duration", f->duration_s, "Seconds to send for, instead of --requests");
  cmd->add_option("--rate", f->rate, "Open loop: requests per second (0: closed loop)")->capture_default_str();
  cmd->add_option("--arrivals", f->arrivals, "Open loop: poisson or constant gaps")
      ->check(CLI::IsMember({"poisson", "constant"}))
      ->capture_default_str();
  cmd->add_option("--concurrency", f->concurrency, "Closed loop: requests in flight (one connection each)")
      ->capture_default_str();
  cmd->add_option("--connections", f->connections,
                  "Open loop: kept-alive connections (at most the server's --http-threads)")
      ->capture_default_str();
  cmd->add_option("--rows", f->rows, "Samples per request")->capture_default_str();
  cmd->add_flag("--binary", f->binary, "Send the input and ask for the output as binary tensors");
  cmd->add_option("--split", f->split, "Ask for the split s1,s2 (the request's dec_split)");
  cmd->add_option("--objective", f->objective, "Ask the device to minimise latency or energy")
      ->check(CLI::IsMember({"latency", "energy"}));
  cmd->add_option("--latency-bound", f->latency_bound_s, "With --objective energy: seconds");
  cmd->add_option("--data-dir", f->data_dir, "Fashion-MNIST directory (inputs for 1x28x28 models)")
      ->capture_default_str();
  cmd->add_flag("--zeros", f->zeros, "Send zeros even where Fashion-MNIST fits");
  cmd->add_option("--warmup", f->warmup, "Requests sent (one at a time) before the run, not counted")
      ->capture_default_str();
  cmd->add_option("--timeout", f->timeout_s, "Seconds to wait for an answer")->capture_default_str();
  cmd->add_option("--ready-timeout", f->ready_timeout_s, "Seconds to wait for /v2/health/ready")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed of the Poisson arrivals")->capture_default_str();
  cmd->add_option("--trace", f->trace, "Write one JSON line per request (time, latency, status, route) here");
  cmd->add_flag("--each", f->each, "Print one JSON line per request before the summary");
  cmd->add_flag("--json", f->json_out, "Print the summary as JSON");
  cmd->callback([f] { run_infer(*f); });
}

}  // namespace dec::cli
