// `dec serve --all-tiers`: the device, edge and cloud servers of one device's
// chain in a cluster spec, as child processes of this one, on this machine
// (docs/inference.md, "One command for all tiers").
//
// Contract of serve_all_tiers():
// - The chain is serve::tier_chain(spec, device): the device, its edge, the
//   cloud. Each tier is `dec serve --tier T --name <node> --listen HOST:PORT_T`
//   with every other serve flag given to `cmd` (--model, --checkpoint,
//   --cluster, --device, --profile, --emulate, --threads, ...; the int8 flags
//   only to the device, whose lightweight model they make); the edge gets
//   --next the cloud, the device --next the edge.
// - Ports: the device listens on `listen`, the edge on its port + 1, the
//   cloud on its port + 2; port 0 gives each tier a free port of its own.
// - The cloud starts first, the edge once the cloud listens, the device once
//   the edge listens. Each line a tier prints goes to stderr prefixed with
//   "[<node>] "; once every tier is ready, one block names their URLs and pids.
// - SIGINT, SIGTERM or SIGHUP to this process: every tier gets SIGTERM (then
//   SIGKILL after 10 s) and the call returns once all have ended. A tier that
//   ends by itself stops the others the same way, after a line naming it, and
//   the call throws ChildFailed with its exit code (1 if it exited 0).
// - The tiers get SIGTERM when this process dies, even by SIGKILL
//   (PR_SET_PDEATHSIG), so no server outlives it. Any error while starting
//   kills and reaps the tiers already started.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace dec::cli {

struct AllTiersOptions {
  std::string cluster;  // --cluster: the spec (required)
  std::string device;   // --device: whose chain (required)
  std::string listen;   // --listen: the device's HOST:PORT
  std::string model;    // --model: only to name the infer URL
};

// Throws ConfigError for missing --cluster/--device, for --tier, --next or
// --name (each tier gets its own), a bad --listen, or a chain that is not
// device -> edge -> cloud; Timeout when a tier does not listen within 300 s;
// ChildFailed as above.
void serve_all_tiers(const CLI::App& cmd, const AllTiersOptions& options);

}  // namespace dec::cli
