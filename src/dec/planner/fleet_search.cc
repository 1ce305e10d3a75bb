#include "dec/planner/fleet_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "dec/core/error.h"
#include "dec/planner/fleet.h"

namespace dec::planner {
namespace {

using Clock = std::chrono::steady_clock;

// Plans whose largest gradient sync lies in [lo, hi]: none is faster than `bound`.
struct Interval {
  double lo = 0, hi = 0, bound = -kInf;
};

// The largest sync any plan can have: every block held below every link.
double most_sync_s(const Instance& in) {
  double bytes = 0;
  for (int l = 0; l < in.num_blocks(); ++l) bytes += in.sync_bytes(l);
  double most = 0;
  for (const LinkData& e : in.links) most = std::max(most, bytes / e.bytes_per_s);
  return most;
}

class LevelSearch {
 public:
  LevelSearch(const Instance& in, Solver& solver, const SolveOptions& lp, const FleetSearchOptions& o)
      : in_(in), solver_(solver), lp_(lp), o_(o), t0_(Clock::now()) {}

  double left() const { return o_.seconds - std::chrono::duration<double>(Clock::now() - t0_).count(); }

  void consider(const Structure& s, const std::string& how) {
    if (s.empty()) return;
    const Evaluation ev = evaluate(in_, s);
    if (!ev.fits || ev.iteration_s >= best_s_ * (1 - 1e-12)) return;
    best_s_ = ev.iteration_s;
    best_ = s;
    method_ = how;
  }

  // The LP over [lo, hi]; its plans are considered. Returns false when it
  // did not solve (then `bound` is left alone).
  bool solve(Interval& iv, double seconds) {
    SolveOptions so = lp_;
    so.time_limit_s = seconds;
    const FleetLp r = solve_fleet_lp(in_, solver_, so, iv.hi * (1 + 1e-12), iv.lo);
    if (++solved_ == 1) first_note_ = r.note;
    if (r.infeasible) {
      iv.bound = kInf;  // no plan has its largest sync in [lo, hi]
      return true;
    }
    if (!std::isfinite(r.bound)) {
      last_failure_ = r.note;
      return false;
    }
    iv.bound = std::max(iv.bound, r.bound);
    const std::string level = str("configuration LP at sync [", iv.lo, ", ", iv.hi, "] s");
    consider(r.rounded, level + ", rounded");
    if (!r.rounded.empty() && evaluate(in_, r.rounded).fits)
      consider(repair_own_sync(in_, r.rounded), level + ", rounded, devices' own sync capped");
    return true;
  }

  FleetSearchResult run(const Structure& incumbent) {
    consider(incumbent, "incumbent");
    FleetSearchResult out;
    // The LPs stop leaving time for the plan's LP and the moves.
    auto lp_seconds = [&](double keep) { return left() - keep * o_.seconds - o_.grace_s; };
    const double keep_for_plan = o_.moves_share + o_.plan_lp_share;
    // Plans whose sync exceeds the best plan's time are slower than it, and
    // none syncs more than most_sync_s. The first pass covers [0, that] from
    // below with intervals a quarter of the best plan's time wide (the LPs
    // of low syncs are the smaller, and their plans bring the top down);
    // what it leaves uncovered is bounded by its bottom.
    const double top = most_sync_s(in_);
    std::vector<Interval> open;
    double covered = 0;
    auto uncovered = [&] { return covered < std::min(best_s_ * (1 - o_.target_gap), top); };
    while ((open.empty() || uncovered()) && solved_ < o_.max_lps && lp_seconds(keep_for_plan) > 0.1) {
      // The first, an eighth: the incumbent is often a baseline several times slower.
      const double width = std::max(1e-9, (open.empty() ? 0.125 : 0.25) * (std::isfinite(best_s_) ? best_s_ : top));
      Interval iv{covered, std::min(covered + width, top), -kInf};
      if (top - iv.hi < 1e-9 * top) iv.hi = top;
      if (!solve(iv, lp_seconds(keep_for_plan))) break;
      open.push_back(iv);
      covered = iv.hi;
    }
    bool none = best_.empty() && covered >= top && !open.empty();
    for (const Interval& iv : open) none = none && iv.bound == kInf;
    if (none) {
      out.infeasible = true;  // no plan fits at any sync
      out.note = first_note_;
      return out;
    }
    // Best first: split the interval with the lowest bound while it leaves
    // the plan's gap above the target.
    while (!uncovered() && solved_ + 2 <= o_.max_lps && lp_seconds(keep_for_plan) > 0.1) {
      for (Interval& iv : open) iv.bound = std::max(iv.bound, iv.lo);
      auto low = std::min_element(open.begin(), open.end(),
                                  [](const Interval& a, const Interval& b) { return a.bound < b.bound; });
      if (low == open.end() || low->bound >= best_s_ * (1 - o_.target_gap) ||
          low->hi - low->lo < 1e-6 * std::max(1.0, low->hi))
        break;
      const Interval parent = *low;
      open.erase(low);
      const double mid = 0.5 * (parent.lo + parent.hi);
      Interval a{parent.lo, mid, parent.bound}, b{mid, parent.hi, parent.bound};
      const bool ok = solve(a, lp_seconds(keep_for_plan)) && lp_seconds(keep_for_plan) > 0.1 &&
                      solve(b, lp_seconds(keep_for_plan));
      if (!ok) {
        open.push_back(parent);
        break;
      }
      for (const Interval& c : {a, b})
        if (c.lo <= best_s_) open.push_back(c);
    }
    // Plans beyond `covered` wait at least that long for their sync.
    double bound = std::min(best_s_, covered >= top ? kInf : covered);
    for (const Interval& iv : open) bound = std::min(bound, std::max(iv.bound, iv.lo));
    const bool bounded = !open.empty();
    if (!bounded) bound = -kInf;
    // A plan at the sync where the bound is lowest: the LP with the sync
    // fixed at the interval's top, so that its rounding pays what it charged.
    auto low = std::min_element(open.begin(), open.end(),
                                [](const Interval& a, const Interval& b) { return a.bound < b.bound; });
    if (bounded && low != open.end() && lp_seconds(o_.moves_share) > 0.1 && solved_ < o_.max_lps) {
      Interval at{low->hi, low->hi, -kInf};
      solve(at, lp_seconds(o_.moves_share));
    }
    const double moves_s = left() - 0.02 * o_.seconds;
    if (!best_.empty() && moves_s > 0)
      consider(improve_by_moves(in_, best_, moves_s), method_ + ", improved by moving sources one at a time");
    out.bound = std::min(bound, best_s_);
    out.best = best_;
    out.method = method_;
    out.note = std::isfinite(out.bound)
                   ? str("the least over ", open.size(), " intervals of the plans' largest gradient sync of the ",
                         "configuration LP within each (", solved_, " LPs; the first: ", first_note_, ")")
                   : str("none: ", last_failure_.empty() ? "no time for the LP" : last_failure_);
    return out;
  }

 private:
  const Instance& in_;
  Solver& solver_;
  const SolveOptions& lp_;
  const FleetSearchOptions& o_;
  Clock::time_point t0_;
  Structure best_;
  double best_s_ = kInf;
  std::string method_, first_note_, last_failure_;
  int solved_ = 0;
};

}  // namespace

FleetSearchResult fleet_search(const Instance& in, Solver& solver, const SolveOptions& lp_options,
                               const Structure& incumbent, const FleetSearchOptions& options) {
  LevelSearch s(in, solver, lp_options, options);
  return s.run(incumbent);
}

}  // namespace dec::planner
