// `dec serve`'s HTTP server on a free port, through a real client: the
// Open Inference Protocol's routes, results equal to single-node inference,
// and every error path answering {"error": ...} with its status.
#include "dec/serve/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include "dec/serve/kserve.h"
#include "serve_testing.h"

namespace dec::serve {
namespace {

using testing::max_abs_diff;
using testing::random_data;

using json = nlohmann::json;

json infer_json(const std::vector<float>& data, std::vector<int64_t> shape) {
  return {{"id", "r1"},
          {"inputs", {{{"name", "input"}, {"shape", shape}, {"datatype", "FP32"}, {"data", data}}}}};
}

class Serving {
 public:
  explicit Serving(ServeOptions o = {}, const std::string& model = "fmnist-cnn",
                   std::vector<int64_t> input = {}) {
    model_ = ServedModel::load({model, input, 0, "", 3});
    o.port = 0;
    o.warmup = 1;
    server_ = std::make_unique<InferenceServer>(model_, o);
    server_->start();
    EXPECT_TRUE(server_->wait_ready());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30, 0);
  }
  httplib::Client& client() { return *client_; }
  const ServedModel& model() { return *model_; }
  InferenceServer& server() { return *server_; }
  std::vector<float> single_node(const std::vector<float>& in, int64_t rows) {
    return model_->run(in, rows, 0, model_->num_blocks());
  }
  httplib::Result post(const std::string& body, const std::string& model = "fmnist-cnn") {
    return client_->Post(("/v2/models/" + model + "/infer").c_str(), body, "application/json");
  }

