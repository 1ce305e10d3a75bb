// `dec agent` against a real control plane over TLS: the control plane runs in
// this process (HTTPS with a certificate made by `openssl` at test time), the
// agents are `dec agent` child processes. Enrolment, approval through the API,
// heartbeats, offline after a kill -9, resuming from the state directory, the
// credential file's mode, trust on first use, a wrong pin and a revoked
// credential each refused with one line. Every wait polls with a deadline.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "dec/control/agent.h"
#include "dec/control/sender.h"
#include "dec/control/server.h"
#include "dec/core/file.h"
#include "dec/core/process.h"
#include "fixture.h"

namespace dec::control::testing {
namespace {

using nlohmann::json;

// A self-signed certificate for 127.0.0.1 and localhost.
void make_certificate(const std::string& cert, const std::string& key) {
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                    "-keyout " + key + " -out " + cert + " -days 2 -subj /CN=localhost "
                    "-addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename Pred>
bool eventually(Pred pred, int seconds = 30) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_certificate(dir_.file("cert.pem"), dir_.file("key.pem"));
    ServerOptions o;
    o.data_dir = dir_.path();
    o.port = 0;
    o.admin = "admin@example.org";
    o.threads = 8;
    o.tls_cert = dir_.file("cert.pem");
    o.tls_key = dir_.file("key.pem");
    o.control.heartbeat_timeout_ms = 1000;
    o.offline_check_ms = 50;
    o.relay.poll_ms = 50;
    server_ = std::make_unique<ControlServer>(o);
    server_->start();
    url_ = "https://127.0.0.1:" + std::to_string(server_->port());
    admin_ = login("admin@example.org");
    ASSERT_EQ(call("POST", "/api/v1/departments", admin_, {{"name", "lab"}}).first, 201);
    auto t = call("POST", "/api/v1/enrol-tokens", admin_, {{"department", "lab"}});
    ASSERT_EQ(t.first, 201);
    token_ = t.second["token"];
  }
  void TearDown() override { server_->stop(); }

