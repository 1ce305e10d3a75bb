// The part of an emulated network between sender and receiver: messages that
// have left their sender and not yet arrived (link_shaper.h). post() queues a
// delivery due at a time; one thread runs the deliveries in posting order, each
// no earlier than its due time. The real transfer thus starts when the emulated
// message arrives, and the sender does not wait for it (Gloo's send is a
// rendezvous with the receiver: done by the sender, it would tie the two
// together and serialise latencies that a real network overlaps).
//
// Failure: the first exception thrown by a delivery is kept; the deliveries after
// it are dropped, and post() and drain() rethrow it.
// Thread safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "dec/comm/clock.h"

namespace dec::comm {

class DelayLine {
 public:
  explicit DelayLine(Clock& clock);
  // Waits for the queued deliveries (each bounded by its own deadline), ignoring
  // their failures, then stops the thread.
  ~DelayLine();
  DelayLine(const DelayLine&) = delete;
  DelayLine& operator=(const DelayLine&) = delete;

  void post(double due, std::function<void()> deliver);
  // Blocks until every delivery posted so far has run; rethrows a failure.
  void drain();

 private:
  struct Item {
    double due;
    std::function<void()> deliver;
  };
  void run();

  Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;     // GUARDED_BY(mu_)
  bool busy_ = false;          // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  std::exception_ptr error_;   // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace dec::comm
