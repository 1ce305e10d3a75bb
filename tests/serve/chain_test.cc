// Device, edge and cloud servers in one process on three ports: every split
// of the forward pass answers what single-node inference does, the device
// decides a split itself, and a dead edge makes the device finish the
// forward itself (or answer 503 with the reason) at once.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <random>
#include <thread>

#include "dec/serve/kserve.h"
#include "serve_testing.h"
#include "dec/serve/server.h"

namespace dec::serve {
namespace {

using testing::max_abs_diff;
using testing::random_data;

using json = nlohmann::json;

class Chain {
 public:
  Chain(const std::string& model, std::vector<int64_t> input, ServeOptions device = {}, bool fallback = true) {
    model_ = ServedModel::load({model, input, 0, "", 5});
    servers_.resize(3);
    std::string next;
    for (int tier = 2; tier >= 0; --tier) {
      ServeOptions o = tier == 0 ? device : ServeOptions{};
      o.port = 0;
      o.warmup = 1;
      o.tier = tier;
      o.node = tier == 0 ? "dev0" : tier == 1 ? "edge0" : "cloud";
      o.next = next;
      o.fallback = fallback;
      servers_[tier] = std::make_unique<InferenceServer>(model_, o);
      servers_[tier]->start();
      EXPECT_TRUE(servers_[tier]->wait_ready());
      next = "http://127.0.0.1:" + std::to_string(servers_[tier]->port());
    }
    client_ = std::make_unique<httplib::Client>("127.0.0.1", servers_[0]->port());
    client_->set_read_timeout(30, 0);
    client_->set_tcp_nodelay(true);  // else each request's body waits for a delayed ACK
  }
  const ServedModel& model() const { return *model_; }
  InferenceServer& server(int tier) { return *servers_[tier]; }
  httplib::Client& client() { return *client_; }

  // POSTs `rows` random samples to the device with these parameters.
  httplib::Result infer(int64_t rows, const json& parameters, std::vector<float>* in) {
    std::vector<int64_t> shape{rows};
    for (int64_t d : model_->boundary_shape(0)) shape.push_back(d);
    *in = random_data(static_cast<size_t>(rows * model_->boundary_elements(0)), 7);
    // Binary input: 3x96x96 floats in JSON text take longer to write and parse than the forward pass.
    InferRequest req;
    req.parameters = parameters;
    req.inputs.push_back(Tensor{"input", shape, *in, /*binary=*/true, json::object()});
    size_t header_length = 0;
    const std::string body = write_infer_request(req, &header_length);
    const httplib::Headers headers{{kInferenceHeaderLength, std::to_string(header_length)}};
    return client_->Post(("/v2/models/" + model_->name() + "/infer").c_str(), headers, body,
                         "application/octet-stream");
  }

