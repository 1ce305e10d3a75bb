// Admission of requests to a bounded number of compute slots, with a bounded
// queue in front: a request beyond the queue, or one that waits longer than
// its timeout, is refused at once (the server answers 503) rather than
// waiting without bound.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace dec::serve {

class Admission {
 public:
  enum class Result { kAdmitted, kQueueFull, kTimedOut };

  // REQUIRES: slots >= 1, max_waiting >= 0.
  Admission(int slots, int max_waiting);

  // Takes a slot, waiting at most `timeout`; kAdmitted must be paired with release().
  Result acquire(std::chrono::steady_clock::duration timeout);
  void release();

  int inflight() const;
  int waiting() const;

 private:
  const int slots_, max_waiting_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int inflight_ = 0;  // guarded by mu_
  int waiting_ = 0;   // guarded by mu_
};

}  // namespace dec::serve
