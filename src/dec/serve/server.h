// `dec serve` as an object: a ServedModel behind the Open Inference Protocol
// (KServe v2) over HTTP on cpp-httplib (docs/inference.md lists the routes).
//
//   GET  /v2/health/live            200 while the process serves
//   GET  /v2/health/ready           200 once the warm-up forward passes are done, else 503
//   GET  /v2                        server metadata
//   GET  /v2/models/{name}          model metadata: input "input", output "logits", FP32, batch -1
//   GET  /v2/models/{name}/ready    as /v2/health/ready; 404 for another model
//   POST /v2/models/{name}/infer    JSON, or the binary tensor extension
//   GET  /metrics                   Prometheus text (metrics.h)
//   POST /dec/v1/probe              answers at once: the previous tier times the hop with it
// ({name} may be followed by /versions/{v}: there is one version.)
//
// Errors are {"error": "<message>"}: 400 (malformed JSON, a missing or
// unknown input, wrong datatype or shape, too many rows, a bad dec_* or
// timeout parameter), 404 (unknown model or route), 413 (body over
// max_body_bytes), 503 (not ready yet, the queue is full, the request waited
// longer than queue_timeout_s for a compute slot, or the next tier failed
// without fallback: Retry-After: 1), 504 (the request's deadline passed), 500
// (a bug: the request fails, the server goes on).
//
// Across tiers (ServeOptions::tier, next): a request entering at the device
// gets a split (s1, s2) (the request's "dec_split", a fixed split, or the
// SplitDecider over the links as NextTier estimates them); each tier runs its
// range of blocks and sends the activation on (next_tier.h), or finishes the
// forward itself when the next tier fails and fallback is on. Responses carry
// "dec_ran" (each tier's blocks, queue and compute seconds), "dec_split",
// "dec_server_s" and, at a deciding device, "dec_predicted_s" when asked
// ("dec_report": true) and always between tiers.
//
// Thread safety: start()/stop() from one thread; requests are served on
// `http_threads` threads, forward passes on at most `slots` at once; with
// max_batch > 1, requests for the same blocks share a forward pass (batcher.h).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <thread>

#include "dec/serve/admission.h"
#include "dec/serve/access_log.h"
#include "dec/serve/batcher.h"
#include "dec/serve/energy.h"
#include "dec/serve/metrics.h"
#include "dec/serve/served_model.h"
#include "dec/serve/split.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace dec::serve {

class NextTier;
struct Tensor;
struct InferRequest;

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                      // 0 = a free port (see port())
  int http_threads = 16;                // connections served at once (a kept-alive one holds a thread)
  int slots = 1;                        // forward passes at once (each uses torch's intra-op threads)
  int max_queue = 32;                   // requests (batches) waiting for a slot; one more answers 503
  double queue_timeout_s = 10;          // a request waiting longer for a slot answers 503
  // A request not answered this long after receipt answers 504 (0: no deadline);
  // a request's "timeout" parameter (microseconds, as Triton's) may shorten it.
  // The deadline bounds the wait for a slot and for the next tier, and goes on
  // to the next tier as its "timeout".
  double request_timeout_s = 0;
  size_t max_body_bytes = 64u << 20;    // a larger body answers 413
  int64_t max_rows = 256;               // samples per request; more answers 400
  int warmup = 3;                       // forward passes (1 sample, every block) before ready
  size_t keep_alive_max_count = 100000; // requests per kept-alive connection
  std::string node = "local";           // this server's name in the responses' "dec_ran"
  // Dynamic batching (batcher.h): requests for the same blocks run together,
  // up to max_batch rows per forward pass, the first waiting at most
  // batch_delay_s for others. 1 = off.
  int64_t max_batch = 1;
  double batch_delay_s = 0;

  // Collaborative inference: this server's place in a device -> edge -> cloud
  // chain (docs/inference.md, "Across tiers"). Every tier loads the whole model.
  int tier = 2;                    // 0 device, 1 edge, 2 cloud; a lone server is the last tier
  std::string next;                // device, edge: the next tier's http://HOST:PORT ("" = none)
  double next_timeout_s = 30;      // a partial forward unanswered this long counts as failed
  bool fallback = true;            // when the next tier fails, finish the forward here
  std::vector<size_t> split;       // device: a fixed split {s1, s2}; empty: decide per request
  std::shared_ptr<const SplitDecider> decider;  // device with a next tier and no fixed split
  Conditions prior;                // device: the links before any transfer (queues 0)
  std::string objective = "latency";  // or "energy": least device energy under latency_bound_s
  double latency_bound_s = 1;
  // Latency under a battery level: a device whose battery (this level, or a
  // request's "dec_battery", 0..1; < 0: unknown) is below battery_threshold
  // decides as with objective "energy" (least device energy within
  // latency_bound_s), unless the request names its objective.
  double battery = -1;
  double battery_threshold = 0.2;

  // The access log (access_log.h): one line per infer request to this file
  // ("-": stderr; "": none), as "json" or "text".
  std::string access_log;
  std::string log_format = "json";

  // Emulation on one machine: a forward pass of this tier takes what these
  // per-sample block seconds say (the profile at the tier's speed: the run,
  // then a sleep for the rest), and the hop to the next tier what
  // prior.bandwidth_Bps/latency_s[tier] say. Empty / false: full speed.
  std::vector<double> emulate_block_s;
  bool emulate_link = false;
  bool emulate_link_rate = true;  // false: the link's rate is real (tc on the namespace cluster), only its latency is emulated

  // A tier with a next one probes the hop when no round trip has crossed it
  // for probe_interval_s (0: never) with an empty probe and one of
  // probe_bytes (0: the model input's bytes), so that the estimate also
  // follows a link the split does not use (one that recovered).
  double probe_interval_s = 1;
  size_t probe_bytes = 0;
};

