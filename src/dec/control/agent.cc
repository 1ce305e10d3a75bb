#include "dec/control/agent.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "dec/control/agent_http.h"
#include "dec/control/node.h"
#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/core/version.h"

namespace dec::control {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The value of `key` in a file of `key: value` or `KEY=value` lines ("" if absent).
std::string field_of(const std::string& path, const std::string& key, char separator) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0 || line.size() <= key.size() || line[key.size()] != separator) continue;
    std::string v = line.substr(key.size() + 1);
    v.erase(0, v.find_first_not_of(" \t\""));
    while (!v.empty() && (v.back() == '"' || std::isspace(static_cast<unsigned char>(v.back())))) {
      v.pop_back();
    }
    return v;
  }
  return "";
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// Sleeps up to seconds, returning early (false) once stop is set.
bool sleep_unless_stopped(double seconds, const std::atomic<bool>& stop) {
  auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(seconds));
  while (!stop && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return !stop;
}

void write_secret(const std::string& path, const json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
  // The state directory is 0700, so the file is never readable by others meanwhile.
  DEC_CHECK(::chmod(path.c_str(), 0600) == 0, IoError, "cannot make a file private", path,
            std::strerror(errno));
}

json read_state(const std::string& path) {
  if (!std::filesystem::exists(path)) return nullptr;
  json j = json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  DEC_CHECK(j.is_object(), CorruptFile, "the agent's state file is not JSON", path,
            "delete it to enrol again");
  return j;
}

std::string why(const Agent::Http::Answer& a) {
  if (a.status == 0) return a.error;
  if (a.body.is_object() && a.body.contains("error")) {
    return str(a.status, " ", a.body["error"].value("message", ""));
  }
  return str("HTTP ", a.status);
}

}  // namespace

json machine_facts() {
  json facts = {{"cores", static_cast<int64_t>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)))},
                {"accelerator", "none"},
                {"hostname", host_name()},
                {"agent_version", kVersion}};
  std::string mem_kb = field_of("/proc/meminfo", "MemTotal", ':');
  if (!mem_kb.empty()) {
    int64_t bytes = std::stoll(mem_kb) * 1024;
    facts["memory_bytes"] = bytes;
    facts["memory_gib"] = static_cast<double>(bytes / (1LL << 20)) / 1024.0;
  }
  std::string os = field_of("/etc/os-release", "PRETTY_NAME", '=');
  facts["os"] = os.empty() ? "unknown" : os;
  utsname u{};
  if (::uname(&u) == 0) {
    facts["kernel"] = u.release;
    facts["arch"] = u.machine;
  }
  return facts;
}

double measure_matmul_gflops() {
  constexpr int n = 128;
  std::vector<float> a(n * n), b(n * n), c(n * n);
  for (int i = 0; i < n * n; ++i) {
    a[i] = static_cast<float>(i % 7) * 0.25f;
    b[i] = static_cast<float>(i % 5) * 0.5f;
  }
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    auto start = Clock::now();
    std::fill(c.begin(), c.end(), 0.0f);
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < n; ++k) {
        float aik = a[i * n + k];
        for (int j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
      }
    }
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  volatile float sink = c[n + 1];  // keeps the loops from being optimised away
  (void)sink;
  return 2.0 * n * n * n / std::max(best, 1e-9) / 1e9;
}

Agent::Agent(AgentOptions options) : options_(std::move(options)) {
  DEC_CHECK(!options_.control_url.empty(), ConfigError, "invalid flag", "--control", "is required");
  DEC_CHECK(options_.ca_file.empty() || options_.pin_sha256.empty(), ConfigError, "invalid flags",
            "--ca, --pin-sha256", "give one of them, not both");
  DEC_CHECK(options_.heartbeat_s > 0, ConfigError, "invalid flag", "--heartbeat",
            "must be positive, got ", options_.heartbeat_s);
  if (options_.name.empty()) options_.name = host_name();
  // The client first: it checks --control and the TLS flags before anything is created.
  http_ = std::make_unique<Http>(options_, pin_file(), [this](const std::string& l) { log(l); });
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  DEC_CHECK(!ec, IoError, "cannot create the state directory", options_.state_dir, ec.message());
  DEC_CHECK(::chmod(options_.state_dir.c_str(), 0700) == 0, IoError,
            "cannot make the state directory private", options_.state_dir, std::strerror(errno));
  if (!http_->https()) log("warning: plain HTTP: the token and the credential travel in clear");
}

Agent::~Agent() = default;

std::string Agent::credential_file() const { return options_.state_dir + "/credential.json"; }
std::string Agent::enrolment_file() const { return options_.state_dir + "/enrolment.json"; }
std::string Agent::pin_file() const { return options_.state_dir + "/control.pin"; }

void Agent::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void Agent::run(const std::atomic<bool>& stop) {
  json credential = read_state(credential_file());
  if (credential.is_null()) {
    json enrolment = read_state(enrolment_file());
    if (enrolment.is_null()) enrolment = enrol(stop);
    if (stop) return;
    credential = wait_for_approval(enrolment, stop);
    if (stop) return;
  }
  heartbeat_loop(credential, stop);
}

