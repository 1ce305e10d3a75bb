#include "dec/runtime/grad_ready.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "dec/core/error.h"

namespace dec::runtime {

class GradReadyHooks::Hook : public torch::autograd::FunctionPostHook {
 public:
  Hook(GradReadyHooks* owner, size_t block) : owner_(owner), block_(block) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    owner_->accumulated(block_);
    return outputs;
  }

 private:
  GradReadyHooks* owner_;
  size_t block_;
};

GradReadyHooks::GradReadyHooks(const std::map<size_t, std::vector<torch::Tensor>>& blocks,
                               std::function<void(size_t)> on_ready)
    : on_ready_(std::move(on_ready)) {
  for (const auto& [block, params] : blocks) {
    Count& c = counts_[block];
    for (const auto& p : params) {
      if (!p.requires_grad()) continue;
      DEC_ASSERT(p.is_leaf(), "a parameter of block ", block, " is not a leaf");
      std::shared_ptr<torch::autograd::Node> acc = torch::autograd::impl::grad_accumulator(p);
      DEC_ASSERT(acc != nullptr, "no gradient accumulator for a parameter of block ", block);
      const uintptr_t key = acc->add_post_hook(std::make_unique<Hook>(this, block));
      installed_.emplace_back(std::move(acc), key);
      ++c.params;
    }
  }
}

GradReadyHooks::~GradReadyHooks() {
  for (auto& [acc, key] : installed_) acc->del_post_hook(key);
}

bool GradReadyHooks::arm(size_t block) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(block);
  if (it == counts_.end() || it->second.params == 0) return false;
  DEC_ASSERT(!it->second.armed, "block ", block, " armed twice");
  it->second.armed = true;
  it->second.left = it->second.params;
  return true;
}

void GradReadyHooks::accumulated(size_t block) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Count& c = counts_.at(block);
    if (!c.armed || --c.left > 0) return;
    c.armed = false;
  }
  on_ready_(block);
}

void GradReadyHooks::finish() {
  std::vector<size_t> released;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [block, c] : counts_) {
      if (!c.armed) continue;
      c.armed = false;
      released.push_back(block);
    }
  }
  for (size_t block : released) on_ready_(block);
}

}  // namespace dec::runtime
