// Process groups: the ranks that exchange tensors, over c10d's Gloo backend.
//
// A Group is made once per process from a Rendezvous (the world), and sub-groups
// (replica groups) are made from the world by their members only. Every operation
// is blocking and has a deadline; every engine failure becomes a DEC error that
// names the peer or group:
//
//   PeerLost  the connection to a peer was reset or closed (it crashed, was killed,
//             or exited); where = "rank 2 (edge0)" for point-to-point operations,
//             the group and its members for collectives
//   Timeout   the deadline passed (a frozen or slow peer); where as above
//
// After any failure the group is unusable (Gloo tears down the group's connections
// on a timeout): every later call throws the first error again at once. Build a new
// group (a fresh store prefix) to continue with the survivors.
//
// Thread safety: point-to-point calls may run concurrently from several threads as
// long as no two threads use the same (peer, tag) in the same direction at once:
// messages with the same peer and tag are matched in the order they were posted.
// Collectives must be called in the same order on every member; call them from one
// thread per group, or order them yourself. Groups are independent of each other.
//
// Process-wide side effect: making a group sets SIGPIPE to SIG_IGN, because Gloo
// writes to sockets with writev(2) and a peer's death would otherwise kill this
// process with SIGPIPE instead of raising PeerLost.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dec/comm/clock.h"
#include "dec/comm/counters.h"
#include "dec/comm/link_shaper.h"
#include "dec/comm/rendezvous.h"

namespace dec::comm {

struct GroupOptions {
  // Deadline of every operation, and of building the group. Also passed to Gloo, so
  // its own 30-minute default never applies. A receiver's wait includes the sender's
  // emulated link delay: keep it above the slowest emulated transfer.
  std::chrono::milliseconds timeout{60000};
  // Local address Gloo listens on for its peers. Empty: the address this machine
  // uses to reach the master (the route to MASTER_ADDR), which is 127.0.0.1 for a
  // local job and the veth address inside a network namespace.
  std::string bind_address;
  // Network interface to listen on instead ("lo", "veth1"); wins over bind_address.
  std::string interface;
  // Gloo worker threads per group (collectives run on them). One suffices for
  // collectives issued in order from one thread.
  int worker_threads = 1;
  // Consulted by every send (and by all-reduce, see Group::allreduce_sum); null =
  // no emulation. Shared by the world and its sub-groups.
  std::shared_ptr<LinkShaper> shaper;
  // Time source for the counters' seconds; null = RealClock. (The shaper has its
  // own clock.) Must outlive the group.
  Clock* clock = nullptr;

  GroupOptions& with_timeout(std::chrono::milliseconds t) {
    timeout = t;
    return *this;
  }
  GroupOptions& with_shaper(std::shared_ptr<LinkShaper> s) {
    shaper = std::move(s);
    return *this;
  }
};

class Group {
 public:
  // Builds the world group: every rank of `rv`, in rank order. Collective over the
  // job: every rank must call it, once, with the same timeout. Keeps `rv`'s store
  // alive. Throws Timeout if a rank does not join the group within options.timeout.
  static Group world(const Rendezvous& rv, GroupOptions options = {});

  // Builds a sub-group of `global_ranks` (any order; duplicates are a ConfigError)
  // named `name`. Collective over the members only: each member calls it with the
  // same name and ranks, in the same order relative to its other new_subgroup
  // calls; non-members must not call it. Ranks are renumbered 0..k-1 in ascending
  // global order. Shares this group's options, counters and transport device.
  // Throws ConfigError if this rank is not a member or a rank is out of range.
  Group new_subgroup(const std::string& name, std::vector<int> global_ranks) const;

  Group(Group&&) noexcept;
  Group& operator=(Group&&) noexcept;
  ~Group();  // waits for in-flight collectives (at most the deadline)

  // Identity. Ranks are group ranks unless the name says global.
  int rank() const;
  int size() const;
  const std::string& name() const;
  // Global ranks of the members, ascending; members()[group_rank] == global rank.
  const std::vector<int>& members() const;
  int global_rank(int group_rank) const;
  // The group rank of a global rank; ConfigError if it is not a member.
  int group_rank(int global_rank) const;
  bool contains(int global_rank) const;
  // "rank 2 (edge0)" for a group rank, using global ranks and node names.
  std::string describe(int group_rank) const;

