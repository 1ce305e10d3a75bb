#include "dec/serve/next_tier.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "dec/core/error.h"

namespace dec::serve {

namespace {

using json = nlohmann::json;

std::string error_message(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return body.substr(0, 200);
}

}  // namespace

NextTier::NextTier(const std::string& url, LinkEstimatorOptions prior, double timeout_s)
    : url_(url), timeout_s_(timeout_s), estimate_(prior) {
  const std::string scheme = "http://";
  DEC_CHECK(url.rfind(scheme, 0) == 0, ConfigError, "invalid next tier", url, "expected http://HOST:PORT");
  const std::string rest = url.substr(scheme.size());
  const auto colon = rest.rfind(':');
  DEC_CHECK(colon != std::string::npos && colon > 0, ConfigError, "invalid next tier", url,
            "expected http://HOST:PORT");
  host_ = rest.substr(0, colon);
  char* end = nullptr;
  const long port = std::strtol(rest.c_str() + colon + 1, &end, 10);
  DEC_CHECK((*end == '\0' || *end == '/') && port > 0 && port <= 65535, ConfigError, "invalid next tier",
            url, "port must be 1..65535");
  port_ = static_cast<int>(port);
  DEC_CHECK(timeout_s > 0, ConfigError, "invalid next tier timeout", url, "must be > 0, got ", timeout_s);
}

NextTier::~NextTier() = default;

std::unique_ptr<httplib::Client> NextTier::take() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>(host_, port_);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  const auto t = std::chrono::duration<double>(timeout_s_);
  c->set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(t));
  c->set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(t));
  c->set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(t));
  return c;
}

void NextTier::give_back(std::unique_ptr<httplib::Client> c) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(c));
}

std::string NextTier::exchange(const std::string& path, const std::string& body, size_t header_length,
                               double timeout_s, double* round_trip_s, std::string* answer_header_length) {
  httplib::Headers headers;
  if (header_length > 0) headers.emplace(kInferenceHeaderLength, std::to_string(header_length));
  auto client = take();
  const auto t = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::duration<double>(timeout_s));
  client->set_read_timeout(t);
  client->set_write_timeout(t);
  const auto t0 = std::chrono::steady_clock::now();
  wait_like_the_link(static_cast<double>(body.size()));
  auto r = client->Post(path.c_str(), headers, body, "application/octet-stream");
  if (!r) {
    throw ProtocolError(503, str("the next tier ", url_, " did not answer: ", httplib::to_string(r.error())));
  }
  wait_like_the_link(static_cast<double>(r->body.size()));
  *round_trip_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  give_back(std::move(client));
  if (r->status == 504) throw ProtocolError(504, str("the next tier ", url_, ": ", error_message(r->body)));
  if (r->status >= 500) {
    throw ProtocolError(503, str("the next tier ", url_, " failed (", r->status, "): ", error_message(r->body)));
  }
  if (r->status != 200) throw ProtocolError(r->status, str(url_, ": ", error_message(r->body)));
  if (answer_header_length) *answer_header_length = r->get_header_value(kInferenceHeaderLength);
  return std::move(r->body);
}

void NextTier::observe(double up, double down, double round_trip_s, double far_side_s) {
  std::lock_guard<std::mutex> lock(mu_);
  estimate_.observe_round_trip(up, down, round_trip_s - far_side_s);
  last_ = std::chrono::steady_clock::now();
}

NextTier::Reply NextTier::forward(const std::string& model, const std::string& id, const Tensor& activation,
                                  size_t boundary, size_t s1, size_t s2, double left_s) {
  InferRequest req;
  req.id = id;
  req.parameters = {{"dec_boundary", boundary}, {"dec_split", {s1, s2}}};
  if (left_s > 0) req.parameters["timeout"] = std::max<int64_t>(1, static_cast<int64_t>(left_s * 1e6));
  req.inputs.push_back(activation);
  req.inputs.back().binary = true;
  req.outputs.push_back({"logits", true});
  size_t header_length = 0;
  const std::string body = write_infer_request(req, &header_length);
  Reply reply;
  std::string answer_header_length;
  const std::string answer =
      exchange("/v2/models/" + model + "/infer", body, header_length,
               left_s > 0 ? std::min(left_s, timeout_s_) : timeout_s_, &reply.round_trip_s, &answer_header_length);
  try {
    reply.response = parse_infer_response(split_body(answer, answer_header_length));
  } catch (const ProtocolError& e) {
    throw ProtocolError(503, str("the next tier ", url_, " answered a malformed body: ", e.what()));
  }
  reply.up_bytes = static_cast<double>(body.size());
  reply.down_bytes = static_cast<double>(answer.size());
  const json& p = reply.response.parameters;
  if (p.contains("dec_server_s") && p["dec_server_s"].is_number()) {
    observe(reply.up_bytes, reply.down_bytes, reply.round_trip_s, p["dec_server_s"].get<double>());
  }
  return reply;
}

void NextTier::probe(size_t bytes) {
  double round_trip_s = 0;
  const std::string answer = exchange("/dec/v1/probe", std::string(bytes, '\0'), 0, timeout_s_, &round_trip_s, nullptr);
  const json j = json::parse(answer, nullptr, false);
  const double far_side = j.is_object() && j.contains("dec_server_s") && j["dec_server_s"].is_number()
                              ? j["dec_server_s"].get<double>()
                              : 0;
  observe(static_cast<double>(bytes), static_cast<double>(answer.size()), round_trip_s, far_side);
}

double NextTier::idle_s() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - last_).count();
}

void NextTier::emulate_link(double bandwidth_Bps, double latency_s) {
  std::lock_guard<std::mutex> lock(mu_);
  emulated_bandwidth_ = bandwidth_Bps;
  emulated_latency_ = latency_s;
}

void NextTier::wait_like_the_link(double bytes) const {
  double bw = 0, lat = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bw = emulated_bandwidth_;
    lat = emulated_latency_;
  }
  if (bw <= 0) return;
  std::this_thread::sleep_for(std::chrono::duration<double>(lat + bytes / bw));
}

LinkEstimator NextTier::estimate() const {
  std::lock_guard<std::mutex> lock(mu_);
  return estimate_;
}

}  // namespace dec::serve
