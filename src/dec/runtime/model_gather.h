// The whole model gathered to rank 0 (for evaluation): every block's parameters
// and buffers come from its owner, the lowest rank of its replica group, on the
// gather tags (tags.h).
#pragma once

#include <torch/torch.h>

#include "dec/comm/group.h"
#include "dec/runtime/exec_plan.h"
#include "dec/runtime/worker.h"

namespace dec::runtime {

// Collective over the blocks' owners and rank 0. On rank 0, `whole` (a model
// built from the same spec) receives every block's tensors; elsewhere it is
// not touched and may be null. Failure: PeerLost/Timeout from communication.
void gather_model(const Worker& worker, comm::Group& world, const ExecPlan& plan,
                  torch::nn::Sequential* whole);

}  // namespace dec::runtime
