// Helpers for the comm tests: ranks as threads over a TCPStore on 127.0.0.1 with a
// port picked by the kernel, a fake clock, timing.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "dec/comm/clock.h"
#include "dec/comm/rendezvous.h"

namespace dec::comm::testing {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline RendezvousOptions rank_options(
    int rank, int world, const std::string& job = "test",
    std::chrono::milliseconds join_timeout = std::chrono::milliseconds(5000)) {
  RendezvousOptions o;
  o.init.master_addr = "127.0.0.1";
  o.init.master_port = 0;
  o.init.rank = rank;
  o.init.world_size = world;
  o.job_id = job;
  o.token = "secret";
  o.node_name = "node" + std::to_string(rank);
  o.join_timeout = join_timeout;
  return o;
}

// Rank 0 hosts the store: it waits until every other rank is done with it.
inline void leave(Rendezvous& rv) {
  try {
    const Store& store = rv.store();
    if (rv.rank() != 0) {
      store.set("test/left/" + std::to_string(rv.rank()), "1");
      return;
    }
    for (int r = 1; r < rv.world_size(); ++r)
      store.wait({"test/left/" + std::to_string(r)}, std::chrono::seconds(20));
  } catch (...) {
  }
}

// Runs body(rank) on `world` threads after a rendezvous of `job`. Rank 0 picks the
// port; the others start once it listens. `customize` may edit each rank's options.
// Returns each rank's exception (null when it returned normally).
inline std::vector<std::exception_ptr> run_ranks(
    int world, const std::function<void(Rendezvous&)>& body,
    const std::function<void(RendezvousOptions&)>& customize = nullptr,
    const std::string& job = "test") {
  std::vector<std::exception_ptr> errors(world);
  std::promise<std::uint16_t> port_promise;
  auto port = port_promise.get_future().share();
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        RendezvousOptions o = rank_options(r, world, job);
        if (r == 0) {
          o.on_listening = [&](std::uint16_t p) { port_promise.set_value(p); };
        } else {
          if (port.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
            throw std::runtime_error("rank 0 never listened");
          o.init.master_port = port.get();
        }
        if (customize) customize(o);
        Rendezvous rv = rendezvous(o);
        try {
          body(rv);
        } catch (...) {
          leave(rv);
          throw;
        }
        leave(rv);
      } catch (...) {
        errors[r] = std::current_exception();
        if (r == 0) {
          try {
            port_promise.set_value(0);  // unblock the others if rank 0 failed early
          } catch (...) {
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

inline std::string message(const std::exception_ptr& e) {
  if (!e) return "(no error)";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

inline void expect_ok(const std::vector<std::exception_ptr>& errors) {
  for (size_t r = 0; r < errors.size(); ++r)
    EXPECT_FALSE(errors[r]) << "rank " << r << ": " << message(errors[r]);
}

// Time stands still until someone sleeps; sleep_until jumps to the target.
// Single-threaded tests only.
class FakeClock final : public Clock {
 public:
  double now() override { return now_; }
  void sleep_until(double t) override {
    sleeps.push_back(t - now_);
    if (t > now_) now_ = t;
  }
  void advance(double dt) { now_ += dt; }
  std::vector<double> sleeps;  // requested durations, in order

 private:
  double now_ = 1000.0;
};

}  // namespace dec::comm::testing
