// The control plane's clock seam: code TTLs, session expiry and request times
// read it, so tests move time instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace dec::control {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. Thread-safe.
  virtual int64_t now_ms() = 0;
};

class SystemClock : public Clock {
 public:
  int64_t now_ms() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told; starts at the system time.
class ManualClock : public Clock {
 public:
  ManualClock() : now_(SystemClock().now_ms()) {}
  int64_t now_ms() override { return now_.load(); }
  void advance_ms(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace dec::control
