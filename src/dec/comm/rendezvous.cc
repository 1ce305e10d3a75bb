#include "dec/comm/rendezvous.h"

#include <algorithm>
#include <sstream>
#include <thread>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "dec/comm/engine_error.h"
#include "dec/core/error.h"
#include "dec/core/sha256.h"

namespace dec::comm {
namespace {

using Ms = std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;
constexpr Ms kPoll{20};
// How long rank 0 keeps its server up after a failed join so that the present
// ranks can read why, before its caller destroys the store.
constexpr Ms kFailureLinger{1500};

Ms remaining(SteadyTime deadline) {
  const auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
  return std::max(left, Ms(0));
}

std::string endpoint(const InitOptions& init) {
  const bool v6 = init.master_addr.find(':') != std::string::npos;
  return v6 ? dec::str("[", init.master_addr, "]:", init.master_port)
            : dec::str(init.master_addr, ":", init.master_port);
}

std::string encode(const Member& m) {
  return dec::str(m.rank, '\t', m.node_name, '\t', m.tier, '\t', m.node_rank, '\t', m.local_rank);
}

Member decode(const std::string& record, const std::string& where) {
  std::istringstream in(record);
  std::string rank, node_rank, local_rank;
  Member m;
  const bool ok = std::getline(in, rank, '\t') && std::getline(in, m.node_name, '\t') &&
                  std::getline(in, m.tier, '\t') && std::getline(in, node_rank, '\t') &&
                  std::getline(in, local_rank);
  DEC_CHECK(ok, Mismatch, "malformed member record", where, "'", record, "'");
  try {
    m.rank = std::stoi(rank);
    m.node_rank = std::stoi(node_rank);
    m.local_rank = std::stoi(local_rank);
  } catch (const std::exception&) {
    throw Mismatch("malformed member record", where, dec::str("'", record, "'"));
  }
  return m;
}

std::string joined_key(int rank) { return dec::str("joined/", rank); }

std::string label(const RendezvousOptions& o, int rank) {
  if (rank < static_cast<int>(o.expected_names.size()) && !o.expected_names[rank].empty())
    return dec::str("rank ", rank, " (", o.expected_names[rank], ")");
  return dec::str("rank ", rank);
}

std::string list_ranks(const RendezvousOptions& o, const std::vector<int>& ranks) {
  std::string out;
  for (int r : ranks) out += (out.empty() ? "" : ", ") + label(o, r);
  return out;
}

std::vector<int> missing_ranks(Store& job, int world_size) {
  std::vector<int> missing;
  for (int r = 0; r < world_size; ++r)
    if (!job.check({joined_key(r)})) missing.push_back(r);
  return missing;
}

// Connects to (rank 0: starts) the job's TCPStore, bounded by the join deadline.
//
// TCPStore's connect timeout has whole-second granularity (999 ms truncates to 0 s
// and fails at once) and gives up on the first refusal when less than its 1 s retry
// delay is left, so the client retries here, every 100 ms, until our own deadline.
c10::intrusive_ptr<c10d::Store> open_store(const RendezvousOptions& o, SteadyTime deadline,
                                           std::uint16_t* port) {
  c10d::TCPStoreOptions opts;
  opts.port = o.init.master_port;
  opts.isServer = o.init.rank == 0;
  opts.waitWorkers = false;  // its wait returns silently at the timeout: we poll instead
  opts.numWorkers = c10::nullopt;
  const std::string where = endpoint(o.init);
  for (;;) {
    const auto left = remaining(deadline);
    opts.timeout = std::chrono::duration_cast<Ms>(
        std::chrono::ceil<std::chrono::seconds>(std::max(left, Ms(1))));
    try {
      auto store = c10::make_intrusive<c10d::TCPStore>(o.init.master_addr, opts);
      *port = store->getPort();
      return store;
    } catch (...) {
      const auto e = std::current_exception();
      const std::string msg = detail::engine_message(e);
      if (opts.isServer) {
        if (msg.find("in use") != std::string::npos)
          throw ConfigError("cannot host the job's store", where,
                            "the port is in use (another job?); choose another master port, "
                            "or 0 for a free one");
        detail::rethrow_as_dec(e, "cannot host the job's store", where);
      }
      const auto failure = detail::classify(msg);
      if (failure == detail::Failure::kOther)
        detail::rethrow_as_dec(e, "cannot reach the master", where);
      if (remaining(deadline) <= Ms(100))
        throw Timeout("cannot reach the master", where,
                      dec::str("missing rank 0: no store server answered within ",
                               o.join_timeout.count(), " ms (", msg, ")"));
      std::this_thread::sleep_for(Ms(100));
    }
  }
}

void check_identity(const RendezvousOptions& o, Store& root, Store& job, SteadyTime deadline,
                    const std::string& where) {
  std::string hosted;
  try {
    hosted = root.get("dec/job", remaining(deadline));
  } catch (const Timeout&) {
    throw Timeout("rendezvous timed out", where,
                  "the master's store answered but never published a job id");
  }
  DEC_CHECK(hosted == o.job_id, Mismatch, "cannot join job", where, "the master hosts job '",
            hosted, "', this process belongs to job '", o.job_id, "'");
  const std::string fp = job.get("token", remaining(deadline));
  DEC_CHECK(fp == token_fingerprint(o.token), Mismatch, "cannot join job", where,
            "the token differs from rank 0's token (job '", o.job_id, "')");
  const std::string world = job.get("world_size", remaining(deadline));
  DEC_CHECK(world == std::to_string(o.init.world_size), Mismatch, "cannot join job", where,
            "rank 0 expects world size ", world, ", this process says ", o.init.world_size);
}

JoinProgress progress(const RendezvousOptions& o, const std::vector<int>& missing, double elapsed) {
  JoinProgress p;
  p.world_size = o.init.world_size;
  p.joined = p.world_size - static_cast<int>(missing.size());
  p.missing = missing;
  p.elapsed_s = elapsed;
  p.message = dec::str(p.joined, "/", p.world_size, " joined");
  if (!missing.empty()) {
    std::vector<int> shown(missing.begin(), missing.begin() + std::min<size_t>(missing.size(), 8));
    p.message += "; waiting for " + list_ranks(o, shown);
    if (shown.size() < missing.size()) p.message += dec::str(" and ", missing.size() - 8, " more");
  }
  return p;
}

// Rank 0: waits for every rank's claim, then publishes the outcome.
std::string host_join(const RendezvousOptions& o, Store& job, SteadyTime start, SteadyTime deadline,
                      const std::string& where) {
  const int world = o.init.world_size;
  std::vector<int> last_missing{-1};
  auto last_report = start;
  for (;;) {
    const auto missing = missing_ranks(job, world);
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    if (o.on_progress && (missing != last_missing || now - last_report >= o.progress_interval)) {
      o.on_progress(progress(o, missing, elapsed));
      last_report = now;
    }
    last_missing = missing;
    if (missing.empty()) break;
    if (now >= deadline) {
      std::string status = "missing";
      for (int r : missing) status += dec::str(' ', r);
      job.set("status", status);
      // Keep the server up until the present ranks have read the status (or
      // given up on their own deadline).
      const int present = world - static_cast<int>(missing.size()) - 1;
      const auto linger_end = now + kFailureLinger;
      while (job.add("status_seen", 0) < present && std::chrono::steady_clock::now() < linger_end)
        std::this_thread::sleep_for(kPoll);
      throw Timeout("rendezvous timed out", where,
                    dec::str("missing ", list_ranks(o, missing), " after ", o.join_timeout.count(),
                             " ms; ", world - missing.size(), "/", world, " joined"));
    }
    std::this_thread::sleep_for(kPoll);
  }
  std::string table;
  for (int r = 0; r < world; ++r) table += job.get(joined_key(r), Ms(0)) + "\n";
  job.set("members", table);
  job.set("status", "ok");
  return table;
}

// Rank r > 0: waits for rank 0's outcome until its own deadline.
std::string await_join(const RendezvousOptions& o, Store& job, SteadyTime deadline,
                       const std::string& where) {
  for (;;) {
    if (job.check({"status"})) {
      const std::string status = job.get("status", Ms(0));
      if (status == "ok") return job.get("members", Ms(0));
      job.add("status_seen", 1);
      std::vector<int> missing;
      std::istringstream in(status.substr(std::string("missing").size()));
      for (int r; in >> r;) missing.push_back(r);
      throw Timeout("rendezvous timed out", where,
                    dec::str("missing ", list_ranks(o, missing), " (reported by rank 0)"));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const auto missing = missing_ranks(job, o.init.world_size);
      // Only now may rank 0 stop keeping its server up for this rank: said
      // before the read above, rank 0 could exit in between and this rank
      // would report a reset connection instead of the missing ranks.
      job.add("status_seen", 1);
      if (missing.empty())
        throw Timeout("rendezvous timed out", where,
                      "every rank joined but rank 0 did not publish the member table");
      throw Timeout(
          "rendezvous timed out", where,
          dec::str("missing ", list_ranks(o, missing), " after ", o.join_timeout.count(), " ms"));
    }
    std::this_thread::sleep_for(kPoll);
  }
}

void validate_options(const RendezvousOptions& o) {
  validate(o.init, "rendezvous");
  DEC_CHECK(!o.job_id.empty() && o.job_id.find('/') == std::string::npos, ConfigError,
            "invalid job id", "--job-id", "'", o.job_id, "' must be non-empty without '/'");
  for (const std::string* s : {&o.node_name, &o.tier})
    DEC_CHECK(s->find_first_of("\t\n") == std::string::npos, ConfigError, "invalid node name",
              "--node-name", "'", *s, "' contains a tab or newline");
  DEC_CHECK(o.join_timeout.count() > 0, ConfigError, "invalid join timeout", "--join-timeout",
            o.join_timeout.count(), " ms must be positive");
}

}  // namespace

std::string token_fingerprint(const std::string& token) { return sha256_hex("dec-token:" + token); }

const Member& Rendezvous::member(int rank) const {
  DEC_ASSERT(rank >= 0 && rank < world_size(), "rank ", rank, " of ", world_size());
  return members_[rank];
}

std::string Rendezvous::describe(int rank) const {
  if (rank < 0 || rank >= world_size()) return dec::str("rank ", rank);
  return dec::str("rank ", rank, " (", members_[rank].node_name, ")");
}

Rendezvous rendezvous(const RendezvousOptions& o) {
  validate_options(o);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + o.join_timeout;
  std::uint16_t port = o.init.master_port;
  auto native = open_store(o, deadline, &port);
  InitOptions at = o.init;
  at.master_port = port;
  const std::string where = dec::str("job '", o.job_id, "' at ", endpoint(at));
  if (o.init.rank == 0 && o.on_listening) o.on_listening(port);

  Store root(native, dec::str(endpoint(at), " (rank 0's store)"));
  Store job = root.prefixed(o.job_id);
  const bool host = o.init.rank == 0;
  if (host) {
    job.set("token", token_fingerprint(o.token));
    job.set("world_size", std::to_string(o.init.world_size));
    root.set("dec/job", o.job_id);  // last: joiners read it first
  } else {
    check_identity(o, root, job, deadline, where);
  }

  Member self;
  self.rank = o.init.rank;
  self.node_name = o.node_name.empty() ? dec::str("rank", o.init.rank) : o.node_name;
  self.tier = o.tier;
  self.node_rank = o.init.node_rank;
  self.local_rank = o.init.local_rank;
  const std::string record = encode(self);
  const std::string claimed = job.set_if_absent(joined_key(self.rank), record);
  if (claimed != record) {
    const Member other = decode(claimed, where);
    throw Mismatch(
        "cannot join job", where,
        dec::str("rank ", self.rank, " was already claimed by node '", other.node_name, "'"));
  }

  const std::string table =
      host ? host_join(o, job, start, deadline, where) : await_join(o, job, deadline, where);
  Rendezvous out;
  out.rank_ = o.init.rank;
  out.job_id_ = o.job_id;
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    out.members_.push_back(decode(line, where));
  }
  DEC_CHECK(static_cast<int>(out.members_.size()) == o.init.world_size, Mismatch,
            "malformed member table", where, out.members_.size(), " records for world size ",
            o.init.world_size);
  for (int r = 0; r < o.init.world_size; ++r)
    DEC_CHECK(out.members_[r].rank == r, Mismatch, "malformed member table", where, "record ", r,
              " is for rank ", out.members_[r].rank);
  out.store_ = job;
  out.master_addr_ = o.init.master_addr;
  out.master_port_ = port;
  return out;
}

}  // namespace dec::comm
