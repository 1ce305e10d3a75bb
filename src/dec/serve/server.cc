#include "dec/serve/server.h"

#include <httplib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>

#include "dec/core/error.h"
#include "dec/core/version.h"
#include "dec/serve/kserve.h"
#include "dec/serve/next_tier.h"
#include "dec/serve/server_util.h"

namespace dec::serve {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
// A model's path: /v2/models/{name}, optionally /versions/{version}.
constexpr const char* kModelPath = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";

json shape_with_batch(const std::vector<int64_t>& per_sample) {
  json s = json::array({-1});
  for (int64_t d : per_sample) s.push_back(d);
  return s;
}

}  // namespace

InferenceServer::InferenceServer(std::shared_ptr<const ServedModel> model, ServeOptions options)
    : model_(std::move(model)), options_(std::move(options)), metrics_(model_->name()),
      admission_(std::max(1, options_.slots), std::max(0, options_.max_queue)) {
  DEC_CHECK(options_.slots >= 1, ConfigError, "invalid option", "--slots", "must be >= 1, got ", options_.slots);
  DEC_CHECK(options_.max_queue >= 0, ConfigError, "invalid option", "--max-queue", "must be >= 0, got ",
            options_.max_queue);
  DEC_CHECK(options_.http_threads >= 2, ConfigError, "invalid option", "--http-threads",
            "must be >= 2, got ", options_.http_threads);
  DEC_CHECK(options_.queue_timeout_s > 0, ConfigError, "invalid option", "--queue-timeout",
            "must be > 0, got ", options_.queue_timeout_s);
  DEC_CHECK(options_.request_timeout_s >= 0, ConfigError, "invalid option", "--request-timeout",
            "must be >= 0, got ", options_.request_timeout_s);
  DEC_CHECK(options_.max_rows >= 1, ConfigError, "invalid option", "--max-rows", "must be >= 1, got ",
            options_.max_rows);
  configure_chain();
  DEC_CHECK(options_.battery_threshold >= 0 && options_.battery_threshold <= 1, ConfigError, "invalid option",
            "--battery-threshold", "must be in [0, 1], got ", options_.battery_threshold);
  DEC_CHECK(options_.battery <= 1, ConfigError, "invalid option", "--battery", "must be in [0, 1], got ",
            options_.battery);
  if (!options_.access_log.empty()) log_ = std::make_unique<AccessLog>(options_.access_log, options_.log_format);
  batcher_ = std::make_unique<Batcher>(BatchOptions{options_.max_batch, options_.batch_delay_s}, admission_,
                                       [this](const std::vector<float>& in, int64_t rows, size_t begin, size_t end) {
                                         return run_blocks(in, rows, begin, end);
                                       });
  http_ = std::make_unique<httplib::Server>();
  // Without TCP_NODELAY a kept-alive connection waits on delayed ACKs; the
  // default of 5 requests per connection defeats keep-alive.
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive_max_count(options_.keep_alive_max_count);
  http_->set_payload_max_length(options_.max_body_bytes);
  const int threads = options_.http_threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  install();
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    DEC_CHECK(port_ > 0, IoError, "cannot listen", options_.host, std::strerror(errno));
  } else {
    DEC_CHECK(http_->bind_to_port(options_.host, options_.port), IoError, "cannot listen",
              str(options_.host, ":", options_.port), std::strerror(errno));
    port_ = options_.port;
  }
}

InferenceServer::~InferenceServer() { stop(); }

