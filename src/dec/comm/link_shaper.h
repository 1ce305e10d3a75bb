// Link emulation (docs/comm.md, "Link emulation"): on one machine every link is loopback, so
// the point-to-point layer asks a LinkShaper what the emulated network would do
// with a message: when it has left the sender and when it arrives.
//
// The sender blocks until its message has left (transmitted on the first link of
// the route); a DelayLine (delay_line.h) then hands the bytes to the transport at
// the arrival time. Latency therefore overlaps between messages, as on a real
// link, and a sender never pays it.
//
// Model of one directed link (a -> b) with rate R (Mbit/s) and one-way latency L: a
// token bucket of capacity `burst` that fills at R. A message of B bytes reserves
// B bytes of tokens (the bucket may go into debt); it has crossed the link once
// the debt it created is paid back, and reaches the link's far end L later.
// Messages on the same link, from any number of threads and routes, share its
// bucket. A message whose route crosses several links (a device talking to the
// cloud through its edge) is stored and forwarded link by link.
//
// This is the cost the planner charges (bytes / bandwidth per link on the route,
// plus latencies), so a measured emulated run can be compared with the predicted one.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "dec/comm/clock.h"

namespace dec::comm {

// When a booked message leaves its sender and reaches its receiver (clock seconds).
struct Transmission {
  double leave_at = 0;
  double arrive_at = 0;
};

// The interface the process groups consult. Ranks are global ranks.
//
// Thread safety: called concurrently from every thread that sends or receives.
// Failure: a pair of ranks the shaper does not know is not emulated (no delay).
class LinkShaper {
 public:
  virtual ~LinkShaper() = default;
  // Books `bytes` offered now from `src` to `dst` on every link of their route.
  virtual Transmission book(int src, int dst, std::size_t bytes) = 0;
  // One-way latency of the route from `src` to `dst`, in seconds.
  virtual double latency(int src, int dst) = 0;
  // The clock the times above are read on; senders and receivers sleep on it.
  // Every process of a job on one machine must use the same time base
  // (RealClock: CLOCK_MONOTONIC, shared by all processes and namespaces).
  virtual Clock& clock() = 0;
};

struct LinkSpec {
  double mbps = 0;       // rate in Mbit/s (1e6 bit/s); 0 = unlimited (rate enforced elsewhere)
  double latency_s = 0;  // one-way latency in seconds
  // Bucket capacity in seconds of the rate. A small burst absorbs the sleeper's
  // wake-up overshoot so it does not accumulate; a message smaller than the
  // burst passes without waiting when the link has been idle.
  double burst_s = 0.001;
};

// The LinkShaper used for emulation: one token bucket per directed link between
// two endpoints (opaque ids: the runtime uses the cluster spec's node indices),
// and a route per pair of ranks. Without a route, a message from rank s to rank d
// crosses the link (s, d), so small setups can name links by rank. Links not
// configured are not shaped.
//
// Pacing is as accurate as the clock's sleeps: a sender that books its next
// message as soon as the last one has left keeps the link at its rate.
//
// Thread safety: all methods may be called concurrently. Time is read and slept
// through `clock`, which must outlive the shaper.
class TokenBucketShaper final : public LinkShaper {
 public:
  explicit TokenBucketShaper(Clock& clock = RealClock::instance()) : clock_(clock) {}

  // Configures (or reconfigures) the directed link a -> b. Throws ConfigError
  // for a negative or non-finite rate, latency or burst.
  void set_link(int a, int b, const LinkSpec& spec);
  // Same spec in both directions.
  void set_duplex(int a, int b, const LinkSpec& spec) {
    set_link(a, b, spec);
    set_link(b, a, spec);
  }
  // Messages from rank `src` to rank `dst` cross the links between consecutive
  // `endpoints` (at least two: the first is src's, the last dst's).
  void set_route(int src, int dst, std::vector<int> endpoints);

  Transmission book(int src, int dst, std::size_t bytes) override;
  // The same with an explicit offer time; exposed for tests of the bucket arithmetic.
  Transmission book_at(int src, int dst, std::size_t bytes, double now);
  double latency(int src, int dst) override;
  Clock& clock() override { return clock_; }

 private:
  struct Link {
    LinkSpec spec;
    // Virtual time at which every byte booked so far has been transmitted
    // (the bucket's debt is zero). Starts in the far past: the bucket is full.
    double free_at = -1e300;
  };
  const std::vector<int>& route_locked(int src, int dst);
  Link* link_locked(int a, int b);

  Clock& clock_;
  std::mutex mu_;
  std::map<std::pair<int, int>, Link> links_;               // GUARDED_BY(mu_)
  std::map<std::pair<int, int>, std::vector<int>> routes_;  // GUARDED_BY(mu_)
};

}  // namespace dec::comm