 private:
  std::shared_ptr<ServedModel> model_;
  std::vector<std::unique_ptr<InferenceServer>> servers_;
  std::unique_ptr<httplib::Client> client_;
};

void expect_equal_to_single_node(Chain& c, const httplib::Result& r, const std::vector<float>& in, int64_t rows) {
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const InferResponse resp = parse_infer_response(split_body(r->body, ""));
  const size_t n = c.model().num_blocks();
  EXPECT_LE(max_abs_diff(resp.outputs[0].data, c.model().run(in, rows, 0, n)), 1e-5);
}

class ChainSplits : public ::testing::TestWithParam<std::pair<std::string, std::vector<int64_t>>> {};

TEST_P(ChainSplits, EverySplitPairEqualsSingleNode) {
  Chain c(GetParam().first, GetParam().second);
  const size_t n = c.model().num_blocks();
  std::vector<float> expected;
  for (size_t s1 = 0; s1 <= n; ++s1) {
    for (size_t s2 = s1; s2 <= n; ++s2) {
      std::vector<float> in;  // the same samples every time
      auto r = c.infer(1, {{"dec_split", {s1, s2}}, {"dec_report", true}}, &in);
      if (expected.empty()) expected = c.model().run(in, 1, 0, n);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      ASSERT_LE(max_abs_diff(parse_infer_response(split_body(r->body, "")).outputs[0].data, expected), 1e-5)
          << "split (" << s1 << ", " << s2 << ")";
      const json p = json::parse(r->body)["parameters"];
      EXPECT_EQ(p["dec_split"], json::array({s1, s2}));
      EXPECT_FALSE(p.contains("dec_fallback")) << p.dump();
      // Where it ran: the device always, the edge when anything leaves the
      // device (an empty range relays), the cloud when anything is left.
      json want = json::array({json::array({0, s1})});
      if (s1 < n) want.push_back({s1, s2});
      if (s2 < n) want.push_back({s2, n});
      json got = json::array();
      for (const json& e : p["dec_ran"]) got.push_back(e["blocks"]);
      ASSERT_EQ(got, want) << "split (" << s1 << ", " << s2 << "): " << p.dump();
    }
  }
  const std::string metrics = c.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("dec_serve_split_total{model=\"" + c.model().name() + "\",tiers=\"dev0+edge0+cloud\",split=\"1,2\"} 1"),
            std::string::npos) << metrics;
}

INSTANTIATE_TEST_SUITE_P(
    ScenarioModels, ChainSplits,
    ::testing::Values(std::make_pair(std::string("fmnist-cnn"), std::vector<int64_t>{1, 28, 28}),
                      std::make_pair(std::string("mobilenetv2"), std::vector<int64_t>{3, 96, 96})),
    [](const auto& info) { return info.index == 0 ? std::string("fmnist_cnn") : std::string("mobilenetv2"); });

// A split model of fmnist-cnn's 4 blocks: a slow device, fast links.
std::shared_ptr<const SplitDecider> decider_for(const ServedModel& m) {
  SplitModel s;
  const size_t n = m.num_blocks();
  for (size_t l = 0; l < n; ++l) {
    s.block_s[0].push_back(0.1);
    s.block_s[1].push_back(0.01);
    s.block_s[2].push_back(0.001);
  }
  for (size_t b = 0; b <= n; ++b) s.boundary_bytes.push_back(4.0 * m.boundary_elements(b));
  return std::make_shared<SplitDecider>(s);
}

TEST(Chain, TheDeviceDecidesTheSplitAndReportsItsPrediction) {
  auto probe = ServedModel::load({"fmnist-cnn", {}, 0, "", 5});
  ServeOptions device;
  device.decider = decider_for(*probe);
  device.prior.bandwidth_Bps = {1e9, 1e9};
  device.prior.latency_s = {0.001, 0.001};
  Chain c("fmnist-cnn", {}, device);
  for (int i = 0; i < 5; ++i) {
    std::vector<float> in;
    auto r = c.infer(1, {{"dec_report", true}}, &in);
    expect_equal_to_single_node(c, r, in, 1);
    const json p = json::parse(r->body)["parameters"];
    EXPECT_EQ(p["dec_chosen_by"], "latency");
    EXPECT_GT(p["dec_predicted_s"].get<double>(), 0);
    // At these speeds and rates everything goes to the cloud.
    EXPECT_EQ(p["dec_split"], json::array({0, 0})) << p.dump();
    EXPECT_TRUE(p["dec_link"]["bandwidth_Bps"].is_number());
  }
  // The energy objective, asked for by the request.
  std::vector<float> in;
  auto r = c.infer(1, {{"dec_report", true}, {"dec_objective", "energy"}, {"dec_latency_bound_s", 10}}, &in);
  expect_equal_to_single_node(c, r, in, 1);
  const json p = json::parse(r->body)["parameters"];
  EXPECT_EQ(p["dec_chosen_by"], "energy");
  EXPECT_LE(p["dec_predicted_s"].get<double>(), 10);
  EXPECT_GT(p["dec_predicted_device_j"].get<double>(), 0);
  EXPECT_EQ(c.infer(1, {{"dec_objective", "battery"}}, &in)->status, 400);
  EXPECT_EQ(c.infer(1, {{"dec_latency_bound_s", -1}}, &in)->status, 400);
}

// Below the battery threshold the device decides by energy (unless the
// request names its objective), and it reports its measured energy next to
// the predicted one.
TEST(Chain, ALowBatteryDecidesByEnergyAndTheDeviceMeasuresItsEnergy) {
  auto probe = ServedModel::load({"fmnist-cnn", {}, 0, "", 5});
  ServeOptions device;
  device.decider = decider_for(*probe);
  device.prior.bandwidth_Bps = {1e9, 1e9};
  device.prior.latency_s = {0.001, 0.001};
  device.battery = 0.9;
  Chain c("fmnist-cnn", {}, device);
  std::vector<float> in;
  const std::vector<std::pair<json, std::string>> cases{
      {json{{"dec_report", true}}, "latency"},
      {json{{"dec_report", true}, {"dec_battery", 0.1}}, "battery"},
      {json{{"dec_report", true}, {"dec_battery", 0.1}, {"dec_objective", "latency"}}, "latency"}};
  for (const auto& [parameters, chosen_by] : cases) {
    auto r = c.infer(1, parameters, &in);
    expect_equal_to_single_node(c, r, in, 1);
    const json p = json::parse(r->body)["parameters"];
    EXPECT_EQ(p["dec_chosen_by"], chosen_by) << parameters.dump();
    EXPECT_GT(p["dec_predicted_device_j"].get<double>(), 0);
    EXPECT_GT(p["dec_device_j"].get<double>(), 0);
    EXPECT_GE(p["dec_cpu_util"].get<double>(), 0);
    EXPECT_LE(p["dec_cpu_util"].get<double>(), 1);
    EXPECT_GT(p["dec_ghz"].get<double>(), 0);
    EXPECT_TRUE(p["dec_ghz_source"].is_string());
  }
  EXPECT_EQ(c.infer(1, {{"dec_battery", 2}}, &in)->status, 400);
  const std::string metrics = c.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("dec_serve_device_joules_count{model=\"fmnist-cnn\"} 3"), std::string::npos) << metrics;
}

