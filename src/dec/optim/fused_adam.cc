#include "dec/optim/fused_adam.h"

#include <cmath>
#include <memory>

#include "dec/optim/adam_kernel.h"

namespace dec::optim {
namespace {

// The same tensors laid out alike over one dense block of memory, so that
// element i of each is the same logical element.
bool fusable(const torch::Tensor& p, const torch::Tensor& g, const torch::Tensor& m,
             const torch::Tensor& v) {
  for (const torch::Tensor* t : {&p, &g, &m, &v}) {
    if (t->scalar_type() != torch::kFloat || !t->device().is_cpu() ||
        !t->is_non_overlapping_and_dense() || t->strides() != p.strides()) {
      return false;
    }
  }
  return true;
}

}  // namespace

torch::Tensor FusedAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "FusedAdam does not support sparse gradients");
      const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto& slot = state_[key];
      if (!slot) {
        auto s = std::make_unique<torch::optim::AdamParamState>();
        s->step(0);
        s->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
        if (o.amsgrad()) s->max_exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
        slot = std::move(s);
      }
      auto& s = static_cast<torch::optim::AdamParamState&>(*slot);
      s.step(s.step() + 1);
      const auto [beta1, beta2] = o.betas();
      const double bias1 = 1 - std::pow(beta1, s.step());
      const double bias2 = 1 - std::pow(beta2, s.step());
      torch::Tensor grad = p.grad();
      if (!o.amsgrad() && fusable(p, grad, s.exp_avg(), s.exp_avg_sq())) {
        const AdamScalars k{static_cast<float>(beta1),
                            static_cast<float>(beta2),
                            static_cast<float>(1 - beta1),
                            static_cast<float>(1 - beta2),
                            static_cast<float>(o.weight_decay()),
                            static_cast<float>(o.eps()),
                            static_cast<float>(o.lr() / bias1),
                            static_cast<float>(std::sqrt(bias2))};
        adam_pass(p.data_ptr<float>(), grad.data_ptr<float>(), s.exp_avg().data_ptr<float>(),
                  s.exp_avg_sq().data_ptr<float>(), p.numel(), k);
        continue;
      }
      // torch::optim::Adam::step, operation for operation.
      if (o.weight_decay() != 0) grad = grad.add(p, o.weight_decay());
      s.exp_avg().mul_(beta1).add_(grad, 1 - beta1);
      s.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      torch::Tensor denom;
      if (o.amsgrad()) {
        torch::max_out(s.max_exp_avg_sq(), s.exp_avg_sq(), s.max_exp_avg_sq());
        denom = (s.max_exp_avg_sq().sqrt() / std::sqrt(bias2)).add_(o.eps());
      } else {
        denom = (s.exp_avg_sq().sqrt() / std::sqrt(bias2)).add_(o.eps());
      }
      p.addcdiv_(s.exp_avg(), denom, -o.lr() / bias1);
    }
  }
  return loss;
}

}  // namespace dec::optim
