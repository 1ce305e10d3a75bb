// A key-value store shared by the ranks of a job: rank 0's c10d::TCPStore seen
// through a key prefix. The rendezvous, the handshake (versions, model hashes, the
// plan) and every process group's own rendezvous go through it.
//
// Unlike c10d's Store, every blocking call here takes an explicit deadline and
// fails with a DEC error naming the keys it waited for, and waits poll with
// check() instead of using TCPStore::wait(timeout): a TCPStore client whose wait
// timed out may still receive the late reply, so the next call on that socket
// would read it as its own answer.
#pragma once

#include <chrono>
#include <string>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <vector>

namespace dec::comm {

// A cheap handle (shared ownership of the underlying c10d store): copies see the
// same keys. The TCP server lives in rank 0's process as long as any handle to
// rank 0's store exists; when it goes, every other rank's calls fail with PeerLost.
//
// Thread safety: calls may be made from several threads; c10d serialises them on
// one socket.
// Failure: Timeout when a deadline passes (where = the key or keys), PeerLost when
// the connection to the store server is lost (where = `server_name`).
class Store {
 public:
  Store() = default;
  // Wraps `store`; `server_name` ("127.0.0.1:29500 (rank 0)") is used in errors.
  Store(c10::intrusive_ptr<c10d::Store> store, std::string server_name);

  // A view of this store in which every key is prefixed with "<prefix>/".
  Store prefixed(const std::string& prefix) const;

  void set(const std::string& key, const std::string& value) const;
  // Waits until `key` exists, then returns its value.
  std::string get(const std::string& key, std::chrono::milliseconds timeout) const;
  // Sets `key` to `value` if it is absent; returns the value the key holds
  // afterwards (the caller's value if it won).
  std::string set_if_absent(const std::string& key, const std::string& value) const;
  // Atomically adds `delta` to an integer counter (created at 0); returns the new value.
  std::int64_t add(const std::string& key, std::int64_t delta) const;
  // True if every key exists; never blocks.
  bool check(const std::vector<std::string>& keys) const;
  // Waits until every key exists; polls at growing intervals, from 50 us up to `poll`.
  void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout,
            std::chrono::milliseconds poll = std::chrono::milliseconds(10)) const;

  bool valid() const { return store_.defined(); }
  const std::string& server_name() const { return server_name_; }
  // The c10d store with this handle's prefix applied, for building process groups.
  c10::intrusive_ptr<c10d::Store> native() const { return store_; }

 private:
  std::string at(const std::string& key) const;  // "<server>, key <key>" for errors

  c10::intrusive_ptr<c10d::Store> store_;
  std::string server_name_;
};

}  // namespace dec::comm
