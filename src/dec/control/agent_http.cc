#include "dec/control/agent_http.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "dec/core/error.h"
#include "dec/core/file.h"

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#error "cpp-httplib without OpenSSL: every user of httplib.h must see CPPHTTPLIB_OPENSSL_SUPPORT (the cpp-httplib pkg-config target defines it)"
#endif

namespace dec::control {

namespace {

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1) return "";
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", md[i]);
    hex += byte;
  }
  return hex;
}

// OpenSSL's check of the server's certificate (SSL_CTX_set_cert_verify_callback):
// replaces the chain check, so that a pin needs no CA. 1 accepts, 0 refuses
// (the handshake fails: the context verifies with SSL_VERIFY_PEER).
int check_certificate(X509_STORE_CTX* store, void* arg) {
  auto* check = static_cast<CertificateCheck*>(arg);
  check->seen = fingerprint(X509_STORE_CTX_get0_cert(store));
  check->refused.clear();
  if (!check->ca_file.empty()) {
    if (X509_verify_cert(store) == 1) return 1;
    check->refused = str("not trusted by ", check->ca_file, ": ",
                         X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
    return 0;
  }
  if (check->pin.empty() || check->seen == check->pin) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  check->refused = str("its SHA-256 fingerprint is ", check->seen, ", the pin is ", check->pin);
  return 0;
}

}  // namespace

std::string certificate_sha256(const std::string& pem_file) {
  FILE* f = std::fopen(pem_file.c_str(), "r");
  DEC_CHECK(f, IoError, "cannot read a certificate", pem_file, std::strerror(errno));
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  DEC_CHECK(cert, CorruptFile, "not a PEM certificate", pem_file, "OpenSSL cannot read it");
  std::string out = fingerprint(cert);
  X509_free(cert);
  return out;
}

std::string normalise_pin(const std::string& pin) {
  std::string out;
  for (char c : pin) {
    if (c == ':') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  bool hex = out.size() == 64 && out.find_first_not_of("0123456789abcdef") == std::string::npos;
  DEC_CHECK(hex, ConfigError, "invalid flag", "--pin-sha256",
            "expected the certificate's SHA-256 fingerprint (64 hex digits, colons allowed), got '",
            pin, "'");
  return out;
}

Agent::Http::Http(const AgentOptions& options, std::string pin_file,
                  std::function<void(const std::string&)> log)
    : url_(options.control_url), pin_file_(std::move(pin_file)), log_(std::move(log)) {
  https_ = url_.rfind("https://", 0) == 0;
  DEC_CHECK(https_ || url_.rfind("http://", 0) == 0, ConfigError, "invalid flag", "--control",
            "expected https://HOST:PORT (or http://), got '", url_, "'");
  client_ = std::make_unique<httplib::Client>(url_);
  DEC_CHECK(client_->is_valid(), ConfigError, "invalid flag", "--control",
            "cannot make a client for '", url_, "'");
  auto timeout = std::chrono::duration<double>(options.timeout_s);
  client_->set_connection_timeout(timeout);
  client_->set_read_timeout(timeout);
  client_->set_write_timeout(timeout);
  client_->set_keep_alive(true);
  if (https_) setup_tls(options);
}

void Agent::Http::setup_tls(const AgentOptions& options) {
  // The check is ours (check_certificate): httplib's would need a CA for a pin.
  client_->enable_server_certificate_verification(false);
  SSL_CTX* ctx = client_->ssl_context();
  DEC_ASSERT(ctx, "an https client without an SSL context");
  if (!options.ca_file.empty()) {
    DEC_CHECK(SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) == 1, ConfigError,
              "cannot load the CA certificate", options.ca_file, "not a readable PEM file");
    check_.ca_file = options.ca_file;
    pin_source_ = "--ca " + options.ca_file;
    // The certificate must also name the host the URL names.
    std::string host = url_.substr(8);
    host = host.substr(0, host.find('/'));
    if (!host.empty() && host.front() == '[') {
      host = host.substr(1, host.find(']') - 1);
    } else {
      host = host.substr(0, host.rfind(':') == std::string::npos ? host.size() : host.rfind(':'));
    }
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
  } else if (!options.pin_sha256.empty()) {
    check_.pin = normalise_pin(options.pin_sha256);
    pin_source_ = "--pin-sha256";
  } else if (std::filesystem::exists(pin_file_)) {
    std::string text = read_file(pin_file_);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    check_.pin = normalise_pin(text);
    pin_source_ = "the pin in " + pin_file_ +
                  " (pinned at first contact; delete it if the certificate was replaced on purpose)";
  } else {
    first_contact_ = true;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, check_certificate, &check_);
}

void Agent::Http::pin_first_contact() {
  if (!first_contact_ || check_.seen.empty()) return;
  write_file_atomic(pin_file_, check_.seen + "\n");
  ::chmod(pin_file_.c_str(), 0600);
  check_.pin = check_.seen;
  first_contact_ = false;
  if (log_) {
    log_(str("pinned the control plane's certificate (trust on first use): sha256 ", check_.seen,
             " in ", pin_file_));
  }
}

Agent::Http::Answer Agent::Http::call(const std::string& method, const std::string& path,
                                      const std::string& token, const nlohmann::json& body) {
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto start = std::chrono::steady_clock::now();
  httplib::Result r = method == "GET"
                          ? client_->Get(path, headers)
                          : client_->Post(path, headers, body.is_null() ? std::string() : body.dump(),
                                          "application/json");
  Answer out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!check_.refused.empty()) {
    throw Mismatch("the control plane's certificate was refused", url_,
                   check_.refused + "; checked against " + pin_source_);
  }
  if (!r) {
    out.error = httplib::to_string(r.error());
    return out;
  }
  if (https_) pin_first_contact();
  out.status = r->status;
  out.body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  return out;
}

}  // namespace dec::control
