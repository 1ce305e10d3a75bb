#include "dec/runtime/model_gather.h"

#include <map>

#include "dec/runtime/block_state.h"
#include "dec/runtime/tags.h"

namespace dec::runtime {

void gather_model(const Worker& worker, comm::Group& world, const ExecPlan& plan,
                  torch::nn::Sequential* whole) {
  torch::NoGradGuard no_grad;
  std::map<size_t, int> owner;
  for (const auto& g : replica_groups(plan)) {
    for (size_t l : g.blocks) owner[l] = g.ranks.front();
  }
  const int rank = world.rank();
  for (size_t l = 0; l < plan.num_blocks; ++l) {
    const int from = owner.at(l);
    if (rank != 0 && rank != from) continue;
    if (rank == from && rank != 0) {
      BlockState s = worker.block_state(l);
      size_t k = 0;
      for (const auto* group : {&s.params, &s.buffers}) {
        for (const auto& [name, t] : *group) world.send_tensor(t, 0, gather_tag(l, k++));
      }
      continue;
    }
    // Rank 0: its own copy, or the owner's tensors in the BlockState order it sent them.
    const std::string& name = worker.block_name(l);
    BlockState s = from == 0 ? worker.block_state(l)
                             : capture_block(*whole, name, nullptr, {});  // names to receive into
    if (from != 0) {
      size_t k = 0;
      for (auto* group : {&s.params, &s.buffers}) {
        for (auto& [n, t] : *group) t = world.recv_tensor(from, gather_tag(l, k++));
      }
    }
    restore_block(*whole, name, s, nullptr, {}, "gathered model");
  }
}

}  // namespace dec::runtime
