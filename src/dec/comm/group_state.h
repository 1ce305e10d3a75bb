// Internal to dec_comm: what a Group holds. Shared by group.cc (building groups)
// and group_ops.cc (using them).
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <vector>

#include "dec/comm/delay_line.h"
#include "dec/comm/group.h"
#include "dec/core/error.h"

namespace dec::comm {

// Per world group, shared with its sub-groups.
struct WorldShared {
  std::vector<Member> members;  // by global rank
  int global_rank = 0;
  Store store;  // the job's store ("<job>/")
  GroupOptions options;
  Clock* clock = nullptr;  // never null
  std::shared_ptr<::gloo::transport::Device> device;
  std::shared_ptr<Counters> counters;

  std::mutex mu;
  std::map<std::string, int> generations;  // GUARDED_BY(mu): sub-groups built per key

  std::string describe_global(int global_rank) const;
};

struct Group::State {
  std::shared_ptr<WorldShared> world;
  std::string name;
  std::vector<int> members;  // global ranks, ascending
  int rank = 0;              // this process's group rank
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;

  std::mutex mu;
  std::exception_ptr failure;  // GUARDED_BY(mu): the first engine failure

  // "group 'replica/3' [rank 0 (device0), rank 2 (cloud)]"
  std::string describe_group() const;
  // Throws the recorded failure, if any.
  void throw_if_failed();
  // Error locations, formatted only when an error is thrown:
  // "rank 2 (edge0), tag 7" and describe_group().
  auto at_peer(int peer, int tag) const {
    return [this, peer, tag] {
      return dec::str(world->describe_global(members[peer]), ", tag ", tag);
    };
  }
  auto at_group() const {
    return [this] { return describe_group(); };
  }
  // Runs `op`; an engine exception is converted (detail::rethrow_as_dec, where =
  // where()), recorded as the group's failure and thrown. dec::Errors thrown by `op`
  // (checks on the caller's arguments) pass through and leave the group usable.
  template <typename Where, typename Op>
  void guarded(const char* what, Where&& where, Op&& op);
  // Emulated links only: books `bytes` to group rank `peer` on the shaper, has the
  // peer's delay line run `deliver` (the real transfer) at the arrival time, and
  // blocks until the message has left this rank.
  void send_delayed(int peer, std::uint64_t bytes, std::function<void()> deliver);

  // Declared after pg: destroyed first, so queued deliveries still have their group.
  std::mutex lines_mu;
  std::map<int, std::unique_ptr<DelayLine>> lines;  // GUARDED_BY(lines_mu): by peer
};

}  // namespace dec::comm