void InferenceServer::configure_chain() {
  ServeOptions& o = options_;
  const size_t n = model_->num_blocks();
  DEC_CHECK(o.tier >= 0 && o.tier < kTiers, ConfigError, "invalid option", "--tier",
            "must be device, edge or cloud");
  DEC_CHECK(o.next.empty() || o.tier < 2, ConfigError, "invalid option", "--next",
            "the cloud is the last tier: it has no next one");
  DEC_CHECK(o.split.empty() || (o.split.size() == 2 && o.split[0] <= o.split[1] && o.split[1] <= n),
            ConfigError, "invalid option", "--split", "expected s1,s2 with 0 <= s1 <= s2 <= ", n);
  DEC_CHECK(o.objective == "latency" || o.objective == "energy", ConfigError, "invalid option",
            "--objective", "must be latency or energy, got '", o.objective, "'");
  DEC_CHECK(o.emulate_block_s.empty() || o.emulate_block_s.size() == n, ConfigError, "invalid emulation",
            model_->name(), o.emulate_block_s.size(), " block times for ", n, " blocks");
  DEC_CHECK(o.probe_interval_s >= 0, ConfigError, "invalid option", "--probe-interval", "must be >= 0, got ",
            o.probe_interval_s);
  DEC_CHECK(!o.emulate_link || !o.next.empty(), ConfigError, "invalid emulation", "--emulate",
            "a link to emulate needs --next");
  DEC_CHECK(!o.decider || o.decider->num_blocks() == n, ConfigError, "invalid split model", model_->name(),
            "the profile has ", o.decider ? o.decider->num_blocks() : 0, " blocks, the model ", n);
  if (o.next.empty()) return;
  LinkEstimatorOptions prior;
  if (o.prior.bandwidth_Bps[o.tier] > 0) prior.prior_bandwidth_Bps = o.prior.bandwidth_Bps[o.tier];
  prior.prior_latency_s = o.prior.latency_s[o.tier];
  next_ = std::make_unique<NextTier>(o.next, prior, o.next_timeout_s);
  learned_ = o.prior;
  if (o.emulate_link) {
    emulate_link(o.emulate_link_rate ? o.prior.bandwidth_Bps[o.tier] : std::numeric_limits<double>::infinity(),
                 o.prior.latency_s[o.tier]);
  }
}

void InferenceServer::emulate_link(double bandwidth_Bps, double latency_s) {
  DEC_ASSERT(next_, "no next tier to emulate a link to");
  next_->emulate_link(bandwidth_Bps, latency_s);
}

void InferenceServer::warm_up() {
  const size_t n = model_->num_blocks();
  const std::vector<float> zeros(static_cast<size_t>(model_->boundary_elements(0)), 0.f);
  try {
    for (int i = 0; i < options_.warmup && !stopping_; ++i) model_->run(zeros, 1, 0, n);
    ready_ = !stopping_;
  } catch (const std::exception&) {
    warmup_failed_ = true;  // never ready: /v2/health/ready keeps answering 503
  }
}

void InferenceServer::probe_loop() {
  const double interval = options_.probe_interval_s;
  const size_t big = options_.probe_bytes > 0 ? options_.probe_bytes
                                              : static_cast<size_t>(model_->boundary_elements(0)) * sizeof(float);
  while (!stopping_) {
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.05, interval / 4)));
    if (stopping_ || next_->idle_s() < interval) continue;
    try {
      // Both sizes each time: the pair separates the latency from the rate, so
      // that one idle interval is enough to see a link that recovered.
      next_->probe(0);
      next_->probe(big);
    } catch (const std::exception&) {
      // The next tier is down or refused: the estimate keeps what it knew.
    }
  }
}

void InferenceServer::run() {
  if (next_ && options_.probe_interval_s > 0) probe_thread_ = std::thread([this] { probe_loop(); });
  warmup_thread_ = std::thread([this] { warm_up(); });
  http_->listen_after_bind();
  listen_returned_ = true;
}

