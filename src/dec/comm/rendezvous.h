// Rendezvous: how the processes of one job find each other.
//
// Rank 0 hosts a c10d::TCPStore server at master_addr:master_port; every other rank
// connects to it. The protocol, all under the key prefix "<job_id>/" except the
// first key:
//
//   rank 0:  "dec/job"             = job id   (which job this server hosts)
//            "<job>/token"         = sha256 of the shared token
//            "<job>/world_size"
//   rank r:  checks job id, token and world size, then claims
//            "<job>/joined/<r>"    = its Member record (compare-set: a second
//                                    process claiming the same rank is refused)
//   rank 0:  polls the joined keys until all are present or the join deadline,
//            reporting progress; then publishes "<job>/status" = "ok" and
//            "<job>/members", or "missing <ranks>" and fails.
//   rank r:  waits for the status until its own deadline; if the deadline comes
//            first it inspects the joined keys itself, so every rank that is
//            present names the ranks that are not.
//
// One server hosts one job: a second job must use another port (port 0 picks a
// free one). A process pointed at a server that hosts another job, or holding the
// wrong token, fails with Mismatch before writing anything, so the job it stumbled
// into is not disturbed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dec/comm/init_method.h"
#include "dec/comm/store.h"

namespace dec::comm {

// What one rank tells the others about itself.
struct Member {
  int rank = 0;
  std::string node_name;  // "device0", "edge", "cloud"; "rank<r>" if not given
  std::string tier;       // "device", "edge", "cloud" or empty
  int node_rank = 0;
  int local_rank = 0;
};

// Rank 0's view of a join in progress, for a log line such as
// "2/3 joined; waiting for rank 2 (edge)".
struct JoinProgress {
  int joined = 0;
  int world_size = 0;
  std::vector<int> missing;  // ranks not yet joined, ascending
  double elapsed_s = 0;
  // The line above; names come from RendezvousOptions::expected_names when given.
  std::string message;
};

struct RendezvousOptions {
  InitOptions init;
  std::string job_id = "dec";  // keys the store; non-empty, no '/'
  // Shared secret every rank must present; compared as a sha256 fingerprint.
  // Not authentication against an attacker on the network (the store is plain
  // TCP); it keeps processes of different launches apart.
  std::string token;
  std::string node_name;  // defaults to "rank<r>"
  std::string tier;
  std::chrono::milliseconds join_timeout{60000};
  // Optional: labels of the ranks expected to join (index = rank), used by rank 0's
  // progress messages for ranks that have not registered yet.
  std::vector<std::string> expected_names;
  // Rank 0 only: called once the server listens, with the actual port (useful
  // with master_port = 0). Called on the joining thread.
  std::function<void(std::uint16_t port)> on_listening;
  // Rank 0 only: called on the joining thread whenever the set of joined ranks
  // changes and every `progress_interval` while waiting.
  std::function<void(const JoinProgress&)> on_progress;
  std::chrono::milliseconds progress_interval{5000};
};

// The result of a successful rendezvous: the job's store and the member table.
// Holding it keeps rank 0's store server alive; rank 0 must hold it (or a Group made
// from it) until every rank is done with the store.
class Rendezvous {
 public:
  int rank() const { return rank_; }
  int world_size() const { return static_cast<int>(members_.size()); }
  const std::string& job_id() const { return job_id_; }
  const std::vector<Member>& members() const { return members_; }
  const Member& member(int rank) const;
  // "rank 2 (edge0)", the form every error message uses for a peer.
  std::string describe(int rank) const;
  // The store under "<job>/": the handshake and process groups use sub-prefixes.
  const Store& store() const { return store_; }
  const std::string& master_addr() const { return master_addr_; }
  std::uint16_t master_port() const { return master_port_; }

 private:
  friend Rendezvous rendezvous(const RendezvousOptions& options);
  int rank_ = 0;
  std::string job_id_;
  std::vector<Member> members_;
  Store store_;
  std::string master_addr_;
  std::uint16_t master_port_ = 0;
};

// Joins the job described by `options`. Blocks until every rank has joined or the
// join deadline passes (for the whole call, connecting included).
//
// Failure:
//   ConfigError  invalid options; rank 0 cannot listen on the port (in use)
//   Timeout      the deadline passed: where names the master, why names the
//                missing ranks ("missing rank 2 (edge)"); a rank that cannot reach
//                the server says so
//   Mismatch     the server hosts another job, the token or world size differs,
//                or this rank was already claimed by another process
//   PeerLost     rank 0's store server went away during the join
// Thread safety: independent calls may run concurrently (ranks as threads in tests).
Rendezvous rendezvous(const RendezvousOptions& options);

// The sha256 fingerprint that travels instead of the token.
std::string token_fingerprint(const std::string& token);

}  // namespace dec::comm