 private:
  std::shared_ptr<ServedModel> model_;
  std::unique_ptr<InferenceServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

// The status, and that the body is {"error": "<non-empty message>"}.
void expect_error(const httplib::Result& r, int status, const std::string& contains = "") {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const json j = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string()) << r->body;
  EXPECT_FALSE(j["error"].get<std::string>().empty());
  if (!contains.empty()) EXPECT_NE(j["error"].get<std::string>().find(contains), std::string::npos) << r->body;
}

TEST(InferenceServer, HealthAndMetadata) {
  Serving s;
  EXPECT_EQ(s.client().Get("/v2/health/live")->status, 200);
  EXPECT_EQ(s.client().Get("/v2/health/ready")->status, 200);
  EXPECT_EQ(s.client().Get("/v2/models/fmnist-cnn/ready")->status, 200);
  EXPECT_EQ(s.client().Get("/v2/models/fmnist-cnn/versions/1/ready")->status, 200);
  auto server = s.client().Get("/v2");
  EXPECT_EQ(json::parse(server->body)["extensions"], json::array({"binary_tensor_data"}));
  auto meta = s.client().Get("/v2/models/fmnist-cnn");
  ASSERT_EQ(meta->status, 200);
  const json m = json::parse(meta->body);
  EXPECT_EQ(m["name"], "fmnist-cnn");
  EXPECT_EQ(m["inputs"][0], json({{"name", "input"}, {"datatype", "FP32"}, {"shape", {-1, 1, 28, 28}}}));
  EXPECT_EQ(m["outputs"][0], json({{"name", "logits"}, {"datatype", "FP32"}, {"shape", {-1, 10}}}));
  expect_error(s.client().Get("/v2/models/resnet18"), 404, "unknown model");
  expect_error(s.client().Get("/v2/models/resnet18/ready"), 404);
  expect_error(s.client().Get("/v2/nothing"), 404);
}

TEST(InferenceServer, JsonInferEqualsSingleNode) {
  Serving s;
  const std::vector<float> in = random_data(3 * 28 * 28, 1);
  json req = infer_json(in, {3, 1, 28, 28});
  req["parameters"] = {{"dec_report", true}};
  auto r = s.post(req.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const InferResponse resp = parse_infer_response(split_body(r->body, ""));
  EXPECT_EQ(resp.model_name, "fmnist-cnn");
  EXPECT_EQ(resp.id, "r1");
  ASSERT_EQ(resp.outputs.size(), 1u);
  EXPECT_EQ(resp.outputs[0].name, "logits");
  EXPECT_EQ(resp.outputs[0].shape, (std::vector<int64_t>{3, 10}));
  EXPECT_LE(max_abs_diff(resp.outputs[0].data, s.single_node(in, 3)), 1e-5);
  EXPECT_EQ(resp.parameters["dec_ran"][0]["node"], "local");
  // A lone server is the last tier: the split sends it everything.
  EXPECT_EQ(resp.parameters["dec_split"], json::array({0, 0}));
  EXPECT_EQ(resp.parameters["dec_ran"][0]["blocks"], json::array({0, s.model().num_blocks()}));

  // Nested data is row-major too.
  json nested = json::array();
  for (int row = 0; row < 3; ++row) {
    nested.push_back(json::array({std::vector<float>(in.begin() + row * 784, in.begin() + (row + 1) * 784)}));
  }
  json req2 = infer_json({}, {3, 1, 28, 28});
  req2["inputs"][0]["data"] = nested;
  auto r2 = s.post(req2.dump());
  ASSERT_EQ(r2->status, 200) << r2->body;
  EXPECT_EQ(parse_infer_response(split_body(r2->body, "")).outputs[0].data, resp.outputs[0].data);
}

TEST(InferenceServer, BinaryInferEqualsSingleNode) {
  Serving s;
  InferRequest req;
  Tensor t;
  t.name = "input";
  t.shape = {2, 1, 28, 28};
  t.data = random_data(2 * 784, 2);
  t.binary = true;
  req.inputs.push_back(t);
  req.outputs.push_back({"logits", true});
  size_t header_length = 0;
  const std::string body = write_infer_request(req, &header_length);
  httplib::Headers headers{{kInferenceHeaderLength, std::to_string(header_length)}};
  auto r = s.client().Post("/v2/models/fmnist-cnn/infer", headers, body, "application/octet-stream");
  ASSERT_EQ(r->status, 200) << r->body;
  const InferResponse resp = parse_infer_response(split_body(r->body, r->get_header_value(kInferenceHeaderLength)));
  EXPECT_TRUE(resp.outputs[0].binary);
  EXPECT_LE(max_abs_diff(resp.outputs[0].data, s.single_node(t.data, 2)), 1e-5);
}

TEST(InferenceServer, ConcurrentClientsGetTheirOwnResults) {
  ServeOptions o;
  o.slots = 2;
  Serving s(o);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&s, &ok, c] {
      httplib::Client cli("127.0.0.1", s.server().port());
      for (int i = 0; i < 10; ++i) {
        const std::vector<float> in = random_data(784, 100 * c + i);
        auto r = cli.Post("/v2/models/fmnist-cnn/infer", infer_json(in, {1, 1, 28, 28}).dump(), "application/json");
        if (!r || r->status != 200) continue;
        const InferResponse resp = parse_infer_response(split_body(r->body, ""));
        if (max_abs_diff(resp.outputs[0].data, s.single_node(in, 1)) <= 1e-5) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 40);
}

TEST(InferenceServer, BadRequestsAnswer400) {
  ServeOptions o;
  o.max_rows = 4;
  Serving s(o);
  const std::vector<float> one = random_data(784, 3);
  expect_error(s.post("{\"inputs\": ["), 400, "not valid JSON");
  expect_error(s.post("[1, 2]"), 400, "object");
  expect_error(s.post(std::string(100, '[') + std::string(100, ']')), 400, "deeply");
  expect_error(s.post("{}"), 400, "inputs");
  expect_error(s.post(R"({"inputs": []})"), 400, "inputs");
  json wrong_name = infer_json(one, {1, 1, 28, 28});
  wrong_name["inputs"][0]["name"] = "image";
  expect_error(s.post(wrong_name.dump()), 400, "unknown input 'image'");
  json wrong_type = infer_json(one, {1, 1, 28, 28});
  wrong_type["inputs"][0]["datatype"] = "INT32";
  expect_error(s.post(wrong_type.dump()), 400, "FP32");
  expect_error(s.post(infer_json(one, {1, 28, 28}).dump()), 400, "shape");
  expect_error(s.post(infer_json(one, {1, 1, 28, 27}).dump()), 400, "values for shape");
  expect_error(s.post(infer_json({}, {0, 1, 28, 28}).dump()), 400, "N >= 1");
  expect_error(s.post(infer_json(random_data(5 * 784, 4), {5, 1, 28, 28}).dump()), 400, "at most 4");
  json strings = infer_json({}, {1, 1, 1, 1});
  strings["inputs"][0]["data"] = {"x"};
  expect_error(s.post(strings.dump()), 400, "numbers");
  json negative = infer_json(one, {1, 1, 28, 28});
  negative["inputs"][0]["shape"] = {-1, 1, 28, 28};
  expect_error(s.post(negative.dump()), 400, "shape");
  json two = infer_json(one, {1, 1, 28, 28});
  two["inputs"].push_back(two["inputs"][0]);
  expect_error(s.post(two.dump()), 400, "expected 1 input");
  json bad_output = infer_json(one, {1, 1, 28, 28});
  bad_output["outputs"] = {{{"name", "probabilities"}}};
  expect_error(s.post(bad_output.dump()), 400, "unknown output");
  httplib::Headers lying{{kInferenceHeaderLength, "99999"}};
  expect_error(s.client().Post("/v2/models/fmnist-cnn/infer", lying, "{}", "application/json"), 400,
               kInferenceHeaderLength);
  json short_binary = infer_json({}, {1, 1, 28, 28});
  short_binary["inputs"][0].erase("data");
  short_binary["inputs"][0]["parameters"] = {{"binary_data_size", 784 * 4}};
  const std::string header = short_binary.dump();
  httplib::Headers h{{kInferenceHeaderLength, std::to_string(header.size())}};
  expect_error(s.client().Post("/v2/models/fmnist-cnn/infer", h, header + "abc", "application/octet-stream"),
               400, "ends before");
  expect_error(s.post(infer_json(one, {1, 1, 28, 28}).dump(), "lenet5"), 404, "unknown model");
  // The server still answers.
  EXPECT_EQ(s.post(infer_json(one, {1, 1, 28, 28}).dump())->status, 200);
}

TEST(InferenceServer, BodyOverTheLimitAnswers413) {
  ServeOptions o;
  o.max_body_bytes = 4096;
  Serving s(o);
  expect_error(s.post(infer_json(random_data(784, 5), {1, 1, 28, 28}).dump()), 413, "limit");
  EXPECT_EQ(s.client().Get("/v2/health/live")->status, 200);
}

// Waits until the server reports a request computing (GET /metrics).
void wait_inflight(httplib::Client& c, const std::string& model) {
  const std::string line = "dec_serve_inflight{model=\"" + model + "\"} 1";
  for (int i = 0; i < 5000; ++i) {
    auto m = c.Get("/metrics");
    if (m && m->body.find(line) != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  FAIL() << "no request in flight";
}

std::string binary_request(const ServedModel& m, int64_t rows, size_t* header_length) {
  InferRequest req;
  Tensor t;
  t.name = "input";
  t.shape = {rows};
  for (int64_t d : m.boundary_shape(0)) t.shape.push_back(d);
  t.data = random_data(static_cast<size_t>(rows * m.boundary_elements(0)), 6);
  t.binary = true;
  req.inputs.push_back(t);
  return write_infer_request(req, header_length);
}

TEST(InferenceServer, AFullQueueAnswers503AndAWaitPastTheTimeoutToo) {
  for (int queue : {0, 1}) {
    ServeOptions o;
    o.slots = 1;
    o.max_queue = queue;
    o.queue_timeout_s = 0.001;
    Serving s(o, "mobilenetv2", {3, 96, 96});
    size_t hl = 0;
    const std::string body = binary_request(s.model(), 24, &hl);
    httplib::Headers h{{kInferenceHeaderLength, std::to_string(hl)}};
    std::thread busy([&] {
      httplib::Client c("127.0.0.1", s.server().port());
      c.set_read_timeout(60, 0);
      auto r = c.Post("/v2/models/mobilenetv2/infer", h, body, "application/octet-stream");
      EXPECT_TRUE(r && r->status == 200);
    });
    wait_inflight(s.client(), "mobilenetv2");
    size_t hl1 = 0;
    const std::string small = binary_request(s.model(), 1, &hl1);
    httplib::Headers h1{{kInferenceHeaderLength, std::to_string(hl1)}};
    auto r = s.client().Post("/v2/models/mobilenetv2/infer", h1, small, "application/octet-stream");
    expect_error(r, 503, queue == 0 ? "busy" : "no compute slot");
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    busy.join();
    const std::string metrics = s.client().Get("/metrics")->body;
    EXPECT_NE(metrics.find("dec_serve_request_failures_total{model=\"mobilenetv2\",code=\"503\"} 1"),
              std::string::npos) << metrics;
  }
}

TEST(InferenceServer, MetricsCountRequestsFailuresAndLatency) {
  Serving s;
  for (int i = 0; i < 3; ++i) s.post(infer_json(random_data(784, i), {1, 1, 28, 28}).dump());
  s.post("{");
  auto m = s.client().Get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_NE(m->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  const std::string& t = m->body;
  EXPECT_NE(t.find("dec_serve_requests_total{model=\"fmnist-cnn\"} 4"), std::string::npos) << t;
  EXPECT_NE(t.find("dec_serve_request_failures_total{model=\"fmnist-cnn\",code=\"400\"} 1"), std::string::npos);
  EXPECT_NE(t.find("dec_serve_request_seconds_count{model=\"fmnist-cnn\"} 3"), std::string::npos);
  EXPECT_NE(t.find("dec_serve_request_seconds_bucket{model=\"fmnist-cnn\",le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(t.find("dec_serve_queue_seconds_count{model=\"fmnist-cnn\"} 3"), std::string::npos);
  EXPECT_NE(t.find("dec_serve_ready{model=\"fmnist-cnn\"} 1"), std::string::npos);
}

TEST(InferenceServer, NotReadyAnswers503) {
  auto model = std::shared_ptr<ServedModel>(ServedModel::load({"fmnist-cnn", {}, 0, "", 3}));
  ServeOptions o;
  o.port = 0;
  o.warmup = 1000000;  // warming up until stopped
  InferenceServer server(model, o);
  server.start();
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
  expect_error(c.Get("/v2/health/ready"), 503, "not ready");
  expect_error(c.Get("/v2/models/fmnist-cnn/ready"), 503, "not ready");
  auto r = c.Post("/v2/models/fmnist-cnn/infer", infer_json(random_data(784, 1), {1, 1, 28, 28}).dump(),
                  "application/json");
  expect_error(r, 503, "not ready");
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  server.stop();
}

TEST(InferenceServer, ARequestPastItsTimeoutAnswers504AndABadTimeout400) {
  Serving s;
  json req = infer_json(random_data(784, 1), {1, 1, 28, 28});
  req["parameters"] = {{"timeout", 1}};  // one microsecond: gone before the forward pass starts
  expect_error(s.post(req.dump()), 504, "deadline");
  req["parameters"] = {{"timeout", 30000000}};
  EXPECT_EQ(s.post(req.dump())->status, 200);
  req["parameters"] = {{"timeout", 0}};  // 0: none, as Triton's
  EXPECT_EQ(s.post(req.dump())->status, 200);
  for (const json& bad : {json(-5), json("1s"), json(0.5)}) {
    req["parameters"] = {{"timeout", bad}};
    expect_error(s.post(req.dump()), 400, "parameters.timeout");
  }
  const std::string metrics = s.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("dec_serve_request_failures_total{model=\"fmnist-cnn\",code=\"504\"} 1"),
            std::string::npos) << metrics;
}

// A next tier that does not answer within the request's deadline: the device
// answers 504 once the deadline passes (no fallback: there is no time left),
// and the next tier was told the time left.
TEST(InferenceServer, ADeadlineBoundsTheWaitForTheNextTier) {
  httplib::Server slow;
  std::atomic<int64_t> told_us{-1};
  std::atomic<bool> release{false}, finished{false};
  slow.Post(R"(/v2/models/([^/]+)/infer)", [&](const httplib::Request& req, httplib::Response& res) {
    const Body b = split_body(req.body, req.get_header_value(kInferenceHeaderLength));
    told_us = b.header["parameters"].value("timeout", int64_t{-1});
    for (int i = 0; i < 30000 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    finished = true;
    res.status = 500;
  });
  const int port = slow.bind_to_any_port("127.0.0.1");
  std::thread t([&] { slow.listen_after_bind(); });
  while (!slow.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ServeOptions o;
  o.tier = 0;
  o.next = "http://127.0.0.1:" + std::to_string(port);
  o.split = {0, 4};
  o.request_timeout_s = 0.3;
  o.probe_interval_s = 0;
  Serving s(o);
  expect_error(s.post(infer_json(random_data(784, 1), {1, 1, 28, 28}).dump()), 504, "deadline");
  EXPECT_FALSE(finished);  // answered while the next tier still held the request
  EXPECT_GT(told_us, 0);
  EXPECT_LE(told_us, 300000);
  release = true;
  slow.stop();
  t.join();
}

TEST(InferenceServer, TheAccessLogHasALinePerRequest) {
  const std::string path = ::testing::TempDir() + "/dec-serve-access-" + std::to_string(::getpid()) + ".log";
  std::remove(path.c_str());
  {
    ServeOptions o;
    o.access_log = path;
    Serving s(o);
    json req = infer_json(random_data(784, 1), {1, 1, 28, 28});
    EXPECT_EQ(s.post(req.dump())->status, 200);
    s.post("{");
    s.server().stop();
  }
  std::ifstream f(path);
  std::vector<json> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(json::parse(l));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["id"], "r1");
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_EQ(lines[0]["model"], "fmnist-cnn");
  EXPECT_EQ(lines[0]["split"], json::array({0, 0}));
  EXPECT_EQ(lines[0]["tiers"][0]["node"], "local");
  EXPECT_GT(lines[0]["bytes_in"].get<double>(), 784);
  EXPECT_EQ(lines[1]["status"], 400);
  EXPECT_NE(lines[1]["error"].get<std::string>().find("JSON"), std::string::npos);
  std::remove(path.c_str());
}

TEST(Admission, BoundsTheQueueAndTimesOut) {
  Admission a(1, 1);
  using std::chrono::milliseconds;
  EXPECT_EQ(a.acquire(milliseconds(1)), Admission::Result::kAdmitted);
  EXPECT_EQ(a.acquire(milliseconds(1)), Admission::Result::kTimedOut);
  std::thread waiter([&a] { EXPECT_EQ(a.acquire(std::chrono::seconds(30)), Admission::Result::kAdmitted); });
  while (a.waiting() == 0) std::this_thread::yield();
  EXPECT_EQ(a.acquire(milliseconds(1)), Admission::Result::kQueueFull);
  a.release();
  waiter.join();
  EXPECT_EQ(a.inflight(), 1);
  a.release();
  EXPECT_EQ(a.inflight(), 0);
}

}  // namespace
}  // namespace dec::serve