  // The point-to-point tag a two-member group's all-reduce uses; callers' tags
  // are below it.
  static constexpr int kReservedTag = INT_MAX;

  // Point-to-point, one contiguous CPU tensor. `peer` is a group rank other than
  // this one (sending to oneself crashes Gloo: asserted). `tag` in [0, kReservedTag)
  // matches the message to the receive with the same peer and tag. The receiver must pass a
  // tensor of exactly the sender's byte size: Gloo fills a larger buffer partly and
  // silently. Empty tensors are not transmitted (both sides know the size).
  //
  // send is a rendezvous: it returns only after the receiver has posted the matching
  // recv and the bytes are handed to the kernel. Two ranks that send to each other
  // before receiving wait for each other until the deadline: send from another
  // thread where that can happen.
  //
  // With a shaper, send returns once the message has left this rank on the
  // emulated link (it keeps a copy); the real transfer happens at the emulated
  // arrival time, in the background, in send order per peer. A failure of that
  // transfer fails the group: later calls and flush() throw it.
  void send(const at::Tensor& tensor, int peer, int tag);
  void recv(at::Tensor& tensor, int peer, int tag);
  // Blocks until every message sent so far has been handed to its receiver
  // (with a shaper; without one, sends are already complete). Throws the
  // group's failure, if any.
  void flush();

  // A receive posted by post_recv.
  class PendingRecv {
   public:
    // Blocks until the message is in the tensor given to post_recv (at most the
    // group's deadline from now); errors as recv. Once only.
    void wait();

   private:
    friend class Group;
    std::function<void()> wait_;
  };
  // Posts a receive into `tensor` and returns at once; the caller keeps `tensor`
  // alive and unread until wait() returns. Same rules as recv. A receive posted
  // early lets a sender whose send waits for its receiver (Gloo) transmit while
  // this rank computes, as a socket buffer would on a real network.
  PendingRecv post_recv(at::Tensor& tensor, int peer, int tag);

  // Self-describing variant: sends a fixed-size header (wire format v1: dtype, shape,
  // byte count) and then the data, on the same peer and tag. Any tensor (made
  // contiguous; empty ones allowed: only the header travels); recv_tensor allocates
  // exactly what was sent. Mismatch if the header is malformed or of another version.
  void send_tensor(const at::Tensor& tensor, int peer, int tag);
  at::Tensor recv_tensor(int peer, int tag);

  // Collectives over all members. allreduce_sum sums a contiguous CPU tensor in place
  // (any dtype Gloo supports): Gloo's ring, or with two members one exchange of the
  // whole tensor over point-to-point tag kReservedTag (the same bytes in one step;
  // both members hold bitwise the same sum; docs/comm.md, "All-reduce"). When a shaper is set, each rank first
  // pays its route to the next rank of the ring for 2 (n-1)/n of the buffer and
  // 2 (n-1) of its latencies: an approximation of a ring all-reduce on the emulated
  // links.
  void allreduce_sum(at::Tensor& tensor);
  // The same for several tensors as one collective (one entry in the counters):
  // every member passes the same sizes in the same order, one dtype. With two
  // members each tensor is exchanged and summed where it lies; with more they are
  // copied into one flat buffer for the ring and back.
  void allreduce_sum_coalesced(std::vector<at::Tensor>& tensors);
  // Copies `root`'s tensor (group rank) into every member's tensor of the same size.
  // Any layout: a non-contiguous tensor (channels-last weights) travels as a
  // contiguous copy and is written back in place (call under NoGradGuard for
  // parameters). Not shaped.
  void broadcast(at::Tensor& tensor, int root);
  void barrier();

  // Counters shared by the world group and its sub-groups.
  Counters& counters() const;
  std::chrono::milliseconds timeout() const;

  // Implementation; opaque to users.
  struct State;

 private:
  explicit Group(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace dec::comm