// The device's compute paced to 4 ms per block, an emulated hop 0 that
// collapses from 100 MB/s to 100 KB/s mid-run: the split moves from the
// cloud to the device within a few requests, and back once the link
// recovers (probes), and no request fails.
TEST(Chain, TheSplitFollowsAnEmulatedLinkThatSlows) {
  auto probe = ServedModel::load({"fmnist-cnn", {}, 0, "", 5});
  const size_t n = probe->num_blocks();
  SplitModel sm;
  for (size_t l = 0; l < n; ++l) {
    sm.block_s[0].push_back(0.004);
    sm.block_s[1].push_back(1e-4);
    sm.block_s[2].push_back(1e-4);
  }
  for (size_t b = 0; b <= n; ++b) sm.boundary_bytes.push_back(4.0 * probe->boundary_elements(b));
  ServeOptions device;
  device.decider = std::make_shared<SplitDecider>(sm);
  device.emulate_block_s = sm.block_s[0];
  device.prior.bandwidth_Bps = {1e8, 1e9};
  device.prior.latency_s = {5e-4, 5e-4};
  device.emulate_link = true;
  device.probe_interval_s = 0.1;
  Chain c("fmnist-cnn", {}, device);
  std::vector<float> in;
  for (int i = 0; i < 3; ++i) {
    auto r = c.infer(1, {{"dec_report", true}}, &in);
    expect_equal_to_single_node(c, r, in, 1);
    EXPECT_LT(json::parse(r->body)["parameters"]["dec_split"][0].get<size_t>(), n) << "offloads while the link is fast";
  }
  c.server(0).emulate_link(1e5, 5e-3);
  int moved_after = -1;
  for (int i = 0; i < 30 && moved_after < 0; ++i) {
    auto r = c.infer(1, {{"dec_report", true}}, &in);
    expect_equal_to_single_node(c, r, in, 1);
    if (json::parse(r->body)["parameters"]["dec_split"] == json::array({n, n})) moved_after = i;
  }
  EXPECT_GE(moved_after, 1) << "the first request after the drop still goes by the old estimate";
  EXPECT_LE(moved_after, 6);  // the estimate's EWMA weighs the newest round trip 0.2
  // The link recovers: no request crosses it now, the probes see it.
  c.server(0).emulate_link(1e8, 5e-4);
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = c.infer(1, {{"dec_report", true}}, &in);
    expect_equal_to_single_node(c, r, in, 1);
    back = json::parse(r->body)["parameters"]["dec_split"][0].get<size_t>() < n;
  }
  EXPECT_TRUE(back) << "the split did not come back after the link recovered";
  const std::string metrics = c.client().Get("/metrics")->body;
  EXPECT_EQ(metrics.find("\ndec_serve_request_failures_total{"), std::string::npos) << metrics;
}

TEST(Chain, ADeadEdgeMakesTheDeviceFinishTheForward) {
  Chain c("fmnist-cnn", {});
  c.server(1).stop();
  std::vector<float> in;
  auto r = c.infer(2, {{"dec_split", {1, 3}}, {"dec_report", true}}, &in);
  expect_equal_to_single_node(c, r, in, 2);
  const json p = json::parse(r->body)["parameters"];
  EXPECT_NE(p["dec_fallback"].get<std::string>().find("did not answer"), std::string::npos) << p.dump();
  EXPECT_EQ(p["dec_ran"].size(), 1u);
  EXPECT_EQ(p["dec_ran"][0]["blocks"], json::array({0, c.model().num_blocks()}));
}

TEST(Chain, WithoutFallbackADeadEdgeAnswers503WithTheReason) {
  Chain c("fmnist-cnn", {}, {}, /*fallback=*/false);
  c.server(1).stop();
  std::vector<float> in;
  auto r = c.infer(1, {{"dec_split", {1, 3}}}, &in);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("did not answer"), std::string::npos) << r->body;
  // A split that stays on the device still answers.
  auto local = c.infer(1, {{"dec_split", {4, 4}}}, &in);
  expect_equal_to_single_node(c, local, in, 1);
}

TEST(Chain, BadSplitsAndBoundariesAnswer400) {
  Chain c("fmnist-cnn", {});
  std::vector<float> in;
  auto r = c.infer(1, {{"dec_split", {3, 1}}}, &in);
  EXPECT_EQ(r->status, 400) << r->body;
  r = c.infer(1, {{"dec_split", {0, 9}}}, &in);
  EXPECT_EQ(r->status, 400) << r->body;
  r = c.infer(1, {{"dec_split", "1,2"}}, &in);
  EXPECT_EQ(r->status, 400) << r->body;
  // Straight to the edge, claiming to hold boundary 2 under a split where the edge starts at 1.
  httplib::Client edge("127.0.0.1", c.server(1).port());
  const json req = {{"parameters", {{"dec_boundary", 2}, {"dec_split", {1, 3}}}},
                    {"inputs", {{{"name", "input"}, {"shape", {1, 1}}, {"datatype", "FP32"}, {"data", {0.0}}}}}};
  auto e = edge.Post("/v2/models/fmnist-cnn/infer", req.dump(), "application/json");
  EXPECT_EQ(e->status, 400) << e->body;
  EXPECT_NE(e->body.find("dec_boundary"), std::string::npos);
}

}  // namespace
}  // namespace dec::serve
