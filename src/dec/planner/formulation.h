// The planning MILP: cost_model.h's iteration time, encoded exactly as a
// mixed-integer linear program (docs/plan.md, "MILP", lists every row).
//
// Encoding (prefix variables, docs/plan.md "The MILP"):
//   v[p]      binary   path p is used (carries >= 1 sample)
//   b[p]      integer  samples per iteration on p; sum over a source's paths = its count
//   P[p,h,l]  binary   block l runs before hop h of p (on nodes[0..h]); monotone in h and l
//   y[p,h,l]  = b[p] * P[p,h,l], linearised exactly (McCormick with the source's count)
//   r[k,l]    node k holds block l; H/O: held in / outside a subtree; s[e,l]: sync on link e
//   loads, per-micro-batch stage times, fills, and T >= every term of the cost model.
// The objective is T, the iteration time in seconds.
//
// Options restrict the model without changing its meaning: `tie` makes a
// source share another's path variables (identical devices planned alike),
// `fix` pins paths (off, cuts, samples) for baselines and fix-and-optimise.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dec/planner/cost_model.h"
#include "dec/planner/instance.h"
#include "dec/planner/milp.h"

namespace dec::planner {

struct PathFix {
  bool off = false;                       // the path carries no samples
  std::optional<std::vector<int>> cuts;   // the cuts it uses if it is used
  std::optional<int64_t> samples;         // exactly this many samples
};

struct FormulationOptions {
  // Per source: the source whose path variables it shares (itself = its own).
  // Tied sources must have the same sample count and path shapes. Empty: no ties.
  std::vector<int> tie;
  // Per path; empty: nothing fixed.
  std::vector<PathFix> fix;
  // Memory caps become elastic: each node may exceed its cap by a fraction
  // sigma >= 0 and the objective is the sum of sigmas (T is then free). Used to
  // find which nodes' memory makes an instance infeasible (explain.h).
  bool elastic_memory = false;
  // Leave out what no plan faster than this many seconds can use: a path, a
  // prefix of blocks on a source, a suffix on a path's last node, or a cut on a
  // hop whose cost for a single sample already exceeds it (a used path carries
  // at least one sample). The model then describes exactly the plans with
  // T <= prune_above, so min(prune_above, its bound) bounds the full problem.
  // Infinity: nothing pruned.
  double prune_above = kInf;
};

class Formulation {
 public:
  explicit Formulation(const Instance& in, FormulationOptions options = {});

  const Milp& milp() const { return milp_; }
  int time_var() const { return T_; }
  // A path's on/off binary v and its prefix binaries P[hop][block] (tied
  // paths share them): what a branch-and-bound over the relaxation fixes.
  int used_var(int path) const { return pv_[path].v; }
  int prefix_var(int path, int hop, int block) const { return pv_[path].P[hop][block]; }
  // The overflow variable of a node's memory (elastic_memory only; -1 otherwise).
  int overflow_var(int node) const { return overflow_.empty() ? -1 : overflow_[node]; }
  // The structure a solution describes (samples and cuts rounded).
  Structure extract(const std::vector<double>& x) const;
  // Integer variable values that describe `s`, for a solver's start. REQUIRES:
  // `s` respects this formulation's ties and fixes.
  std::vector<std::pair<int, double>> start(const Structure& s) const;

 private:
  struct PathVars {
    int v = -1, b = -1;
    std::vector<std::vector<int>> P, y;  // [hop][block]
  };
  // Expressions on a path's variables, with the conventions P[-1] = 0,
  // P[m] = v (the last node finishes the chain) and likewise y[-1] = 0, y[m] = b.
  LinExpr P(int p, int h, int l) const;
  LinExpr y(int p, int h, int l) const;
  // Bytes over hop h per iteration; the same, but 0 when the hop carries raw input.
  LinExpr hop_bytes(int p, int h) const;
  LinExpr activation_hop_bytes(int p, int h) const;
  // 1 iff node j of p runs some block (creates a middle node's u on first use).
  LinExpr runs(int p, int j);
  // 1 iff some node strictly between node j and the last node of p runs a block.
  LinExpr computes_after(int p, int j);

  void find_symmetry();
  void add_path_vars();
  void add_fixes();
  void add_pruning();
  void add_replicas();
  void add_sync();
  int add_any(const std::vector<int>& parts, const std::string& var, const std::string& row);
  void add_loads_and_time();
  void add_memory();

  // The parts of add_loads_and_time (formulation.cc says what each adds).
  struct LoadSums;
  void add_stage_times(int p);
  void add_serial_parts(int p);
  void add_node_loads(LoadSums& sums);
  void add_link_loads(const LoadSums& sums);
  void add_path_terms(int p);
  double fill_bound(int p) const;
  double max_hop_bytes_per_sample() const;

  const Instance& in_;
  FormulationOptions opt_;
  Milp milp_;
  std::vector<PathVars> pv_;                 // per path (tied paths share ids)
  std::vector<char> active_;                 // per node: on some path
  // Under ties, nodes that a symmetry of the tree maps onto each other hold the
  // same blocks and carry the same loads, so they share those variables (and
  // their rows collapse into one): node_rep_ per node, link_rep_ per link,
  // path_rep_ per path (for stage times and fills). Identity without ties.
  std::vector<int> node_rep_, link_rep_, path_rep_;
  std::map<std::pair<int, int>, int> used_;  // (rep path, node position) -> u variable
  std::map<std::pair<int, int>, int> after_; // (rep path, node position) -> w variable
  std::vector<std::vector<int>> r_;          // [node][block], -1 when never held
  std::vector<std::vector<int>> tn_, th_;    // per path: stage-time vars (nodes, hops)
  std::vector<std::vector<int>> tf_;         // per path and hop: its time in the fill (0 if raw)
  std::vector<std::vector<int>> serial_;     // per path and hop: tf_ if the hop is serial, else 0
  std::vector<int> fill_, node_load_, link_load_;
  std::vector<std::vector<int>> sync_;       // [link][block], -1 when impossible
  std::vector<int> overflow_;                // elastic_memory: per node, -1 when inactive
  int T_ = -1;
};

}  // namespace dec::planner
