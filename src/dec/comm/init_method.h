// Init methods: where a process finds the job's master and who it is in the job.
//
// Like torchrun, a process learns its identity in one of two ways:
//
//   tcp://host:port  the master's address in a URL; rank and world size come from flags
//   env://           everything from the environment: MASTER_ADDR, MASTER_PORT, RANK,
//                    WORLD_SIZE, and optionally LOCAL_RANK and NODE_RANK
//
// Parsing is pure (no sockets, no LibTorch) so the CLI can validate flags before it
// starts anything. The environment is read through a seam (EnvLookup) so tests do not
// touch the process environment.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace dec::comm {

// Who this process is and where the master is. Every field has a default, but
// a usable InitOptions always has master_addr, rank and world_size set by one of the
// parse functions below (or by hand in tests).
struct InitOptions {
  std::string master_addr = "127.0.0.1";  // host name or IPv4/IPv6 literal of rank 0
  // Port of rank 0's store. 0 asks rank 0 to pick a free port and report it
  // (RendezvousOptions::on_listening); only meaningful when other ranks learn the
  // port some other way (tests, a launcher that forks).
  std::uint16_t master_port = 29500;
  int rank = 0;        // global rank, 0 <= rank < world_size
  int world_size = 1;  // number of processes in the job
  int local_rank = 0;  // rank among the processes of this machine
  int node_rank = 0;   // index of this machine among the job's machines

  InitOptions& with_master(std::string addr, std::uint16_t port) {
    master_addr = std::move(addr);
    master_port = port;
    return *this;
  }
  InitOptions& with_rank(int r, int world) {
    rank = r;
    world_size = world;
    return *this;
  }
};

// Returns the value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The real environment (std::getenv).
EnvLookup process_env();

// Parses "tcp://host:port" (IPv6 hosts in brackets: "tcp://[::1]:29500") into
// master_addr/master_port of `base` and returns the result; rank and world size are
// taken from `base`. "env://" reads everything from `env` (see init_from_env).
// Throws ConfigError naming `flag` (e.g. "--init-method") on a malformed URL, an
// unknown scheme or a port outside 0..65535.
InitOptions parse_init_method(const std::string& url, const InitOptions& base,
                              const EnvLookup& env = process_env(),
                              const std::string& flag = "--init-method");

// Reads MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE (required) and LOCAL_RANK,
// NODE_RANK (default 0). Throws ConfigError naming the variable when one is missing,
// not an integer, or out of range (RANK >= WORLD_SIZE, a negative value...).
InitOptions init_from_env(const EnvLookup& env = process_env());

// torchrun's numbering: global rank = node_rank * nproc_per_node + local_rank,
// world size = nnodes * nproc_per_node. Throws ConfigError naming the offending
// flag when a value is out of range.
InitOptions layout_ranks(InitOptions base, int nnodes, int nproc_per_node, int node_rank,
                         int local_rank);

// Checks the invariants every rendezvous relies on (0 <= rank < world_size, a
// non-empty master address...). Throws ConfigError naming `where`.
void validate(const InitOptions& options, const std::string& where);

}  // namespace dec::comm
