// Planning at fleet scale (hundreds to thousands of sources), where the full
// MILP (formulation.h) is too large to build in the time limit: a lower bound
// from a configuration LP, a plan rounded from it, and a local search.
//
// A configuration of source d is one of its paths with one cut vector: its
// samples on it cost every node, link and memory of the path the same per
// sample, whatever the other sources do. The LP (docs/plan.md, "Fleet scale")
// has x[d][q] >= 0 samples of source d on configuration q, sum_q x = n_d, and
// relaxes every term of the cost model to a row that holds for every plan:
//   - node loads: per-sample compute plus the optimizer step over held blocks,
//     holding h[k][l] >= (samples of a source running l on k) / its samples;
//   - link loads: act / 2 + max(serial / 2, raw) + sync as two rows; the sync
//     of block l over link e counts (held in e's subtree) when some source's
//     route lies wholly outside the subtree (then l is always held outside),
//     with the same fractional holding;
//   - T >= load(k) + the largest sync (the all-reduce after the compute);
//   - path terms: T >= load(r) + sum_q x[d][q] / n_d * w(q, r), where w(q, r)
//     is the least wait (term minus load) of configuration q on resource r
//     over 1..n_d samples: the used configurations' weighted mean of their
//     waits is at most their largest; and per path p of d, T >= load(r) +
//     sum_{q on p} x[d][q] * u(q, r), where u(q, r) is the least of q's wait
//     over b samples divided by b: a plan runs one cut vector on p, and its
//     wait at b samples is at least b u;
//   - memory: fractional holding and activations within each cap.
// Its optimum is a lower bound on evaluate() of every plan of the instance.
#pragma once

#include <string>
#include <vector>

#include "dec/planner/cost_model.h"
#include "dec/planner/instance.h"
#include "dec/planner/solver.h"

namespace dec::planner {

// The integer variables of the full MILP (formulation.h), counted without
// building it: per path v and b, and a prefix binary per hop and block.
int formulation_integers(const Instance& in);

// Whether the planner plans `in` at fleet scale: its full MILP has more than
// 1,500 integer variables (planner.cc's limit for the full MILP) and it has
// at least 32 sources. There the MILP path overran its time limit (128
// devices x 4 blocks: 2,304 integers, 21.8 s for a limit of 20; 200: 26.8 s)
// because each of its LPs builds a model of the whole instance; with fewer,
// longer chains (16 devices x 50 blocks) that path keeps its bound search.
bool fleet_scale(const Instance& in);

struct FleetLp {
  double bound = -kInf;          // a lower bound on every plan's time; -inf when the LP failed
  bool infeasible = false;       // proven: no plan fits
  Structure rounded;             // a plan rounded from the LP's samples; empty when none
  std::string note;              // what was solved, for the plan's bound_method
};

// Solves the configuration LP within `lp_options.time_limit_s`. With a finite
// `own_sync_cap`, only configurations whose blocks below each link of their
// source's route keep that link's sync within the cap take part, and
// `min_sync` is the least largest sync: its value then bounds only the plans
// whose largest sync lies in [min_sync, own_sync_cap] (fleet_search.h), and
// its rounding cannot pay a large sync for a few samples. Infinity and 0:
// every configuration (a bound on every plan).
FleetLp solve_fleet_lp(const Instance& in, Solver& solver, const SolveOptions& lp_options,
                       double own_sync_cap = kInf, double min_sync = 0);

// The largest gradient sync over a source's own link in `s` (its node's
// blocks, when they are also held outside it).
double max_own_sync_s(const Instance& in, const Structure& s);

// `s` or a copy whose sources hold fewer blocks on their own node: of the
// plans whose every source's own-link gradient sync stays within a
// threshold (a geometric range of thresholds, and 0), the fastest that fits.
// One slow uplink's sync adds to every node's time (the all-reduce after
// the compute), which a rounded LP plan often pays for a few samples.
Structure repair_own_sync(const Instance& in, const Structure& s);

// Improves `s` by moving one source at a time onto one configuration (the
// sources on the resources whose terms come within 2% of the time first)
// while it makes the plan faster, or as fast with less of its terms in
// that band; when no such move is left, by capping the devices' own sync
// just below its largest (all such devices at once), until `seconds` of
// wall clock have passed. `s` must fit memory.
Structure improve_by_moves(const Instance& in, Structure s, double seconds);

// `in` with every path's per-sample times at their least over the rows any
// plan can give it (1..n_d samples of its source, rows.h): every plan's time
// at its own rows is at least its time here, since evaluate() never falls
// when a per-sample time rises (each term adds a node's load, which holds M
// times its stage, and takes off at most M - 1 of its shorter half). So a
// bound on this instance bounds every plan at its own rows. Without rows
// tables: `in`.
Instance lowest_costs(const Instance& in);

}  // namespace dec::planner
