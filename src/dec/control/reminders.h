// The embedded reminder timer: a thread that runs Control::send_due_reminders()
// every period, so that requests left pending past ControlOptions::remind_after_ms
// remind the leaders once each (a "request.reminder" event, delivered like
// every other through the outbox). With a broker, delayed messages do this
// instead (broker.h). Due-ness is read from the Control's clock, so a test
// moves a ManualClock and the next pass reminds.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "dec/control/control.h"

namespace dec::control {

// A thread that runs a pass every period_ms (the first after period_ms); a pass
// that throws dec::Error (the database is down) is retried at the next period.
// The embedded reminder timer and the offline sweep (agents) are two.
class PeriodicTimer {
 public:
  PeriodicTimer(std::function<void()> pass, int period_ms);
  ~PeriodicTimer();  // stops it after the pass in progress
  PeriodicTimer(const PeriodicTimer&) = delete;
  PeriodicTimer& operator=(const PeriodicTimer&) = delete;

 private:
  void run();
  std::function<void()> pass_;
  int period_ms_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

class ReminderTimer : public PeriodicTimer {
 public:
  ReminderTimer(Control& control, int period_ms)
      : PeriodicTimer([&control] { control.send_due_reminders(); }, period_ms) {}
};

}  // namespace dec::control
