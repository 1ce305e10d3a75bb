#include "dec/comm/delay_line.h"

namespace dec::comm {

DelayLine::DelayLine(Clock& clock) : clock_(clock), thread_([this] { run(); }) {}

DelayLine::~DelayLine() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return (queue_.empty() && !busy_) || error_; });
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void DelayLine::post(double due, std::function<void()> deliver) {
  std::lock_guard<std::mutex> lock(mu_);
  if (error_) std::rethrow_exception(error_);
  queue_.push_back({due, std::move(deliver)});
  cv_.notify_all();
}

void DelayLine::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return (queue_.empty() && !busy_) || error_; });
  if (error_) std::rethrow_exception(error_);
}

void DelayLine::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::exception_ptr failure;
    try {
      clock_.sleep_until(item.due);
      item.deliver();
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    busy_ = false;
    if (failure && !error_) error_ = failure;
    if (error_) queue_.clear();
    cv_.notify_all();
  }
}

}  // namespace dec::comm
