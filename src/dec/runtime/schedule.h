// The order in which one rank runs its tasks in an iteration: the per-rank
// schedule that the Worker executes (docs/runtime.md, "Schedule").
//
// A task is the forward or the backward of one stage of one path on one
// micro-batch. Every rank sorts its tasks by one key that all ranks share —
// (phase, path, micro-batch, position in the path) — so the earliest unfinished
// task of the whole job can always run and no schedule deadlocks (each task's
// inputs come from tasks earlier in that order, and sends never block the
// compute thread). Phases, in order:
//
//   raw       stages that only forward raw samples (a source or a relay before
//             any computing stage): the links start carrying them at once;
//   feed      forwards of a path's first computing stage, which later stages
//             wait for;
//   alone     a path's only computing stage runs each micro-batch's backward
//             right after its forward ("pairs": nobody waits for them, and the
//             activations are still in cache);
//   forward   forwards that wait for an earlier stage; a path's last stage (and
//             the relays just before it) run each micro-batch's backward right
//             after its forward here when an earlier stage waits for the
//             gradient ("early backward"), so the gradient starts back while the
//             rank still has forwards to run;
//   backward  every other backward, last stage first (GPipe).
//
// Pure: no tensors, no communication. Thread safety: none needed (values).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "dec/runtime/exec_plan.h"

namespace dec::runtime {

struct Task {
  bool backward = false;
  size_t path = 0;
  int64_t micro = 0;
  size_t stage = 0;
  int64_t samples = 0;  // size of the micro-batch
  int64_t offset = 0;   // its first sample in the global batch
};

// True when some stage before `j` runs blocks, i.e. stage j's input needs a gradient.
bool needs_input_grad(const ExecPath& path, size_t j);

// True when each micro-batch's backward on stage j follows its forward at once
// (early backward or pairs, above).
bool backward_follows_forward(const ExecPath& path, size_t j);

struct RankSchedule {
  std::vector<Task> tasks;  // in the order the rank runs them
  // tasks[i] for i >= forward_phase_end are the backward phase: from there the
  // links' upward direction would idle, so the next iteration's raw samples go
  // out then (Worker::step).
  size_t forward_phase_end = 0;
  // (peer, tag) of the messages this rank receives that no parameter has
  // touched (labels, and samples until a stage computes): they may cross the
  // links an iteration ahead.
  std::set<std::pair<int, int>> raw_inputs;
  // Block -> backward tasks touching it per iteration: a replicated block's
  // gradient is final after the last of them.
  std::map<size_t, int> backward_touches;
};

// The schedule of `rank` under `plan`. REQUIRES: validate(plan) passed.
RankSchedule make_schedule(const ExecPlan& plan, int rank);

}  // namespace dec::runtime
