#include "dec/serve/server.h"

#include <httplib.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "dec/core/error.h"
#include "dec/core/version.h"
#include "dec/serve/kserve.h"

namespace dec::serve {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kInputName = "input";
constexpr const char* kOutputName = "logits";
// A model's path: /v2/models/{name}, optionally /versions/{version}.
constexpr const char* kModelPath = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void answer(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void answer_error(httplib::Response& res, int status, const std::string& message) {
  if (status == 503) res.set_header("Retry-After", "1");
  answer(res, status, json{{"error", message}});
}

json shape_with_batch(const std::vector<int64_t>& per_sample) {
  json s = json::array({-1});
  for (int64_t d : per_sample) s.push_back(d);
  return s;
}

}  // namespace

struct InferenceServer::Outcome {
  int status = 500;
  double queue_s = -1, compute_s = -1;
};

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
  DEC_CHECK(options_.max_rows >= 1, ConfigError, "invalid option", "--max-rows", "must be >= 1, got ",
            options_.max_rows);
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

void InferenceServer::warm_up() {
  const size_t n = model_->num_blocks();
  const std::vector<float> zeros(static_cast<size_t>(model_->boundary_elements(0)), 0.f);
  for (int i = 0; i < options_.warmup && !stopping_; ++i) model_->run(zeros, 1, 0, n);
  ready_ = !stopping_;
}

void InferenceServer::run() {
  warmup_thread_ = std::thread([this] { warm_up(); });
  http_->listen_after_bind();
}

void InferenceServer::start() {
  thread_ = std::thread([this] { run(); });
  while (!http_->is_running() && thread_.joinable()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void InferenceServer::stop() {
  stopping_ = true;
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
  if (warmup_thread_.joinable()) warmup_thread_.join();
}

bool InferenceServer::wait_ready() const {
  while (!ready_ && !stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(2));
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
    else answer_error(res, 400, "not ready: warming up");
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
    else answer_error(res, 400, "not ready: warming up");
  });
  s.Post(std::string(kModelPath) + "/infer",
         [this](const httplib::Request& req, httplib::Response& res) { infer(req, res); });
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
    answer_error(res, e.status(), e.what());
  } catch (const std::exception& e) {
    o.status = 500;
    answer_error(res, 500, str("internal error: ", e.what()));
  }
  metrics_.request(o.status, since(t0), o.queue_s, o.compute_s);
}

namespace {

// The one input, checked against the model: its rows.
int64_t check_input(const InferRequest& r, const ServedModel& m, int64_t max_rows) {
  if (r.inputs.size() != 1) {
    throw ProtocolError(400, str("expected 1 input ('", kInputName, "'), got ", r.inputs.size()));
  }
  const Tensor& in = r.inputs[0];
  if (in.name != kInputName) {
    throw ProtocolError(400, str("unknown input '", in.name, "': this model takes '", kInputName, "'"));
  }
  const std::vector<int64_t>& want = m.boundary_shape(0);
  std::vector<int64_t> tail(in.shape.begin() + (in.shape.empty() ? 0 : 1), in.shape.end());
  if (in.shape.empty() || tail != want || in.shape[0] < 1) {
    throw ProtocolError(400, str("input '", kInputName, "': shape must be [N, ",
                                 dump(json(want)).substr(1), " with N >= 1, got ", dump(json(in.shape))));
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
  return in.shape[0];
}

bool asks_report(const InferRequest& r) {
  const json& p = r.parameters;
  return p.contains("dec_report") && p["dec_report"].is_boolean() && p["dec_report"].get<bool>();
}

}  // namespace

void InferenceServer::run_request(const httplib::Request& req, httplib::Response& res, Outcome& o) {
  if (!known_model(req, res)) {
    o.status = 404;
    return;
  }
  if (!ready_) throw ProtocolError(503, "the model is not ready yet (warming up)");
  const InferRequest r = parse_infer_request(split_body(req.body, req.get_header_value(kInferenceHeaderLength)));
  const int64_t rows = check_input(r, *model_, options_.max_rows);
  const auto tq = Clock::now();
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.queue_timeout_s));
  const Admission::Result admitted = admission_.acquire(timeout);
  o.queue_s = since(tq);
  if (admitted == Admission::Result::kQueueFull) {
    throw ProtocolError(503, str("the server is busy: ", options_.max_queue, " requests are already waiting"));
  }
  if (admitted == Admission::Result::kTimedOut) {
    throw ProtocolError(503, str("no compute slot within ", options_.queue_timeout_s, " s"));
  }
  struct Release {
    Admission& a;
    ~Release() { a.release(); }
  } release{admission_};
  const size_t n = model_->num_blocks();
  const auto tc = Clock::now();
  Tensor out;
  out.data = model_->run(r.inputs[0].data, rows, 0, n);
  o.compute_s = since(tc);
  out.name = kOutputName;
  out.shape = {rows};
  for (int64_t d : model_->boundary_shape(n)) out.shape.push_back(d);
  out.binary = !r.outputs.empty() && r.outputs[0].binary;
  InferResponse resp;
  resp.model_name = model_->name();
  resp.id = r.id;
  if (asks_report(r)) {
    resp.parameters["dec_split"] = {n, n};
    resp.parameters["dec_ran"] = json::array(
        {{{"node", options_.node}, {"blocks", {0, n}}, {"queue_s", o.queue_s}, {"compute_s", o.compute_s}}});
  }
  resp.outputs.push_back(std::move(out));
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

}  // namespace dec::serve
