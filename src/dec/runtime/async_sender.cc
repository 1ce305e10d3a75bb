#include "dec/runtime/async_sender.h"

#include "dec/core/error.h"

namespace dec::runtime {

AsyncSender::~AsyncSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& [peer, lane] : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

void AsyncSender::rethrow_locked() {
  if (error_) std::rethrow_exception(error_);
}

void AsyncSender::enqueue(const torch::Tensor& tensor, int peer, int tag) {
  std::unique_lock<std::mutex> lock(mu_);
  rethrow_locked();
  auto& lane = lanes_[peer];
  if (!lane) {
    lane = std::make_unique<Lane>();
    lane->thread = std::thread([this, peer] { run(peer); });
  }
  lane->queue.push_back({tensor.contiguous(), tag});
  cv_.notify_all();
}

void AsyncSender::flush() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] {
      if (error_) return true;
      for (auto& [peer, lane] : lanes_) {
        if (lane->busy || !lane->queue.empty()) return false;
      }
      return true;
    });
    rethrow_locked();
  }
}

void AsyncSender::run(int peer) {
  std::unique_lock<std::mutex> lock(mu_);
  Lane& lane = *lanes_.at(peer);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !lane.queue.empty(); });
    if (stopping_) return;
    Message m = std::move(lane.queue.front());
    lane.queue.pop_front();
    lane.busy = true;
    lock.unlock();
    std::exception_ptr failure;
    try {
      const auto t0 = Tracer::Clock::now();
      group_.send(m.tensor, peer, m.tag);
      if (tracer_) tracer_->add("send", t0, Tracer::Clock::now(), "to " + group_.describe(peer));
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    lane.busy = false;
    if (failure && !error_) error_ = failure;
    if (error_) lane.queue.clear();
    cv_.notify_all();
  }
}

}  // namespace dec::runtime
