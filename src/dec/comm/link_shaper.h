// Link emulation (DESIGN.md "Emulation"): on one machine every link is loopback, so
// the point-to-point layer asks a LinkShaper how long the emulated link would take
// to carry a message and blocks the sender for that long before handing the bytes
// to the transport. The receiver therefore sees a message no earlier than the
// emulated link would have delivered it.
//
// Model of one directed link (src -> dst) with rate R (Mbit/s) and one-way latency L:
// a token bucket of capacity `burst` that fills at R. A message of B bytes reserves
// B bytes of tokens (the bucket may go into debt); it has left the sender once the
// debt it created is paid back, and arrives L seconds later. Messages on the same
// link, from any number of threads, share the bucket, so concurrent senders split R
// and their latencies overlap. A sender that sends back to back pays L per message
// (it cannot know delivery earlier); send from several threads to pipeline.
//
// This is the same cost the planner charges (bytes / bandwidth + latency), so a
// measured emulated run can be compared with the predicted one.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "dec/comm/clock.h"

namespace dec::comm {

// The interface the process groups consult. Ranks are global ranks.
//
// Thread safety: called concurrently from every thread that sends.
// Failure: a link the shaper does not know is not emulated (unlimited, no
// latency); exceptions thrown by `send` propagate unchanged.
class LinkShaper {
 public:
  virtual ~LinkShaper() = default;
  // Blocks until `bytes` offered now from `src` to `dst` would have arrived (the
  // transmission time on the link plus `latencies` one-way latencies; a ring
  // all-reduce crosses a link several times in sequence), then runs `send`, the
  // real transfer. The time `send` takes is the loopback transport's own cost;
  // an emulated link would have overlapped it with the transmission, so it is
  // credited to the link's next message rather than charged twice.
  virtual void transmit(int src, int dst, std::size_t bytes, int latencies,
                        const std::function<void()>& send) = 0;
  // transmit() with nothing to send: only the delay.
  void pace(int src, int dst, std::size_t bytes, int latencies = 1) {
    transmit(src, dst, bytes, latencies, [] {});
  }
};

struct LinkSpec {
  double mbps = 0;       // rate in Mbit/s (1e6 bit/s); 0 = unlimited
  double latency_s = 0;  // one-way latency in seconds
  // Bucket capacity in seconds of the rate. A small burst absorbs the sleeper's
  // wake-up overshoot so it does not accumulate; a message smaller than the
  // burst passes without waiting when the link has been idle.
  double burst_s = 0.001;
};

// The LinkShaper used for emulation: one token bucket per directed link.
// Links not configured are not shaped. Pacing is as accurate as the clock's
// sleeps and the credit: a stream of messages keeps the link's rate as long as the
// real cost of each send is below its transmission time.
//
// Thread safety: all methods may be called concurrently. Time is read and slept
// through `clock`, which must outlive the shaper.
class TokenBucketShaper final : public LinkShaper {
 public:
  explicit TokenBucketShaper(Clock& clock = RealClock::instance()) : clock_(clock) {}

  // Configures (or reconfigures) the directed link src -> dst. Throws ConfigError
  // for a negative or non-finite rate, latency or burst.
  void set_link(int src, int dst, const LinkSpec& spec);
  // Same spec in both directions.
  void set_duplex(int a, int b, const LinkSpec& spec) {
    set_link(a, b, spec);
    set_link(b, a, spec);
  }

  void transmit(int src, int dst, std::size_t bytes, int latencies,
                const std::function<void()>& send) override;

  // The time at which a message of `bytes` offered at time `now` arrives, and books
  // it on the link. transmit() is reserve(), Clock::sleep_until, send, credit().
  // Exposed for tests of the bucket arithmetic.
  double reserve(int src, int dst, std::size_t bytes, int latencies, double now);
  // Records that the real transfer of the link's last message took `seconds`.
  void credit(int src, int dst, double seconds);

 private:
  struct Link {
    LinkSpec spec;
    // Virtual time at which every byte booked so far has been transmitted
    // (the bucket's debt is zero). Starts in the far past: the bucket is full.
    double free_at = -1e300;
    // Seconds of the last real transfer, not yet credited; at most that
    // message's transmission time.
    double credit = 0;
    double last_tx = 0;
  };

  Clock& clock_;
  std::mutex mu_;
  std::map<std::pair<int, int>, Link> links_;  // GUARDED_BY(mu_)
};

}  // namespace dec::comm
