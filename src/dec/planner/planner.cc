#include "dec/planner/planner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "dec/core/error.h"
#include "dec/planner/baselines.h"
#include "dec/planner/classes.h"
#include "dec/planner/describe.h"
#include "dec/planner/explain.h"
#include "dec/planner/formulation.h"

namespace dec::planner {

const std::vector<std::pair<std::string, std::string>>& cbc_tuning() {
  static const std::vector<std::pair<std::string, std::string>> kTuning = {
      {"heur", "off"}, {"cuts", "off"}, {"strong", "0"}};
  return kTuning;
}

namespace {

using Clock = std::chrono::steady_clock;

// Above this many integer variables the full MILP's branch-and-bound does not
// move its bound in seconds (16 devices x 50 blocks: 2,500 integers, 4 s for
// the root alone); the planner then relies on the orbit-tied LP bound.
constexpr int kFullMilpMaxIntegers = 1500;

// Whether `s` gives every tied source the same choices as its representative.
bool respects(const Instance& in, const Structure& s, const std::vector<int>& tie) {
  for (size_t src = 0; src < in.sources.size(); ++src) {
    const auto& mine = in.sources[src].paths;
    const auto& rep = in.sources[tie[src]].paths;
    for (size_t i = 0; i < mine.size(); ++i) {
      if (s[mine[i]].samples != s[rep[i]].samples) return false;
      if (s[mine[i]].samples > 0 && s[mine[i]].cuts != s[rep[i]].cuts) return false;
    }
  }
  return true;
}

class Search {
 public:
  Search(const Instance& in, const PlannerOptions& o) : in_(in), o_(o), t0_(Clock::now()) {
    solver_ = o.make_solver ? o.make_solver()
                            : (o.isolate_solver ? isolate(make_cbc_solver()) : make_cbc_solver());
    base_.threads = o.threads;
    base_.relative_gap = o.relative_gap;
    base_.tuning = cbc_tuning();
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  double left() const { return o_.time_limit_s - elapsed(); }

  // Keeps `s` when it fits and beats the incumbent.
  void consider(const Structure& s, const std::string& how) {
    const Evaluation ev = evaluate(in_, s);
    if (ev.fits && ev.iteration_s < best_s_ * (1 - 1e-12)) {
      best_s_ = ev.iteration_s;
      best_ = s;
      method_ = how;
    }
  }

  SolveResult solve(const Formulation& f, double seconds) {
    SolveOptions so = base_;
    so.time_limit_s = std::max(0.05, seconds);
    if (!best_.empty()) so.start = f.start(best_);
    return solver_->solve(f.milp(), so);
  }

  // Tied model: every group of `groups` planned alike.
  void restricted(const std::vector<std::vector<int>>& groups, double seconds, const std::string& how) {
    FormulationOptions fo;
    fo.tie = tie_groups(in_, groups);
    if (!best_.empty() && !respects(in_, best_, fo.tie)) {
      // The start must respect the ties; without one CBC starts from scratch.
      Structure keep = best_;
      best_.clear();
      Formulation f(in_, fo);
      SolveResult r = solve(f, seconds);
      best_ = keep;
      if (r.has_solution()) consider(f.extract(r.values), how);
      return;
    }
    Formulation f(in_, fo);
    SolveResult r = solve(f, seconds);
    if (r.has_solution()) consider(f.extract(r.values), how);
  }

  Plan run() {
    SolveOptions bo = base_;
    bo.time_limit_s = std::max(0.2, 0.05 * o_.time_limit_s);
    const std::vector<Baseline> baselines = compute_baselines(in_, *solver_, bo);
    for (const auto& b : baselines)
      if (b.applicable) consider(b.structure, "baseline " + b.kind);

    // Whether the full MILP gets the last 40% of the time: only when its size
    // leaves branch-and-bound a chance; otherwise the heuristics get that time.
    const bool full_milp = Formulation(in_).milp().num_integers() <= kFullMilpMaxIntegers;
    const double reserve = full_milp ? 0.4 : 0.1;
    const auto classes = source_classes(in_);
    const bool grouped = o_.use_classes && classes.size() < in_.sources.size();
    if (grouped) {
      restricted(classes, 0.25 * o_.time_limit_s, str("MILP with identical devices tied (", classes.size(), " classes)"));
      std::vector<std::vector<std::vector<int>>> splits;
      for (size_t c = 0; c < classes.size(); ++c) {
        for (auto& split : class_splits(in_, classes[c])) {
          std::vector<std::vector<int>> groups;
          for (size_t o = 0; o < classes.size(); ++o)
            if (o != c) groups.push_back(classes[o]);
          groups.push_back(split[0]);
          groups.push_back(split[1]);
          splits.push_back(groups);
        }
      }
      const double per =
          splits.empty() ? 0 : (0.75 - reserve) * o_.time_limit_s / static_cast<double>(splits.size());
      for (const auto& g : splits) {
        if (left() < (reserve + 0.05) * o_.time_limit_s) break;
        restricted(g, std::min(per, left() - reserve * o_.time_limit_s), "MILP with device classes split in two");
      }
    }

    // A lower bound that stays cheap at any scale: the LP relaxation, solved on
    // the model with each symmetry orbit of sources tied (same value as the
    // full LP, one orbit's size; classes.h source_orbits).
    const auto orbits = source_orbits(in_);
    double lp_bound = -kInf;
    std::string lp_note;
    // Both bound models leave out what the incumbent already beats.
    const double prune = best_.empty() ? kInf : best_s_ * (1 + 1e-7);
    if (orbits.size() < in_.sources.size()) {
      FormulationOptions fo;
      fo.tie = tie_groups(in_, orbits);
      fo.prune_above = prune;
      Formulation tied(in_, fo);
      SolveOptions so = base_;
      so.time_limit_s = std::max(0.5, 0.1 * o_.time_limit_s);
      const SolveResult lp = solver_->solve(tied.milp().relaxation(), so);
      if (lp.status == SolveStatus::kInfeasible) {
        lp_bound = prune;  // nothing faster than the incumbent exists
        lp_note = "the LP relaxation without what the plan beats is infeasible: nothing is faster";
      } else if (lp.status == SolveStatus::kOptimal) {
        lp_bound = lp.objective;
        lp_note = str("LP relaxation of the full MILP, without paths and cuts that one sample makes slower than"
                      " the plan, solved with its ", orbits.size(), " symmetry orbits of sources tied (",
                      tied.milp().num_rows(), " rows)");
      }
    }

    // The full MILP, when its size leaves branch-and-bound a chance: it
    // improves the plan and proves the bound.
    FormulationOptions full_options;
    full_options.prune_above = prune;
    Formulation full(in_, full_options);
    SolveResult r;
    const bool run_full = full_milp || lp_bound == -kInf;
    if (run_full) {
      r = solve(full, std::max(left(), 0.1 * o_.time_limit_s));
      if (r.has_solution()) consider(full.extract(r.values), "full MILP");
    } else {
      r.status = SolveStatus::kNoSolution;
      r.message = str("skipped: ", full.milp().num_integers(), " integer variables");
    }

    if (best_.empty()) {
      if (r.status == SolveStatus::kInfeasible) {
        SolveOptions eo = base_;
        eo.time_limit_s = std::max(1.0, 0.5 * o_.time_limit_s);
        const Infeasibility why = explain_infeasible(in_, *solver_, eo);
        throw PlanInfeasible("no plan fits", why.where, why.why);
      }
      throw Timeout("no plan found", "planner",
                    str("the solver ended with '", status_name(r.status), "' (", r.message,
                        ") and no baseline fits memory; try a longer --time-limit"));
    }

    Plan plan = describe(in_, best_, "dec");
    SolverReport rep;
    rep.objective = best_s_;
    rep.seconds = elapsed();
    rep.method = method_;
    // An infeasible pruned model proves the incumbent optimal.
    const double milp_bound = r.status == SolveStatus::kFailed ? -kInf
                              : r.status == SolveStatus::kInfeasible ? prune : r.bound;
    rep.bound = std::min(std::max(milp_bound, lp_bound), best_s_);
    rep.gap = std::isfinite(rep.bound) ? std::max(0.0, (best_s_ - rep.bound) / best_s_) : kInf;
    rep.status = rep.gap <= 1e-6 ? "optimal" : (std::isfinite(rep.bound) ? "time_limit" : "heuristic");
    if (milp_bound >= lp_bound && std::isfinite(milp_bound)) {
      rep.bound_method = str("CBC branch-and-bound on the full MILP (", full.milp().num_vars(), " variables, ",
                             full.milp().num_integers(), " integer, ", full.milp().num_rows(), " rows; ",
                             r.message, ")");
    } else if (std::isfinite(lp_bound)) {
      rep.bound_method = lp_note + (run_full ? str("; the full MILP: ", status_name(r.status), ", ", r.message)
                                             : str("; full MILP ", r.message));
    } else {
      rep.bound_method = str("none: the full MILP ended with '", status_name(r.status), "' (", r.message, ")");
    }
    plan.solver = rep;
    for (const auto& b : baselines) {
      if (b.applicable) {
        plan.baselines.push_back(describe(in_, b.structure, b.kind));
      } else {
        Plan p;
        p.kind = b.kind;
        p.feasible = false;
        p.note = b.note;
        p.cluster = in_.cluster_name;
        p.model = in_.model;
        p.model_hash = in_.model_hash;
        for (const auto& blk : in_.blocks) p.blocks.push_back(blk.name);
        p.batch = in_.batch;
        p.micro_batches = in_.micro_batches;
        p.prediction.iteration_s = kInf;
        plan.baselines.push_back(p);
      }
    }
    return plan;
  }

 private:
  const Instance& in_;
  const PlannerOptions& o_;
  Clock::time_point t0_;
  std::unique_ptr<Solver> solver_;
  SolveOptions base_;
  Structure best_;
  double best_s_ = kInf;
  std::string method_;
};

}  // namespace

Plan make_plan(const Instance& in, const PlannerOptions& options) {
  DEC_CHECK(options.time_limit_s > 0, ConfigError, "invalid planner options", "time limit",
            "must be positive, got ", options.time_limit_s);
  return Search(in, options).run();
}

}  // namespace dec::planner
