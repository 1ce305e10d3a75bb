#include "dec/planner/planner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "dec/core/error.h"
#include "dec/planner/baselines.h"
#include "dec/planner/bound_search.h"
#include "dec/planner/classes.h"
#include "dec/planner/describe.h"
#include "dec/planner/explain.h"
#include "dec/planner/fleet.h"
#include "dec/planner/fleet_search.h"
#include "dec/planner/formulation.h"
#include "dec/planner/rows.h"
#include "dec/planner/simpler.h"

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

// A plan within this relative gap of its bound is reported optimal.
constexpr double kOptimalGap = 1e-6;

// Solves at most this many times, each at the rows of the last plan (rows.h).
constexpr int kRowsRounds = 3;

// Seconds an isolated fleet solve may outlive its time limit before it is killed.
constexpr double kIsolationGrace = 1;

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

// Seconds every node computes and every link transfers per iteration, summed.
double busy_s(const Evaluation& ev) {
  double sum = 0;
  for (double t : ev.node_compute_s) sum += t;
  for (double t : ev.link_s) sum += t;
  return sum;
}

class Search {
 public:
  Search(const Instance& in, const PlannerOptions& o) : in_(in), o_(o), t0_(Clock::now()) {
    solver_ = o.make_solver ? o.make_solver()
                            : (o.isolate_solver ? isolate(make_cbc_solver()) : make_cbc_solver());
    // The fleet LP's solver gets a short grace: a time limit must hold at any size.
    fleet_solver_ = o.make_solver ? o.make_solver()
                                  : (o.isolate_solver ? isolate(make_cbc_solver(), kIsolationGrace) : make_cbc_solver());
    base_.threads = o.threads;
    base_.relative_gap = o.relative_gap;
    base_.tuning = cbc_tuning();
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  double left() const { return o_.time_limit_s - elapsed(); }

  // Keeps `s` when it fits and beats the incumbent: faster, or as fast and
  // busier for less time in all. An iteration time shared by several plans is
  // usually one saturated resource (a link every plan crosses); of those, the
  // plan that loads the other resources least has the most slack where the
  // prediction errs (S1/W3: edge-only and cloud-only both wait on the device's
  // uplink, but edge-only also keeps the slow edge 97% busy).
  void consider(const Structure& s, const std::string& how) {
    const Evaluation ev = evaluate(in_, s);
    if (!ev.fits) return;
    candidates_.push_back(s);
    const double busy = busy_s(ev);
    const bool faster = ev.iteration_s < best_s_ * (1 - 1e-12);
    const bool tied = !faster && ev.iteration_s <= best_s_ * (1 + 1e-12);
    if (faster || (tied && busy < best_busy_s_ * (1 - 1e-9))) {
      best_s_ = ev.iteration_s;
      best_busy_s_ = busy;
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

  // Both bound models leave out what the incumbent already beats.
  double prune_above() const { return best_.empty() ? kInf : best_s_ * (1 + 1e-7); }

  // One bound search against the current incumbent; keeps the best bound, the
  // paths it rules out and whether it proved the incumbent optimal.
  void search(double seconds) {
    BoundSearchOptions bo;
    bo.prune_above = prune_above();
    bo.relative_gap = o_.relative_gap;
    bo.seconds = std::max(0.2, std::min(seconds, left()));
    const BoundSearchResult bs = search_bound(in_, *solver_, base_, bo);
    if (bs.bound > lp_bound_) {
      lp_bound_ = bs.bound;
      lp_note_ = bs.note;
    }
    // Proven: nothing faster exists, or the bound is within the tolerance
    // under which the plan is reported optimal.
    proven_ = proven_ || (!best_.empty() && (bs.complete || bs.bound >= best_s_ * (1 - kOptimalGap)));
    // The rule-outs hold for every plan at least as fast as this incumbent,
    // hence for every later, faster one.
    for (size_t p = 0; p < in_.paths.size(); ++p) unused_[p] = unused_[p] || bs.unused[p];
  }

  // Fleet scale (fleet.h): no formulation of the whole instance is built.
  // The configuration LP over sync levels bounds every plan and gives plans,
  // moves of one source at a time improve the best (fleet_search.h).
  Plan fleet(const std::vector<Baseline>& baselines) {
    FleetSearchOptions fo;
    fo.seconds = left() - 0.02 * o_.time_limit_s;
    fo.grace_s = kIsolationGrace;
    FleetSearchResult fs;
    if (fo.seconds > 0.1) fs = fleet_search(in_, *fleet_solver_, base_, best_, fo);
    if (!fs.best.empty()) consider(fs.best, fs.method);
    if (best_.empty() && fs.infeasible) {
      SolveOptions eo = base_;
      eo.time_limit_s = std::max(0.1, left() - kIsolationGrace);
      const Infeasibility why = explain_infeasible(in_, *solver_, eo);
      throw PlanInfeasible("no plan fits", why.where, why.why);
    }
    if (best_.empty())
      throw Timeout("no plan found", "planner",
                    str("no baseline fits memory and the configuration LP found none (", fs.note,
                        "); try a longer --time-limit"));
    Plan plan = describe(in_, best_, "dec");
    SolverReport rep;
    rep.objective = best_s_;
    rep.fastest_s = best_s_;  // no tie-breaking pass here: each of its moves evaluates the whole fleet (simpler.h)
    rep.seconds = elapsed();
    rep.method = method_;
    rep.bound = std::min(fs.bound, best_s_);
    rep.gap = std::isfinite(rep.bound) ? std::max(0.0, (best_s_ - rep.bound) / best_s_) : kInf;
    rep.status = rep.gap <= kOptimalGap ? "optimal" : (std::isfinite(rep.bound) ? "time_limit" : "heuristic");
    rep.bound_method = std::isfinite(fs.bound) ? fs.note : (fs.note.empty() ? "none: no time for the LP" : fs.note);
    plan.solver = rep;
    add_baselines(baselines, &plan);
    return plan;
  }

  void add_baselines(const std::vector<Baseline>& baselines, Plan* plan) const {
    for (const auto& b : baselines) {
      if (b.applicable) {
        plan->baselines.push_back(describe(at_rows(in_, b.structure), b.structure, b.kind));
      } else {
        Plan p = plan_of(in_, b.kind);
        p.feasible = false;
        p.note = b.note;
        p.prediction.iteration_s = kInf;
        plan->baselines.push_back(p);
      }
    }
  }

  // Each class split in two groups, the other classes tied as they are, each
  // a tied model from the incumbent, while the time outside `reserve` lasts.
  void split_classes(const std::vector<std::vector<int>>& classes, double reserve) {
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

  Plan run() {
    unused_.assign(in_.paths.size(), 0);
    SolveOptions bo = base_;
    bo.time_limit_s = std::max(0.2, 0.05 * o_.time_limit_s);
    const std::vector<Baseline> baselines = compute_baselines(in_, *solver_, bo);
    for (const auto& b : baselines)
      if (b.applicable) consider(b.structure, "baseline " + b.kind);
    if (fleet_scale(in_)) return fleet(baselines);

    // Whether the full MILP gets the last 40% of the time: only when its size
    // leaves branch-and-bound a chance; otherwise the heuristics get that time.
    const bool full_milp = formulation_integers(in_) <= kFullMilpMaxIntegers;
    const double reserve = full_milp ? 0.4 : 0.1;
    const auto classes = source_classes(in_);
    const bool grouped = o_.use_classes && classes.size() < in_.sources.size();
    // The bound search (bound_search.h) proves the bound when sources are
    // symmetric or the full MILP is too large for CBC to prove anything.
    const bool searched = source_orbits(in_).size() < in_.sources.size() || !full_milp;
    if (grouped)
      restricted(classes, 0.25 * o_.time_limit_s, str("MILP with identical devices tied (", classes.size(), " classes)"));
    if (searched) search(0.25 * o_.time_limit_s);
    if (grouped && !proven_) split_classes(classes, reserve);
    // Without the full MILP, the time left goes to a second bound search,
    // which prunes more when the plan has improved since the first.
    if (searched && !full_milp && !proven_ && left() > 0.05 * o_.time_limit_s) search(left());

    // The full MILP, when its size leaves branch-and-bound a chance: it
    // improves the plan and proves the bound. Paths that the bound search
    // ruled out are off.
    const double prune = prune_above();
    FormulationOptions full_options;
    full_options.prune_above = prune;
    full_options.fix.resize(in_.paths.size());
    for (size_t p = 0; p < in_.paths.size(); ++p)
      full_options.fix[p].off = unused_[p] && (best_.empty() || best_[p].samples == 0);
    Formulation full(in_, full_options);
    SolveResult r;
    // Without a finite bound (no LP solved, or none feasible and no plan to
    // compare with) only the full MILP can find a plan or prove there is none.
    const bool run_full = !proven_ && (full_milp || !std::isfinite(lp_bound_));
    if (run_full) {
      r = solve(full, std::max(left(), 0.02 * o_.time_limit_s));
      if (r.has_solution()) consider(full.extract(r.values), "full MILP");
    } else {
      r.status = SolveStatus::kNoSolution;
      r.message = proven_ ? "skipped: the bound search proved the plan optimal"
                          : str("skipped: ", full.milp().num_integers(), " integer variables");
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

    // Ties toward the simpler plan (simpler.h).
    const double fastest_s = best_s_;
    SolverReport rep;
    rep.fastest_s = fastest_s;
    const Structure chosen = simplest_within(in_, best_, fastest_s, candidates_);
    if (chosen != best_) {
      const Evaluation ev = evaluate(in_, chosen);
      rep.simpler = simpler_note(in_, chosen, ev, best_, evaluate(in_, best_));
      best_ = chosen;
      best_s_ = ev.iteration_s;
    }
    Plan plan = describe(in_, best_, "dec");
    rep.objective = best_s_;
    rep.seconds = elapsed();
    rep.method = method_;
    // An infeasible pruned model proves the incumbent optimal.
    const double milp_bound = r.status == SolveStatus::kFailed ? -kInf
                              : r.status == SolveStatus::kInfeasible ? prune : r.bound;
    rep.bound = std::min(std::max(milp_bound, lp_bound_), fastest_s);
    rep.gap = std::isfinite(rep.bound) ? std::max(0.0, (best_s_ - rep.bound) / best_s_) : kInf;
    // The status tells the search: whether the fastest plan was proven optimal.
    const double fastest_gap = std::isfinite(rep.bound) ? std::max(0.0, (fastest_s - rep.bound) / fastest_s) : kInf;
    rep.status = fastest_gap <= kOptimalGap ? "optimal" : (std::isfinite(rep.bound) ? "time_limit" : "heuristic");
    if (milp_bound >= lp_bound_ && std::isfinite(milp_bound)) {
      rep.bound_method = str("CBC branch-and-bound on the full MILP (", full.milp().num_vars(), " variables, ",
                             full.milp().num_integers(), " integer, ", full.milp().num_rows(), " rows; ",
                             r.message, ")");
    } else if (std::isfinite(lp_bound_)) {
      rep.bound_method = lp_note_ + (run_full ? str("; the full MILP: ", status_name(r.status), ", ", r.message)
                                             : str("; full MILP ", r.message));
    } else {
      rep.bound_method = str("none: the full MILP ended with '", status_name(r.status), "' (", r.message, ")");
    }
    plan.solver = rep;
    add_baselines(baselines, &plan);
    return plan;
  }

  const Structure& best() const { return best_; }

 private:
  const Instance& in_;
  const PlannerOptions& o_;
  Clock::time_point t0_;
  std::unique_ptr<Solver> solver_, fleet_solver_;
  SolveOptions base_;
  Structure best_;
  double best_s_ = kInf;
  double best_busy_s_ = kInf;  // busy_s of best_
  std::string method_;
  // The bound search's results (search()).
  double lp_bound_ = -kInf;
  std::string lp_note_;
  bool proven_ = false;
  std::vector<char> unused_;
  std::vector<Structure> candidates_;  // every plan considered that fits
};

// `p`, found by a MILP built at other rows, told at its own (`in`): its
// prediction changes, and the MILP's bound no longer bounds it.
Plan at_own_rows(const Instance& in, const Structure& s, const Plan& p) {
  Plan q = describe(in, s, p.kind);
  q.baselines = p.baselines;
  q.solver = p.solver;
  q.solver->objective = q.prediction.iteration_s;
  q.solver->status = "heuristic";
  q.solver->bound = 0;
  q.solver->gap = kInf;
  q.solver->bound_method = "none: the MILP was solved at other rows per micro-batch (rows.h)";
  q.solver->fastest_s = q.prediction.iteration_s;
  q.solver->simpler.clear();
  return q;
}

// Paths' per-sample times equal (rows.h): the MILP solved at `a`'s rows saw
// `b`'s too. No scales read as 1, so a plan at the profile's micro-batch
// settles the first solve.
bool same_rows(const Instance& a, const Instance& b) {
  for (size_t p = 0; p < a.paths.size(); ++p) {
    for (int k : a.paths[p].nodes) {
      for (int l = 0; l < a.num_blocks(); ++l) {
        if (a.fwd_s(static_cast<int>(p), k, l) != b.fwd_s(static_cast<int>(p), k, l) ||
            a.bwd_s(static_cast<int>(p), k, l) != b.bwd_s(static_cast<int>(p), k, l))
          return false;
      }
    }
  }
  return true;
}

// At fleet scale with costs by rows: one search on the least per-sample
// costs any rows give (fleet.h lowest_costs), whose bound holds for every
// plan at its own rows; the plan is told at its own.
Plan fleet_at_any_rows(const Instance& in, const PlannerOptions& options) {
  const Instance lowest = lowest_costs(in);  // Search keeps a reference
  Search search(lowest, options);
  const Plan found = search.run();
  Structure s = search.best();
  std::string method = found.solver->method + ", at its own rows";
  // A baseline faster at its own rows than the plan replaces it; the bound holds for it too.
  for (const Plan& b : found.baselines) {
    if (!b.feasible) continue;
    const Structure bs = structure_of(in, b);
    const Evaluation e = evaluate_at_rows(in, bs);
    if (e.fits && e.iteration_s < evaluate_at_rows(in, s).iteration_s * (1 - 1e-9)) {
      s = bs;
      method = str("baseline ", b.kind, ", at its own rows");
    }
  }
  Plan plan = describe(at_rows(in, s), s, found.kind);
  plan.baselines = found.baselines;
  SolverReport rep = *found.solver;
  rep.objective = rep.fastest_s = plan.prediction.iteration_s;
  rep.method = method;
  rep.bound = std::min(rep.bound, rep.objective);
  rep.gap = std::isfinite(rep.bound) ? std::max(0.0, (rep.objective - rep.bound) / rep.objective) : kInf;
  rep.status = rep.gap <= kOptimalGap ? "optimal" : (std::isfinite(rep.bound) ? "time_limit" : "heuristic");
  rep.bound_method += "; at the least per-sample costs any rows give (a bound at every plan's own rows)";
  plan.solver = rep;
  return plan;
}

}  // namespace

Plan make_plan(const Instance& in, const PlannerOptions& options) {
  DEC_CHECK(options.time_limit_s > 0, ConfigError, "invalid planner options", "time limit",
            "must be positive, got ", options.time_limit_s);
  // The MILP takes per-sample times as fixed; a plan's rows change them
  // (rows.h). Solve at the profile's micro-batch, then at the rows of the plan
  // found, until the plan's rows stay; keep the fastest plan at its own rows.
  const bool rows_matter = in.has_rows_tables();
  if (rows_matter && fleet_scale(in)) return fleet_at_any_rows(in, options);
  PlannerOptions round_options = options;
  if (rows_matter) round_options.time_limit_s = options.time_limit_s / kRowsRounds;
  Instance at = in;
  Plan best;
  double seconds = 0;
  for (int round = 0; round < (rows_matter ? kRowsRounds : 1); ++round) {
    Search search(at, round_options);
    Plan plan = search.run();
    seconds += plan.solver->seconds;
    const Instance next = at_rows(in, search.best());
    const bool settled = same_rows(next, at);
    if (!settled) plan = at_own_rows(next, search.best(), plan);
    if (round > 0) plan.solver->method += str(" (round ", round + 1, ", at the rows of round ", round, "'s plan)");
    // A later round's plan, no slower, comes with a bound that holds.
    if (round == 0 || plan.prediction.iteration_s <= best.prediction.iteration_s * (1 + 1e-12)) best = std::move(plan);
    if (settled) break;
    at = next;
  }
  // Each baseline was chosen and compared at the rows of a DEC plan; told at
  // its own it may come out faster. The plan is never predicted slower than one.
  const std::vector<Plan> baselines = best.baselines;  // best may change below
  for (const Plan& b : baselines) {
    // Only one faster than the fastest plan found: the plan may be a simpler
    // one within kSimplerTolerance of it (simpler.h).
    if (!b.feasible || b.prediction.iteration_s >= best.solver->fastest_s * (1 - 1e-9)) continue;
    const Structure s = structure_of(in, b);
    best = at_own_rows(at_rows(in, s), s, best);
    best.solver->method = str("baseline ", b.kind, ", at its own rows");
  }
  best.solver->seconds = seconds;
  return best;
}

}  // namespace dec::planner