  std::pair<int, json> call(const std::string& method, const std::string& path,
                            const std::string& token, const json& body = nullptr) {
    httplib::SSLClient c("127.0.0.1", server_->port());
    c.enable_server_certificate_verification(false);  // the test's own client
    c.set_read_timeout(10, 0);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto r = method == "GET" ? c.Get(path, h)
                             : c.Post(path, h, body.is_null() ? "" : body.dump(), "application/json");
    if (!r) return {0, nullptr};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  std::string login(const std::string& address) {
    call("POST", "/api/v1/auth/code", "", {{"address", address}});
    auto s = call("POST", "/api/v1/auth/session", "",
                  {{"address", address}, {"code", last_code_in(server_->codes_file(), address)}});
    return s.second.value("token", "");
  }

  // `dec agent` with its output in <state>.out and <state>.err.
  Child agent(const std::string& state, const std::vector<std::string>& extra = {}) {
    std::string cmd = "exec " + std::string(DEC_BINARY_DIR) + "/dec agent --control " + url_ +
                      " --enrol-token " + token_ + " --tier edge --name edge-1 --heartbeat 0.2" +
                      " --state-dir " + dir_.file(state);
    for (const auto& e : extra) cmd += " " + e;
    cmd += " >" + dir_.file(state + ".out") + " 2>" + dir_.file(state + ".err");
    return Child::spawn("/bin/sh", {"-c", cmd}, {}, "dec agent");
  }
  json node_named(const std::string& name) {
    auto r = call("GET", "/api/v1/nodes?q=" + name, admin_);
    return r.second.is_object() && !r.second["items"].empty() ? r.second["items"][0] : json();
  }
  bool online(const std::string& name) {
    json n = node_named(name);
    return n.is_object() && n["online"] == true;
  }

  TempDir dir_;
  std::unique_ptr<ControlServer> server_;
  std::string url_, admin_, token_;
};

TEST_F(AgentTest, EnrolsOverTlsHeartbeatsGoesOfflineWhenKilledAndIsRevoked) {
  Child a = agent("state");
  json request;
  ASSERT_TRUE(eventually([&] {
    auto q = call("GET", "/api/v1/approvals", admin_);
    if (q.second["items"].empty()) return false;
    request = q.second["items"][0];
    return true;
  })) << slurp(dir_.file("state.err"));
  EXPECT_EQ(request["payload"]["node"]["name"], "edge-1");
  EXPECT_GE(request["payload"]["node"]["hardware"]["cores"].get<int>(), 1);
  EXPECT_GT(request["payload"]["node"]["hardware"]["memory_bytes"].get<int64_t>(), 0);
  ASSERT_EQ(call("POST", "/api/v1/requests/" + std::to_string(request["id"].get<int64_t>()) + "/approve",
                 admin_, json::object())
                .first,
            200);
  ASSERT_TRUE(eventually([&] { return online("edge-1"); })) << slurp(dir_.file("state.err"));
  json n = node_named("edge-1");
  EXPECT_GT(n["measured"]["matmul_gflops"].get<double>(), 0);
  EXPECT_EQ(n["measured"]["links"][0]["to"], "control");
  // The credential is private; the certificate seen at first contact is pinned.
  struct stat st {};
  ASSERT_EQ(::stat(dir_.file("state/credential.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(::stat(dir_.file("state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  EXPECT_EQ(slurp(dir_.file("state/control.pin")), certificate_sha256(dir_.file("cert.pem")) + "\n");
  EXPECT_FALSE(std::filesystem::exists(dir_.file("state/enrolment.json")));

  a.kill(SIGKILL);
  a.wait();
  ASSERT_TRUE(eventually([&] { return !online("edge-1"); }));

  // Restarted on the same state directory, it heartbeats with its credential:
  // no second request.
  Child b = agent("state");
  ASSERT_TRUE(eventually([&] { return online("edge-1"); })) << slurp(dir_.file("state.err"));
  EXPECT_TRUE(call("GET", "/api/v1/approvals", admin_).second["items"].empty());

  // Decommissioned: the credential is revoked and the agent ends with one line.
  auto d = call("POST", "/api/v1/requests", admin_,
                {{"kind", "decommission"}, {"node_id", n["id"]}});
  ASSERT_EQ(d.first, 201);
  ASSERT_EQ(call("POST", "/api/v1/requests/" + std::to_string(d.second["id"].get<int64_t>()) + "/approve",
                 admin_, json::object())
                .first,
            200);
  ExitStatus end = b.wait();
  EXPECT_EQ(end.code, 1);
  std::string err = slurp(dir_.file("state.err"));
  EXPECT_EQ(err.rfind("dec: error: the node credential was refused (" + url_ + "): 401 ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(AgentTest, AWrongCertificateIsRefusedWithOneLine) {
  make_certificate(dir_.file("other.pem"), dir_.file("other-key.pem"));
  Child a = agent("pinned", {"--pin-sha256", certificate_sha256(dir_.file("other.pem"))});
  EXPECT_EQ(a.wait().code, 1);
  std::string err = slurp(dir_.file("pinned.err"));
  EXPECT_EQ(err.rfind("dec: error: the control plane's certificate was refused (" + url_ + "): ", 0), 0u)
      << err;
  EXPECT_NE(err.find(certificate_sha256(dir_.file("cert.pem"))), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  // A pin kept from an earlier first contact that no longer matches: the same.
  std::filesystem::create_directories(dir_.file("tofu"));
  write_file_atomic(dir_.file("tofu/control.pin"), certificate_sha256(dir_.file("other.pem")) + "\n");
  Child b = agent("tofu");
  EXPECT_EQ(b.wait().code, 1);
  err = slurp(dir_.file("tofu.err"));
  EXPECT_NE(err.find("the pin in " + dir_.file("tofu/control.pin")), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  // The right CA (the self-signed certificate itself) is accepted.
  Child c = agent("ca", {"--ca", dir_.file("cert.pem")});
  ASSERT_TRUE(eventually([&] { return !call("GET", "/api/v1/approvals", admin_).second["items"].empty(); }))
      << slurp(dir_.file("ca.err"));
  c.kill(SIGTERM);
  EXPECT_EQ(c.wait().code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.file("ca/enrolment.json")));
  // The pin is not the token: no request was filed by the refused agents.
  EXPECT_EQ(call("GET", "/api/v1/approvals", admin_).second["items"].size(), 1u);
}

}  // namespace
}  // namespace dec::control::testing
