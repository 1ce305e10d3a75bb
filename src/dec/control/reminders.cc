// Reminders of requests left pending: the domain's part (Control::remind,
// Control::send_due_reminders) and the embedded timer.
#include "dec/control/reminders.h"

#include <chrono>

#include "dec/control/node.h"

namespace dec::control {

bool Control::remind(int64_t request_id) {
  bool reminded = false;
  db_.transact([&](Tx& tx) {
    Rows rows = tx.query(std::string("SELECT ") + kRequestColumns + " FROM requests WHERE id = $1",
                         {request_id});
    if (rows.empty() || rows[0].text("state") != "pending") return;
    int64_t now = clock_.now_ms();
    // Conditional, so that of two instances (or a redelivered trigger) one
    // reminds, and a request decided meanwhile is not reminded.
    if (tx.exec("UPDATE requests SET reminded_at = $2 "
                "WHERE id = $1 AND state = 'pending' AND reminded_at IS NULL",
                {request_id, now}) != 1) {
      return;
    }
    json request = request_json(rows[0]);
    request["pending_ms"] = now - rows[0].integer("created_at");
    request["to"] = "leaders";
    record(tx, nullptr, "request.reminder", "request", request_id, nullptr, request);
    reminded = true;
  });
  if (reminded) committed();
  return reminded;
}

int Control::send_due_reminders() {
  if (options_.remind_after_ms <= 0) return 0;
  // The approval queue's index (state, created_at) finds them.
  Rows due = db_.query(
      "SELECT id FROM requests WHERE state = 'pending' AND created_at <= $1 "
      "AND reminded_at IS NULL ORDER BY created_at, id LIMIT 500",
      {clock_.now_ms() - options_.remind_after_ms});
  int n = 0;
  for (const Row& r : due) n += remind(r.integer("id")) ? 1 : 0;
  return n;
}

PeriodicTimer::PeriodicTimer(std::function<void()> pass, int period_ms)
    : pass_(std::move(pass)), period_ms_(period_ms), thread_([this] { run(); }) {}

PeriodicTimer::~PeriodicTimer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PeriodicTimer::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(period_ms_), [&] { return stopping_; })) {
    lock.unlock();
    try {
      pass_();
    } catch (const Error&) {
      // The database is down: the next pass finds the same work due.
    }
    lock.lock();
  }
}

}  // namespace dec::control
