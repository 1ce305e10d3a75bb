// What an emulated node's compute tasks cost at full speed (DESIGN.md
// "Emulation"): the thread CPU seconds each task takes on a warm core of this
// machine, measured once, before training, on fresh copies of the node's blocks.
//
// An emulated node of speed s then makes each task take its cost / s
// (ComputePacer). Pacing by the CPU time the task spent in the job instead
// multiplies an artefact of emulation by 1 / s: compute that follows a pause
// needs more CPU than the same compute run back to back (bench/runtime/pause_cost,
// fmnist-cnn, micro-batch 16, 2026-11-30: forward 2.11 ms back to back, 3.34 ms
// after 0.1 s asleep, 3.27 ms after 0.3 s; backward 4.93, 6.81, 6.75 ms), and a
// node at speed 0.01 sleeps about 0.3 s between such tasks. A real device that slow never pauses, so it
// pays none of this; nor does it multiply this machine's noise by 100.
//
// Measuring on copies leaves the job's parameters, buffers (batch-norm
// statistics) and random streams untouched.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "dec/model/model.h"
#include "dec/optim/optimizer.h"

namespace dec::runtime {

// One kind of stage task: blocks [begin, end) on `rows` samples.
struct StageShape {
  size_t begin = 0;
  size_t end = 0;
  int64_t rows = 0;
  bool loss = false;        // the path's last stage: the forward ends in the loss
  bool input_grad = false;  // an earlier stage computes: the backward produces the input's gradient
  bool operator<(const StageShape& o) const {
    return std::tie(begin, end, rows, loss, input_grad) <
           std::tie(o.begin, o.end, o.rows, o.loss, o.input_grad);
  }
};

struct StageCost {
  double forward_s = 0;
  double backward_s = 0;
};

class TaskCosts {
 public:
  TaskCosts() = default;
  // Runs each shape's forward and backward back to back (2 untimed, then the
  // median of at least 7 and 0.2 s of them), and the optimizer step over fresh copies of `step_blocks`
  // (none: no step). Blocks come from spec.build(l, l + 1, seed).
  static TaskCosts measure(const model::ModelSpec& spec, const std::vector<StageShape>& shapes,
                           const std::vector<size_t>& step_blocks,
                           const optim::OptimizerConfig& optimizer, uint64_t seed);

  // REQUIRES: `shape` was measured.
  const StageCost& stage(const StageShape& shape) const;
  double step_s() const { return step_s_; }

 private:
  std::map<StageShape, StageCost> stages_;
  double step_s_ = 0;
};

}  // namespace dec::runtime
