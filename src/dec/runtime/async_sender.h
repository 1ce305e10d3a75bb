// Non-blocking sends for the executor: one FIFO queue and thread per peer.
//
// The compute thread must never block on a send (an emulated link may take
// seconds to carry a tensor, and a Gloo send may wait for its receiver): it
// enqueues and moves on, as a NIC would. Messages to one peer leave in the order
// they were enqueued, which preserves Gloo's (peer, tag) matching order.
//
// Failure: the first exception from any send is kept and rethrown by the next
// enqueue() or by flush(); later sends are dropped.
// Thread safety: enqueue/flush from one thread (the executor's).
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "dec/comm/group.h"
#include "dec/runtime/trace.h"

namespace dec::runtime {

class AsyncSender {
 public:
  // `tracer` (optional, must outlive this) receives a "send" span per message.
  explicit AsyncSender(comm::Group& group, Tracer* tracer = nullptr)
      : group_(group), tracer_(tracer) {}
  ~AsyncSender();  // stops the threads; pending messages are abandoned
  AsyncSender(const AsyncSender&) = delete;
  AsyncSender& operator=(const AsyncSender&) = delete;

  // Sends `tensor` (kept alive until sent; must not be modified) to group rank `peer`.
  void enqueue(const torch::Tensor& tensor, int peer, int tag);
  // Blocks until every enqueued message has left this rank (its Group::send
  // returned); rethrows a send failure. On an emulated link a message that has
  // left may still be in flight, as on a real network: waiting for it to arrive
  // too would idle the link for its latency at every step (S2/W1's raw samples,
  // 20 ms of latency on a 275 ms iteration: 7% slower than the same plan over
  // real links). Group::flush waits for arrivals.
  void flush();

 private:
  struct Message {
    torch::Tensor tensor;
    int tag;
  };
  struct Lane {
    std::deque<Message> queue;
    std::thread thread;
    bool busy = false;
  };
  void run(int peer);
  void rethrow_locked();

  comm::Group& group_;
  Tracer* tracer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, std::unique_ptr<Lane>> lanes_;  // GUARDED_BY(mu_)
  std::exception_ptr error_;                    // GUARDED_BY(mu_)
  bool stopping_ = false;                       // GUARDED_BY(mu_)
};

}  // namespace dec::runtime
