#include "dec/planner/simpler.h"

#include <cmath>

#include "dec/core/error.h"
#include "dec/core/units.h"

namespace dec::planner {

namespace {

// Evaluations simplify may spend: enough for every move of a few hundred
// paths, a bounded cost at fleet scale.
constexpr int kMaxEvaluations = 4000;

// -1: a < b beyond the margin, 1: a > b, 0: a tie.
int compare(double a, double b) {
  const double margin = 1e-9 * std::max(std::fabs(a), std::fabs(b));
  return a < b - margin ? -1 : (a > b + margin ? 1 : 0);
}

}  // namespace

bool Simplicity::simpler_than(const Simplicity& o) const {
  if (const int c = compare(link_s, o.link_s)) return c < 0;
  if (hops != o.hops) return hops < o.hops;
  return compare(busy_s, o.busy_s) < 0;
}

Simplicity simplicity(const Instance& in, const Structure& s, const Evaluation& ev) {
  Simplicity x;
  for (double t : ev.link_s) x.link_s += t;
  for (double t : ev.node_compute_s) x.busy_s += t;
  for (size_t p = 0; p < in.paths.size(); ++p)
    if (s[p].samples > 0) x.hops += in.paths[p].hops();
  return x;
}

Structure simplify(const Instance& in, Structure s, double limit_s) {
  Simplicity best = simplicity(in, s, evaluate(in, s));
  int evaluations = 0;
  for (bool moved = true; moved && evaluations < kMaxEvaluations;) {
    moved = false;
    for (const SourceData& src : in.sources) {
      // From the longest used path down, to each shorter one.
      for (size_t i = src.paths.size(); i-- > 1 && evaluations < kMaxEvaluations;) {
        const int p = src.paths[i];
        if (s[p].samples == 0) continue;
        for (size_t k = 0; k < i && evaluations < kMaxEvaluations; ++k) {
          const int q = src.paths[k];
          Structure t = s;
          if (t[q].samples == 0) t[q].cuts.assign(s[p].cuts.begin(), s[p].cuts.begin() + in.paths[q].hops());
          t[q].samples += t[p].samples;
          t[p].samples = 0;
          const Evaluation ev = evaluate(in, t);
          ++evaluations;
          const Simplicity x = simplicity(in, t, ev);
          if (ev.fits && ev.iteration_s <= limit_s && x.simpler_than(best)) {
            s = std::move(t);
            best = x;
            moved = true;
            break;
          }
        }
      }
    }
  }
  return s;
}

Structure simplest_within(const Instance& in, const Structure& fastest, double fastest_s,
                          const std::vector<Structure>& candidates) {
  const double limit = fastest_s * (1 + kSimplerTolerance);
  Structure chosen = simplify(in, fastest, limit);
  Simplicity chosen_x = simplicity(in, chosen, evaluate(in, chosen));
  for (const Structure& c : candidates) {
    const Evaluation ev = evaluate(in, c);
    if (!ev.fits || ev.iteration_s > limit) continue;
    const Simplicity x = simplicity(in, c, ev);
    if (x.simpler_than(chosen_x)) {
      chosen = c;
      chosen_x = x;
    }
  }
  return chosen;
}

std::string simpler_note(const Instance& in, const Structure& chosen, const Evaluation& chosen_ev,
                         const Structure& fastest, const Evaluation& fastest_ev) {
  const Simplicity a = simplicity(in, chosen, chosen_ev), b = simplicity(in, fastest, fastest_ev);
  return str("a simpler plan within ", 100 * kSimplerTolerance, "% of the fastest found (",
             format_seconds(fastest_ev.iteration_s), "): links busy ", format_seconds(a.link_s), " against ",
             format_seconds(b.link_s), ", ", a.hops, " hops against ", b.hops);
}

}  // namespace dec::planner