json Agent::enrol(const std::atomic<bool>& stop) {
  DEC_CHECK(!options_.enrol_token.empty(), ConfigError, "invalid flag", "--enrol-token",
            "is required until the node is enrolled (no credential in ", options_.state_dir, ")");
  DEC_CHECK(is_tier(options_.tier), ConfigError, "invalid flag", "--tier",
            "must be device, edge or cloud, got '", options_.tier, "'");
  DEC_CHECK(!options_.name.empty(), ConfigError, "invalid flag", "--name",
            "the host has no name; give one");
  json body = {{"name", options_.name}, {"tier", options_.tier}, {"hardware", machine_facts()}};
  for (double wait = 1;; wait = std::min(wait * 2, options_.max_poll_s)) {
    Http::Answer a = http_->call("POST", "/api/v1/agent/enrol", options_.enrol_token, body);
    if (a.status == 201) {
      json enrolment = {{"control", options_.control_url}, {"request_id", a.body["request_id"]},
                        {"node_id", a.body["node_id"]}, {"name", options_.name},
                        {"claim", a.body["claim"]}};
      write_secret(enrolment_file(), enrolment);
      log(str("enrolment request ", a.body["request_id"], " filed for node '", options_.name,
              "' (", options_.tier, "); waiting for a leader to approve it"));
      return enrolment;
    }
    DEC_CHECK(a.status != 401, Mismatch, "the enrolment token was refused", options_.control_url,
              why(a));
    DEC_CHECK(a.status != 409, ConfigError, "cannot enrol", "--name " + options_.name,
              why(a), " (a node of that name is enrolled: decommission it, or give another --name)");
    DEC_CHECK(a.status == 0 || a.status >= 500 || a.status == 429, ConfigError, "cannot enrol",
              options_.control_url, why(a));
    log(str("control plane unavailable (", why(a), "); retrying in ", wait, " s"));
    if (!sleep_unless_stopped(wait, stop)) return nullptr;
  }
}

json Agent::wait_for_approval(json enrolment, const std::atomic<bool>& stop) {
  const std::string claim = enrolment.value("claim", "");
  for (double wait = 1;; wait = std::min(wait * 2, options_.max_poll_s)) {
    Http::Answer a = http_->call("GET", "/api/v1/agent/enrolment", claim);
    if (a.status == 200 && a.body.value("state", "") == "approved") {
      json credential = {{"control", options_.control_url}, {"node_id", a.body["node_id"]},
                         {"name", a.body["name"]}, {"credential", a.body["credential"]}};
      write_secret(credential_file(), credential);
      std::filesystem::remove(enrolment_file());
      log(str("approved: node ", a.body["node_id"], " '", a.body.value("name", ""),
              "'; credential stored in ", credential_file()));
      return credential;
    }
    if (a.status == 200 && a.body.value("state", "") == "rejected") {
      std::filesystem::remove(enrolment_file());
      throw Mismatch("the enrolment was rejected", str("request ", enrolment["request_id"]),
                     a.body.value("reason", "no reason given"));
    }
    DEC_CHECK(a.status != 401, Mismatch, "the enrolment claim was refused", enrolment_file(),
              why(a), " (the credential was collected already, or the node is gone: delete ",
              enrolment_file(), " to enrol again)");
    if (a.status != 200) log(str("control plane unavailable (", why(a), "); retrying"));
    if (!sleep_unless_stopped(wait, stop)) return nullptr;
  }
}

void Agent::heartbeat_loop(const json& credential, const std::atomic<bool>& stop) {
  const std::string secret = credential.value("credential", "");
  double gflops = 0;
  auto measured_at = Clock::now() - std::chrono::hours(24);
  bool online = false;
  while (!stop) {
    if (Clock::now() - measured_at > std::chrono::duration<double>(options_.speed_every_s)) {
      gflops = measure_matmul_gflops();
      measured_at = Clock::now();
    }
    // The link: a health call's round trip on the kept-alive connection (the
    // second of two, so that connecting is not counted).
    http_->call("GET", "/api/v1/health", "");
    Http::Answer health = http_->call("GET", "/api/v1/health", "");
    json links = json::array();
    if (health.status == 200) links.push_back({{"to", "control"}, {"rtt_ms", health.seconds * 1e3}});
    json body = {{"hardware", machine_facts()},
                 {"measured", {{"matmul_gflops", gflops}, {"links", links}}}};
    Http::Answer a = http_->call("POST", "/api/v1/agent/heartbeat", secret, body);
    DEC_CHECK(a.status != 401, Mismatch, "the node credential was refused", options_.control_url,
              why(a), " (node ", credential.value("name", ""),
              " was decommissioned or its credential replaced; to enrol again, delete ",
              credential_file(), " and start dec agent with --enrol-token)");
    if (a.status == 200 && !online) log(str("heartbeating every ", options_.heartbeat_s, " s"));
    if (a.status != 200) log(str("heartbeat failed (", why(a), "); retrying"));
    online = a.status == 200;
    sleep_unless_stopped(options_.heartbeat_s, stop);
  }
}

}  // namespace dec::control
