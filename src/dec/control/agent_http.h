// The agent's HTTP(S) client of the control plane: one kept-alive connection,
// the control plane's certificate checked against a CA, a pin, or the
// fingerprint pinned at first contact (agent.h).
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "dec/control/agent.h"

namespace dec::control {

// What the TLS handshake's certificate check saw (the OpenSSL callback's argument).
struct CertificateCheck {
  std::string ca_file;  // non-empty: the certificate must chain to this CA
  std::string pin;      // the expected fingerprint; "" = accept (first contact)
  std::string seen;     // the fingerprint of the last handshake's certificate
  std::string refused;  // why the last handshake's certificate was refused ("" = not)
};

struct Agent::Http {
  struct Answer {
    int status = 0;  // 0: no answer (error says why)
    nlohmann::json body;
    std::string error;
    double seconds = 0;  // the call's round trip
  };

  // pin_file: where a first contact's fingerprint is kept (trust on first use).
  Http(const AgentOptions& options, std::string pin_file, std::function<void(const std::string&)> log);
  // One call; a refused certificate throws Mismatch, an unreachable control
  // plane answers status 0.
  Answer call(const std::string& method, const std::string& path, const std::string& token,
              const nlohmann::json& body = nullptr);
  bool https() const { return https_; }

 private:
  void setup_tls(const AgentOptions& options);
  void pin_first_contact();

  std::string url_;
  bool https_ = false;
  bool first_contact_ = false;  // no pin yet: pin what the first handshake shows
  std::string pin_file_;
  std::string pin_source_;  // where the expected certificate came from, for the refusal
  CertificateCheck check_;
  std::unique_ptr<httplib::Client> client_;
  std::function<void(const std::string&)> log_;
};

}  // namespace dec::control
