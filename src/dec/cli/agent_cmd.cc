// `dec agent`: enrols this machine with the control plane, waits for a
// leader's approval, then heartbeats with its facts and measured figures
// (docs/agent.md), until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>

#include "dec/control/agent.h"

namespace dec::cli {

namespace {

std::atomic<bool> g_agent_stop{false};  // lock-free: safe to set from a signal handler

void on_agent_stop_signal(int) { g_agent_stop = true; }

void run_agent(control::AgentOptions& o) {
  o.log = [](const std::string& line) {
    std::printf("dec agent: %s\n", line.c_str());
    std::fflush(stdout);
  };
  struct sigaction action {};
  action.sa_handler = on_agent_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  control::Agent agent(o);
  agent.run(g_agent_stop);
}

}  // namespace

void add_agent_command(CLI::App& app) {
  auto o = std::make_shared<control::AgentOptions>();
  auto* cmd = app.add_subcommand(
      "agent",
      "Enrol this machine with the fleet control plane and keep it online (docs/agent.md):\n"
      "files an enrolment request with the machine's facts, waits for a leader's approval,\n"
      "stores the node credential (0600) in the state directory, then heartbeats.\n"
      "Example: dec agent --control https://control.example.org:8443 --enrol-token enrol-... \\\n"
      "           --tier edge --state-dir /var/lib/dec-agent");
  cmd->add_option("--control", o->control_url, "The control plane: https://HOST:PORT")->required();
  cmd->add_option("--enrol-token", o->enrol_token,
                  "An enrolment token a leader made (POST /api/v1/enrol-tokens); needed until the\n"
                  "node holds a credential");
  cmd->add_option("--tier", o->tier, "This machine's tier: device, edge or cloud");
  cmd->add_option("--name", o->name, "The node's name (default: the host name)");
  cmd->add_option("--state-dir", o->state_dir,
                  "Where the credential, a pending enrolment and the pinned certificate are kept")
      ->capture_default_str();
  auto* ca = cmd->add_option("--ca", o->ca_file,
                             "Trust the control plane's certificate if this CA (PEM) signed it");
  cmd->add_option("--pin-sha256", o->pin_sha256,
                  "Trust exactly the certificate with this SHA-256 fingerprint (hex, colons\n"
                  "allowed). Without --ca or a pin, the first contact's certificate is pinned")
      ->excludes(ca);
  cmd->add_option("--heartbeat", o->heartbeat_s, "Seconds between heartbeats")->capture_default_str();
  cmd->callback([o] { run_agent(*o); });
}

}  // namespace dec::cli
