// The time seam of the communication layer: every deadline, counter and emulated
// delay reads time and sleeps through a Clock, so tests substitute a fake one.
#pragma once

namespace dec::comm {

// Monotonic time in seconds from an arbitrary origin.
//
// Thread safety: implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Current time in seconds; never decreases.
  virtual double now() = 0;
  // Blocks the calling thread until now() >= t; returns at once if t is past.
  virtual void sleep_until(double t) = 0;
};

// std::chrono::steady_clock and std::this_thread::sleep_until. sleep_until may
// overshoot by the scheduler's wake-up latency (tens of microseconds), never undershoot.
class RealClock final : public Clock {
 public:
  double now() override;
  void sleep_until(double t) override;
  // A process-wide instance; never destroyed.
  static RealClock& instance();
};

}  // namespace dec::comm
