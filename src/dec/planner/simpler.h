// Ties broken toward simpler plans (docs/plan.md, "Search and bound").
//
// Plans whose predicted times differ by less than the cost model's accuracy
// are equally fast as far as anyone can tell, but not equally good: a plan that
// sends samples over a slow link so that a far node runs a classifier head
// moves more bytes, syncs more gradients and cannot be explained for the same
// predicted time. Among plans within kSimplerTolerance of the fastest found,
// the planner takes the simplest: the least link time per iteration (bytes
// over each link's rate, activations, raw input and gradient sync alike), then
// the fewest hops that carry samples, then the least compute in all.
#pragma once

#include <string>
#include <vector>

#include "dec/planner/cost_model.h"
#include "dec/planner/instance.h"

namespace dec::planner {

// A predicted time within this relative margin of the fastest is a tie. The
// scenario table's measured/predicted spread, plan to plan, is of this order.
inline constexpr double kSimplerTolerance = 0.02;

struct Simplicity {
  double link_s = 0;  // sum over links of their busy seconds per iteration
  int hops = 0;       // hops that carry samples, summed over used paths
  double busy_s = 0;  // sum over nodes of their compute seconds per iteration
  // Lexicographic, each figure compared with a relative margin of 1e-9.
  bool simpler_than(const Simplicity& o) const;
};
Simplicity simplicity(const Instance& in, const Structure& s, const Evaluation& ev);

// Greedy: from `s`, moves all the samples of a used path to a shorter path of
// the same source (the blocks past the new last node run there), one move at
// a time, while the plan fits, stays within `limit_s` and gets simpler by
// `simplicity`. Returns the simplest plan reached (`s` when no move helps).
Structure simplify(const Instance& in, Structure s, double limit_s);

// The simplest of `fastest` simplified and the `candidates` within
// kSimplerTolerance of `fastest_s` (fastest's predicted time): the plan the
// planner takes. `fastest` when nothing is simpler.
Structure simplest_within(const Instance& in, const Structure& fastest, double fastest_s,
                          const std::vector<Structure>& candidates);

// One line for the plan's summary: what was chosen over the fastest plan found.
std::string simpler_note(const Instance& in, const Structure& chosen, const Evaluation& chosen_ev,
                         const Structure& fastest, const Evaluation& fastest_ev);

}  // namespace dec::planner
