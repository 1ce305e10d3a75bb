// The embedded reminder timer: a thread that runs Control::send_due_reminders()
// every period, so that requests left pending past ControlOptions::remind_after_ms
// remind the leaders once each (a "request.reminder" event, delivered like
// every other through the outbox). With a broker, delayed messages do this
// instead (broker.h). Due-ness is read from the Control's clock, so a test
// moves a ManualClock and the next pass reminds.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "dec/control/control.h"

namespace dec::control {

class ReminderTimer {
 public:
  // Starts the thread; the first pass runs after period_ms.
  ReminderTimer(Control& control, int period_ms);
  ~ReminderTimer();  // stops it after the pass in progress
  ReminderTimer(const ReminderTimer&) = delete;
  ReminderTimer& operator=(const ReminderTimer&) = delete;

 private:
  void run();
  Control& control_;
  int period_ms_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace dec::control
