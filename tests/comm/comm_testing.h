// Helpers for the comm tests: ranks as threads over a TCPStore on 127.0.0.1 with a
// port picked by the kernel, fake clocks, timing.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <set>
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
  } catch (...) {  // best effort: a rank that cannot say goodbye has already failed its body
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
          } catch (...) {  // it listened before failing: the others have their port
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

// A logical clock for tests with several threads: time moves only when the test
// says so, and a thread that sleeps waits until it does. The test advances it
// to the next time it expects threads to wake at, once they are all asleep, so
// every time read is exact and no assertion depends on how fast the machine is.
class ManualClock final : public Clock {
 public:
  double now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void sleep_until(double t) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (t <= now_) return;
    const auto it = asleep_.insert(t);
    cv_.notify_all();
    cv_.wait(lock, [&] { return now_ >= t; });
    asleep_.erase(it);
  }
  // Waits until `count` threads sleep until `t` (within 1 ns), then moves the
  // clock there. False if they are not all asleep within `patience` (real time:
  // a guard against a hang, never a measurement); the clock then jumps far
  // ahead so that every sleeper wakes and the test can end.
  bool advance_when_asleep(double t, int count,
                           std::chrono::seconds patience = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lock(mu_);
    double latest = now_;  // the latest of their times: all of them wake
    const bool all = cv_.wait_for(lock, patience, [&] {
      int n = 0;
      for (const double s : asleep_) {
        if (std::abs(s - t) >= 1e-9 || s <= now_) continue;
        ++n;
        latest = std::max(latest, s);
      }
      return n >= count;
    });
    now_ = all ? latest : 1e9;
    cv_.notify_all();
    return all;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::multiset<double> asleep_;  // GUARDED_BY(mu_): the times sleepers wait for
  double now_ = 0;                // GUARDED_BY(mu_)
};

}  // namespace dec::comm::testing
