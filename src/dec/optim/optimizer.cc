#include "dec/optim/optimizer.h"

#include <cmath>

#include "dec/core/error.h"
#include "dec/optim/fused_adam.h"

namespace dec::optim {

double OptimizerConfig::state_factor() const { return kind == "adam" ? 2.0 : 1.0; }

std::string OptimizerConfig::to_string() const {
  if (kind == "adam") {
    return str("adam(lr=", lr, ", betas=(", beta1, ", ", beta2, "), eps=", eps,
               ", weight_decay=", weight_decay, ")");
  }
  return str("sgd(lr=", lr, ", momentum=", momentum, ", weight_decay=", weight_decay, ")");
}

void validate(const OptimizerConfig& c, const std::string& where) {
  DEC_CHECK(c.kind == "sgd" || c.kind == "adam", ConfigError, "unknown optimizer", where,
            "'", c.kind, "' (expected sgd or adam)");
  DEC_CHECK(std::isfinite(c.lr) && c.lr > 0, ConfigError, "invalid learning rate", where,
            "must be positive, got ", c.lr);
  DEC_CHECK(c.momentum >= 0 && c.momentum < 1, ConfigError, "invalid momentum", where,
            "must be in [0, 1), got ", c.momentum);
  DEC_CHECK(c.weight_decay >= 0, ConfigError, "invalid weight decay", where,
            "must be non-negative, got ", c.weight_decay);
}

namespace {
std::vector<torch::Tensor> tensors_of(const NamedParams& params) {
  std::vector<torch::Tensor> out;
  out.reserve(params.size());
  for (const auto& [name, t] : params) out.push_back(t);
  return out;
}

std::string key_of(const torch::Tensor& p) {
  return c10::guts::to_string(p.unsafeGetTensorImpl());
}
}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const NamedParams& params,
                                                        const OptimizerConfig& c) {
  validate(c, "optimizer");
  if (c.kind == "adam") {
    return std::make_unique<FusedAdam>(
        tensors_of(params), torch::optim::AdamOptions(c.lr)
                                .betas({c.beta1, c.beta2})
                                .eps(c.eps)
                                .weight_decay(c.weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(
      tensors_of(params),
      torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
}

std::map<std::string, torch::Tensor> export_state(const torch::optim::Optimizer& opt,
                                                  const OptimizerConfig& c,
                                                  const NamedParams& params) {
  std::map<std::string, torch::Tensor> out;
  const auto& state = opt.state();
  for (const auto& [name, p] : params) {
    auto it = state.find(key_of(p));
    if (it == state.end()) continue;
    if (c.kind == "adam") {
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
      out[name + "/step"] = torch::tensor(s.step(), torch::kInt64);
      out[name + "/exp_avg"] = s.exp_avg().clone();
      out[name + "/exp_avg_sq"] = s.exp_avg_sq().clone();
    } else {
      const auto& s = static_cast<const torch::optim::SGDParamState&>(*it->second);
      if (s.momentum_buffer().defined()) out[name + "/momentum_buffer"] = s.momentum_buffer().clone();
    }
  }
  return out;
}

namespace {
torch::Tensor need(const std::map<std::string, torch::Tensor>& state, const std::string& key,
                   const torch::Tensor& like, const std::string& where) {
  auto it = state.find(key);
  DEC_CHECK(it != state.end(), CorruptFile, "incomplete optimizer state", where, "missing '", key,
            "'");
  if (like.defined()) {
    DEC_CHECK(it->second.sizes() == like.sizes(), CorruptFile, "optimizer state does not fit",
              where, "'", key, "' has shape ", it->second.sizes(), ", parameter has ",
              like.sizes());
    // In the parameter's layout (channels-last weights), as a fresh state would be.
    return torch::empty_like(like).copy_(it->second);
  }
  return it->second;
}
}  // namespace

void import_state(torch::optim::Optimizer& opt, const OptimizerConfig& c,
                  const NamedParams& params, const std::map<std::string, torch::Tensor>& state,
                  const std::string& where) {
  auto& st = opt.state();
  for (const auto& [name, p] : params) {
    const bool present = c.kind == "adam" ? state.count(name + "/step") > 0
                                          : state.count(name + "/momentum_buffer") > 0;
    if (!present) continue;  // no step taken yet for this parameter
    if (c.kind == "adam") {
      auto s = std::make_unique<torch::optim::AdamParamState>();
      s->step(need(state, name + "/step", {}, where).item<int64_t>());
      s->exp_avg(need(state, name + "/exp_avg", p, where));
      s->exp_avg_sq(need(state, name + "/exp_avg_sq", p, where));
      st[key_of(p)] = std::move(s);
    } else {
      auto s = std::make_unique<torch::optim::SGDParamState>();
      s->momentum_buffer(need(state, name + "/momentum_buffer", p, where));
      st[key_of(p)] = std::move(s);
    }
  }
}

}  // namespace dec::optim
