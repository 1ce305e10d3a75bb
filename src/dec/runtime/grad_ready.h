// Tells when a block's gradient is final during a backward pass, not after it.
//
// A backward through a stage computes the gradients of its top block first. To
// all-reduce them while the lower blocks' backward still runs (what DDP does
// with its bucket hooks), the executor arms the blocks whose last backward of
// the iteration is about to run; a post hook on each parameter's gradient
// accumulator counts the parameters done, and the moment the last one of an
// armed block has accumulated, `on_ready(block)` is called, from the thread
// that runs the backward (autograd runs CPU work on the calling thread).
//
// Blocks whose parameters did not all receive a gradient (an unused
// parameter, a backward that never ran) are released by finish().
//
// Thread safety: arm/finish from the executor's thread; the hooks may run on
// autograd's thread, so the counters are guarded.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace dec::runtime {

class GradReadyHooks {
 public:
  // `blocks`: block index -> its parameters (those without requires_grad are
  // ignored). Installs one hook per parameter for the object's lifetime.
  GradReadyHooks(const std::map<size_t, std::vector<torch::Tensor>>& blocks,
                 std::function<void(size_t)> on_ready);
  ~GradReadyHooks();
  GradReadyHooks(const GradReadyHooks&) = delete;
  GradReadyHooks& operator=(const GradReadyHooks&) = delete;

  // Arms `block` for the next backward. False (nothing armed) when the block is
  // not tracked or has no parameter that takes a gradient: the caller marks it
  // ready itself.
  bool arm(size_t block);
  // After the backward: calls on_ready for every block still armed.
  void finish();

 private:
  class Hook;
  struct Count {
    int params = 0;     // parameters that take a gradient
    int left = 0;       // still to accumulate in the armed backward
    bool armed = false;
  };
  void accumulated(size_t block);

  std::function<void(size_t)> on_ready_;
  std::mutex mu_;
  std::map<size_t, Count> counts_;  // GUARDED_BY(mu_)
  // The accumulators the hooks live on, with each hook's key (removed on
  // destruction). A parameter holds only a weak reference to its accumulator:
  // these keep the hooks alive.
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> installed_;
};

}  // namespace dec::runtime