class InferenceServer {
 public:
  // Binds the port; throws ConfigError (options), IoError (cannot listen).
  InferenceServer(std::shared_ptr<const ServedModel> model, ServeOptions options);
  ~InferenceServer();

  int port() const { return port_; }
  // Serves until stop(): warm-up on a thread of its own, then ready.
  void run();
  // run() on a thread of its own; returns once the server accepts.
  void start();
  // Stops accepting, finishes requests in flight. Idempotent.
  void stop();
  bool ready() const { return ready_; }
  // Blocks until ready(), the server stops or the warm-up failed; returns ready().
  bool wait_ready() const;

  const ServedModel& model() const { return *model_; }
  const ServeMetrics& metrics() const { return metrics_; }
  // Emulation: the hop to the next tier from now on (a link that slows or
  // recovers mid-run). REQUIRES: a next tier.
  void emulate_link(double bandwidth_Bps, double latency_s);

 private:
  struct Outcome;
  struct Route;
  void configure_chain();
  void probe_loop();
  void install();
  void warm_up();
  void infer(const httplib::Request& req, httplib::Response& res);
  void run_request(const httplib::Request& req, httplib::Response& res, Outcome& o);
  bool known_model(const httplib::Request& req, httplib::Response& res) const;
  Route route_of(const InferRequest& r) const;
  Route decide(Route route, const nlohmann::json& parameters) const;
  // The blocks after this tier's: the next tier's answer, or finished here when it fails.
  std::vector<float> rest_of_chain(const InferRequest& r, const Route& route, int64_t rows, std::vector<float> here,
                                   nlohmann::json& ran, Outcome& o);
  // The answer's parameters: where it ran, the split, predictions and measurements.
  nlohmann::json report(const Route& route, const Outcome& o, double server_s) const;
  void log_request(const httplib::Request& req, const httplib::Response& res, const Outcome& o, double seconds);
  // The request's deadline from its "timeout" parameter and request_timeout_s;
  // 400 when the parameter is malformed.
  void set_deadline(const nlohmann::json& parameters, std::chrono::steady_clock::time_point t0, Outcome& o) const;
  // Runs [begin, end) in a compute slot (batched with others); `o` gets the
  // queue and compute seconds. Throws ProtocolError 503 (queue full, no slot
  // in time), 504 (the request's deadline passed).
  std::vector<float> compute(const std::vector<float>& in, int64_t rows, size_t begin, size_t end, Outcome& o);
  // The forward pass of a batch, at the emulated speed when emulating.
  std::vector<float> run_blocks(const std::vector<float>& in, int64_t rows, size_t begin, size_t end) const;
  Conditions conditions() const;

  std::shared_ptr<const ServedModel> model_;
  ServeOptions options_;
  ServeMetrics metrics_;
  Admission admission_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<AccessLog> log_;  // null: no access log
  CpuClock clock_;
  std::unique_ptr<NextTier> next_;
  mutable std::mutex learned_mu_;
  Conditions learned_;  // guarded by learned_mu_: the hop after the next tier and the queues, as answers report them
  // Guarded by learned_mu_: this tier's requests that compute here and have
  // not finished (queued or running), and its compute seconds per request
  // (moving average). Their product over the slots is the wait a request
  // decided now would have here: the queue as it is, not as it was when
  // earlier requests waited, so that a burst does not all choose this tier.
  int local_pending_ = 0;
  double local_compute_s_ = 0;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_, warmup_thread_, probe_thread_;
  std::atomic<bool> ready_{false}, stopping_{false}, warmup_failed_{false}, listen_returned_{false};
  int port_ = 0;
};

}  // namespace dec::serve
