#include "dec/serve/admission.h"

#include "dec/core/error.h"

namespace dec::serve {

Admission::Admission(int slots, int max_waiting) : slots_(slots), max_waiting_(max_waiting) {
  DEC_ASSERT(slots >= 1 && max_waiting >= 0, "slots ", slots, ", max_waiting ", max_waiting);
}

Admission::Result Admission::acquire(std::chrono::steady_clock::duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (inflight_ < slots_ && waiting_ == 0) {
    ++inflight_;
    return Result::kAdmitted;
  }
  if (waiting_ >= max_waiting_) return Result::kQueueFull;
  ++waiting_;
  const bool got = cv_.wait_for(lock, timeout, [this] { return inflight_ < slots_; });
  --waiting_;
  if (!got) return Result::kTimedOut;
  ++inflight_;
  return Result::kAdmitted;
}

void Admission::release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    DEC_ASSERT(inflight_ > 0, "release without acquire");
    --inflight_;
  }
  cv_.notify_one();
}

int Admission::inflight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inflight_;
}

int Admission::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

}  // namespace dec::serve