void InferenceServer::start() {
  thread_ = std::thread([this] { run(); });
  while (!http_->is_running() && !listen_returned_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void InferenceServer::stop() {
  stopping_ = true;
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
  if (warmup_thread_.joinable()) warmup_thread_.join();
  if (probe_thread_.joinable()) probe_thread_.join();
}

bool InferenceServer::wait_ready() const {
  while (!ready_ && !stopping_ && !warmup_failed_) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return ready_;
}

bool InferenceServer::known_model(const httplib::Request& req, httplib::Response& res) const {
  const std::string name = req.matches[1].str();
  if (name == model_->name()) return true;
  answer_error(res, 404, str("unknown model '", name, "': this server serves '", model_->name(), "'"));
  return false;
}

void InferenceServer::install() {
  httplib::Server& s = *http_;
  s.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  s.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
    if (ready_) res.status = 200;
    else answer_error(res, 503, "not ready: warming up");
  });
  s.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    answer(res, 200, {{"name", "dec"}, {"version", kVersion}, {"extensions", {"binary_tensor_data"}}});
  });
  s.Get(kModelPath, [this](const httplib::Request& req, httplib::Response& res) {
    if (!known_model(req, res)) return;
    const size_t n = model_->num_blocks();
    answer(res, 200,
           {{"name", model_->name()},
            {"versions", {"1"}},
            {"platform", "dec_libtorch"},
            {"inputs", {{{"name", kInputName}, {"datatype", "FP32"}, {"shape", shape_with_batch(model_->boundary_shape(0))}}}},
            {"outputs", {{{"name", kOutputName}, {"datatype", "FP32"}, {"shape", shape_with_batch(model_->boundary_shape(n))}}}},
            {"parameters", {{"dec_model_hash", model_->hash()}, {"dec_blocks", model_->block_names()},
                            {"dec_checkpoint", model_->checkpoint_dir()}}}});
  });
  s.Get(std::string(kModelPath) + "/ready", [this](const httplib::Request& req, httplib::Response& res) {
    if (!known_model(req, res)) return;
    if (ready_) res.status = 200;
    else answer_error(res, 503, "not ready: warming up");
  });
  s.Post(std::string(kModelPath) + "/infer",
         [this](const httplib::Request& req, httplib::Response& res) { infer(req, res); });
  s.Post("/dec/v1/probe", [](const httplib::Request&, httplib::Response& res) {
    answer(res, 200, {{"dec_server_s", 0}});
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(admission_.inflight(), admission_.waiting(), ready_),
                    "text/plain; version=0.0.4");
  });
  // Statuses httplib answers by itself (no route, body too large) get the
  // same error body as the server's own.
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const std::string message = res.status == 404   ? "no such route"
                                    : res.status == 413 ? "the body is larger than the server's limit"
                                                        : "the request was refused";
        res.set_content(dump(json{{"error", message}}), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    answer_error(res, 500, "internal error");
  });
}

void InferenceServer::infer(const httplib::Request& req, httplib::Response& res) {
  const auto t0 = Clock::now();
  Outcome o;
  try {
    run_request(req, res, o);
  } catch (const ProtocolError& e) {
    o.status = e.status();
    o.error = e.what();
    answer_error(res, e.status(), e.what());
  } catch (const std::exception& e) {
    o.status = 500;
    o.error = e.what();
    answer_error(res, 500, str("internal error: ", e.what()));
  }
  const double seconds = since(t0);
  metrics_.request(o.status, seconds, o.queue_s, o.compute_s);
  if (log_) log_request(req, res, o, seconds);
}

void InferenceServer::log_request(const httplib::Request& req, const httplib::Response& res, const Outcome& o,
                                  double seconds) {
  AccessRecord a;
  a.id = o.id;
  a.model = model_->name();
  a.node = options_.node;
  a.tier = options_.tier;
  a.status = o.status;
  a.seconds = seconds;
  a.split = o.split;
  a.chosen_by = o.chosen_by;
  a.tiers = o.ran;
  a.bytes_in = static_cast<double>(req.body.size());
  a.bytes_out = static_cast<double>(res.body.size());
  a.hop_bytes = o.hop_bytes;
  a.predicted_s = o.predicted_s;
  a.device_j = o.device_j;
  a.cpu_util = o.cpu_util;
  a.batch_rows = o.batch_rows;
  a.fallback = o.fallback;
  a.error = o.error;
  log_->write(a);
}

}  // namespace dec::serve
