// Every point-to-point message tag of a job, in one place (docs/architecture.md,
// "Job protocol"). Gloo matches a receive to a send by (peer, tag), so two kinds
// of message between the same pair of ranks must never share a tag; the ranges
// below are disjoint by construction and the static_asserts keep them so when a
// bound grows.
//
//   executor    [0, kGatherTagBase)         activations, labels and gradients of
//                                           one (path, micro-batch): worker.cc
//   gather      [kGatherTagBase, INT_MAX]   the whole model gathered to rank 0
//                                           for evaluation: model_gather.cc
//
// Collectives (all-reduce, broadcast, barrier) use Gloo's own collective tags and
// never meet these.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>

#include "dec/core/error.h"

namespace dec::runtime {

// What one executor message carries.
enum class MessageKind : int { kActivation = 0, kLabels = 1, kGradient = 2 };
constexpr int64_t kMessageKinds = 3;

// Bounds of a plan the executor's tags can address (checked by validate()).
constexpr int64_t kMaxPaths = 2048;
constexpr int64_t kMaxMicroBatches = 1 << 16;

// Gather tags: block l's k-th tensor (parameters, then buffers) is
// kGatherTagBase + l * kMaxTensorsPerBlock + k.
constexpr int64_t kGatherTagBase = int64_t{1} << 29;
constexpr int64_t kMaxTensorsPerBlock = 1024;
constexpr int64_t kMaxGatheredBlocks = 1 << 20;

static_assert(kMaxPaths * kMaxMicroBatches * kMessageKinds <= kGatherTagBase,
              "executor tags would reach the gather range");
static_assert(kGatherTagBase + kMaxGatheredBlocks * kMaxTensorsPerBlock - 1 <= INT_MAX,
              "gather tags would overflow int");

// The tag of one executor message. REQUIRES: path < kMaxPaths, micro < kMaxMicroBatches.
inline int message_tag(size_t path, int64_t micro, MessageKind kind) {
  DEC_ASSERT(static_cast<int64_t>(path) < kMaxPaths && micro < kMaxMicroBatches, "path ", path,
             " micro-batch ", micro, " outside the tag space");
  return static_cast<int>((static_cast<int64_t>(path) * kMaxMicroBatches + micro) * kMessageKinds +
                          static_cast<int>(kind));
}

// The tag of tensor `k` of block `l` in the gather to rank 0.
inline int gather_tag(size_t block, size_t k) {
  DEC_ASSERT(static_cast<int64_t>(block) < kMaxGatheredBlocks &&
                 static_cast<int64_t>(k) < kMaxTensorsPerBlock,
             "block ", block, " tensor ", k, " outside the gather tag space");
  return static_cast<int>(kGatherTagBase + static_cast<int64_t>(block) * kMaxTensorsPerBlock +
                          static_cast<int64_t>(k));
}

}  // namespace dec::runtime
