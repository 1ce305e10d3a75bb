// The next tier of a device -> edge -> cloud chain, as one tier sees it: a
// pool of kept-alive HTTP clients to its server, the partial forward sent
// there (the activation at a boundary, as a binary tensor of the Open
// Inference Protocol, with the split in the request's parameters), and the
// hop's bandwidth and latency estimated from those round trips.
//
// Request parameters between tiers: "dec_boundary": s (the input holds
// boundary s, not the model's input), "dec_split": [s1, s2]. The answer's
// parameters carry "dec_server_s" (the far side's receipt to answer), which
// is taken off the round trip to time the hop.
//
// Thread safety: forward() and estimate() may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dec/serve/kserve.h"
#include "dec/serve/link_estimator.h"

namespace httplib {
class Client;
}

namespace dec::serve {

class NextTier {
 public:
  // `url` is http://HOST:PORT; throws ConfigError otherwise.
  NextTier(const std::string& url, LinkEstimatorOptions prior, double timeout_s);
  ~NextTier();

  struct Reply {
    InferResponse response;
    double round_trip_s = 0;
    double up_bytes = 0, down_bytes = 0;
  };
  // Sends boundary `boundary` of `rows` samples on. `left_s` > 0: the
  // request's deadline is that far away; it goes on as the request's
  // "timeout" parameter (microseconds) and bounds the wait for the answer
  // (with the timeout given at construction). Throws ProtocolError: 504 when
  // the next tier answers 504 (the deadline passed there), 503 when it cannot
  // be reached or does not answer in time, or answers another 5xx (the
  // message names it and its reason), and its own 4xx status and message otherwise.
  Reply forward(const std::string& model, const std::string& id, const Tensor& activation,
                size_t boundary, size_t s1, size_t s2, double left_s = 0);

  // A probe when the hop is idle: `bytes` of padding to the next tier's
  // POST /dec/v1/probe, which answers at once; the round trip feeds the
  // estimate like a forward's. Throws ProtocolError 503 like forward().
  void probe(size_t bytes);
  // Seconds since the last round trip that fed the estimate (a forward or a probe).
  double idle_s() const;

  LinkEstimator estimate() const;
  // Emulation: every forward first waits latency + bytes / bandwidth for its
  // request, and again for its answer, as the link would take (bandwidth 0:
  // no emulation, the default). May be changed while requests run.
  void emulate_link(double bandwidth_Bps, double latency_s);
  const std::string& url() const { return url_; }

 private:
  std::string url_, host_;
  int port_ = 0;
  double timeout_s_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;  // guarded by mu_
  LinkEstimator estimate_;                              // guarded by mu_
  double emulated_bandwidth_ = 0, emulated_latency_ = 0;  // guarded by mu_
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();  // guarded by mu_

  // POSTs `body` to `path` as the link would carry it (header_length > 0: a
  // binary-extension body); returns the 200 answer's body, or throws ProtocolError.
  std::string exchange(const std::string& path, const std::string& body, size_t header_length, double timeout_s,
                       double* round_trip_s, std::string* answer_header_length);
  void observe(double up, double down, double round_trip_s, double far_side_s);

  void wait_like_the_link(double bytes) const;

  std::unique_ptr<httplib::Client> take();
  void give_back(std::unique_ptr<httplib::Client> c);
};

}  // namespace dec::serve
