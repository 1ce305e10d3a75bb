// `dec agent`: a machine's side of the control plane (docs/agent.md).
//
//   enrol      POST /api/v1/agent/enrol with an enrolment token and the
//              machine's facts -> a request id and a claim (kept in the state
//              directory, 0600, so that a restart resumes the wait)
//   wait       GET /api/v1/agent/enrolment with the claim, backing off from 1 s
//              to max_poll_s, until a leader approves (-> the node credential,
//              stored 0600) or rejects (-> Mismatch)
//   heartbeat  POST /api/v1/agent/heartbeat with the credential every
//              heartbeat_s: the facts and the measured figures (speed, links)
//
// TLS: with ca_file the control plane's certificate must chain to it and name
// its host; with pin_sha256 its SHA-256 fingerprint must be the pin; with
// neither, the fingerprint seen at first contact is pinned in the state
// directory (trust on first use) and a different one is refused later. A
// refused certificate, token or credential throws Mismatch (the CLI prints one
// line); an unreachable control plane is retried, never fatal.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace dec::control {

struct AgentOptions {
  std::string control_url;  // https://host:port (or http:// for a plain control plane)
  std::string enrol_token;  // needed only until the node holds a credential
  std::string tier;         // device, edge or cloud
  std::string name;         // the node's name; "" = the host name
  std::string state_dir = "dec-agent";
  std::string ca_file;     // trust this CA (PEM) for the control plane's certificate
  std::string pin_sha256;  // or exactly this certificate (hex, colons allowed)
  double heartbeat_s = 10;
  double max_poll_s = 30;        // the approval wait's longest back-off
  double speed_every_s = 600;    // re-measure the speed this often
  double timeout_s = 10;         // one HTTP call's connect and read timeout
  std::function<void(const std::string&)> log;  // progress lines; nullptr = dropped
};

// The machine's facts: cores, memory (/proc/meminfo), accelerator ("none":
// no accelerator probing yet), OS (/etc/os-release), kernel, architecture,
// host name.
nlohmann::json machine_facts();
// A short single-threaded float matmul's speed in GFLOP/s (not the job
// model's profile, which comes with fleet jobs).
double measure_matmul_gflops();
// The SHA-256 fingerprint of a PEM certificate file, lower-case hex.
std::string certificate_sha256(const std::string& pem_file);
// A pin as given (hex with or without colons, any case) in lower-case hex;
// throws ConfigError unless it is 64 hex digits.
std::string normalise_pin(const std::string& pin);

class Agent {
 public:
  // Throws ConfigError for bad options; creates the state directory (0700).
  explicit Agent(AgentOptions options);
  ~Agent();
  // Enrols (or resumes), waits for approval, then heartbeats until stop is
  // set. Throws Mismatch (certificate, token or credential refused; request
  // rejected), ConfigError, IoError.
  void run(const std::atomic<bool>& stop);

  // Files in the state directory.
  std::string credential_file() const;  // {"control", "node_id", "name", "credential"}
  std::string enrolment_file() const;   // {"control", "request_id", "node_id", "claim"}
  std::string pin_file() const;         // the pinned fingerprint (trust on first use)

 struct Http;  // the client of the control plane (agent_http.h)

 private:
  nlohmann::json enrol(const std::atomic<bool>& stop);
  nlohmann::json wait_for_approval(nlohmann::json enrolment, const std::atomic<bool>& stop);
  void heartbeat_loop(const nlohmann::json& credential, const std::atomic<bool>& stop);
  void log(const std::string& line) const;

  AgentOptions options_;
  std::unique_ptr<Http> http_;
};

}  // namespace dec::control
