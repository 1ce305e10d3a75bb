#include "dec/planner/bound_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>

#include "dec/core/error.h"
#include "dec/planner/classes.h"

namespace dec::planner {
namespace {

using Clock = std::chrono::steady_clock;

// One binary path variable of one source fixed: hop -1 is v (the path is
// used), otherwise P[hop][block].
struct Fix {
  int path = -1, hop = -1, block = -1;
  double value = 0;
};

// A candidate branching variable: the orbit's first source's variable.
struct Candidate {
  std::vector<int> orbit;
  int index = -1;  // the path's position in each source's path list
  int hop = -1, block = -1;
  double value = 0;
};

struct Node {
  std::vector<int> marks;  // per source: 0, or a unique id once singled out
  std::vector<Fix> fixes;
  double lp = -kInf;       // lower bound: its LP value (at least its parent's)
  std::vector<Candidate> candidates;
};

struct ByBound {
  bool operator()(const Node& a, const Node& b) const { return a.lp > b.lp; }
};

constexpr double kIntegral = 1e-6;

class Search {
 public:
  Search(const Instance& in, Solver& solver, const SolveOptions& lp, const BoundSearchOptions& o)
      : in_(in), solver_(solver), lp_(lp), o_(o), t0_(Clock::now()) {
    fix_.resize(in.paths.size());
    lp_.start.clear();
  }

  BoundSearchResult run() {
    BoundSearchResult out;
    out.unused.assign(in_.paths.size(), 0);
    Node root;
    root.marks.assign(in_.sources.size(), 0);
    probe_paths(root, &out);
    const Outcome first = solve(root);
    if (first == Outcome::kFailed) {
      out.note = "the root LP failed";
      return finish(&out);
    }
    if (first == Outcome::kClosed) {
      out.complete = true;
      out.bound = o_.prune_above;
      out.note = "the LP relaxation without what the plan beats is infeasible";
      return finish(&out);
    }
    root_lp_ = root.lp;
    std::priority_queue<Node, std::vector<Node>, ByBound> open;
    std::vector<Node> stuck;  // nothing left to branch on: their LP value stands
    open.push(std::move(root));
    while (!open.empty() && left() > 0) {
      if (gap(open.top().lp) <= o_.relative_gap) break;
      Node node = open.top();
      open.pop();
      std::vector<Node> children;
      const Outcome b = branch(node, &children);
      if (b == Outcome::kFailed) {  // out of time or an LP failed: the node stays as it is
        open.push(std::move(node));
        break;
      }
      if (b == Outcome::kOpen && children.empty()) {
        stuck.push_back(std::move(node));
        continue;
      }
      for (auto& c : children) open.push(std::move(c));
    }
    double bound = o_.prune_above;
    if (!open.empty()) bound = std::min(bound, open.top().lp);
    for (const Node& n : stuck) bound = std::min(bound, n.lp);
    out.bound = bound;
    out.open = static_cast<int>(open.size() + stuck.size());
    out.complete = out.open == 0;
    out.note = str("branch-and-bound over LP relaxations that keeps the sources' symmetry (root LP ", root_lp_,
                   ", ", lps_, " LPs, ", out.open, " nodes open");
    int ruled = 0;
    for (char u : out.unused) ruled += u;
    if (ruled > 0) out.note += str(", ", ruled, " paths ruled out");
    out.note += ")";
    return finish(&out);
  }

 private:
  enum class Outcome { kOpen, kClosed, kFailed };

  double left() const { return o_.seconds - std::chrono::duration<double>(Clock::now() - t0_).count(); }
  double gap(double bound) const {
    if (!std::isfinite(o_.prune_above)) return kInf;
    return (o_.prune_above - bound) / std::max(std::fabs(o_.prune_above), 1e-12);
  }

  BoundSearchResult& finish(BoundSearchResult* out) {
    out->lps = lps_;
    return *out;
  }

  // Solves the node's LP: kClosed when it holds no plan at least as fast as
  // prune_above, kFailed when the LP did not solve (or no time is left).
  Outcome solve(Node& n) {
    if (left() <= 0) return Outcome::kFailed;
    FormulationOptions fo;
    const auto orbits = source_orbits(in_, n.marks);
    fo.tie = tie_groups(in_, orbits);
    fo.prune_above = o_.prune_above;
    fo.fix = fix_;
    const Formulation f(in_, fo);
    Milp lp = f.milp().relaxation();
    for (const Fix& x : n.fixes) {
      const int v = x.hop < 0 ? f.used_var(x.path) : f.prefix_var(x.path, x.hop, x.block);
      lp.set_bounds(v, x.value, x.value);
    }
    SolveOptions so = lp_;
    so.time_limit_s = std::max(0.05, left());
    const SolveResult r = solver_.solve(lp, so);
    ++lps_;
    if (r.status == SolveStatus::kInfeasible) return Outcome::kClosed;
    if (r.status != SolveStatus::kOptimal) return Outcome::kFailed;
    if (r.objective > o_.prune_above) return Outcome::kClosed;
    n.lp = std::max(n.lp, r.objective);
    n.candidates = candidates(f, orbits, r.values);
    return Outcome::kOpen;
  }

  // Fractional path binaries of each orbit's first source: every fractional v,
  // then the most fractional P, up to o_.candidates in all.
  std::vector<Candidate> candidates(const Formulation& f, const std::vector<std::vector<int>>& orbits,
                                    const std::vector<double>& x) const {
    std::vector<std::pair<double, Candidate>> used, prefix;
    auto frac = [](double v) { return std::min(v, 1 - v); };
    for (const auto& orbit : orbits) {
      const SourceData& src = in_.sources[orbit[0]];
      for (size_t i = 0; i < src.paths.size(); ++i) {
        const int p = src.paths[i];
        Candidate c{orbit, static_cast<int>(i), -1, -1, x[f.used_var(p)]};
        if (frac(c.value) > kIntegral) used.push_back({frac(c.value), c});
        for (int h = 0; h < in_.paths[p].hops(); ++h) {
          for (int l = 0; l < in_.num_blocks(); ++l) {
            Candidate d{orbit, static_cast<int>(i), h, l, x[f.prefix_var(p, h, l)]};
            if (frac(d.value) > kIntegral) prefix.push_back({frac(d.value), d});
          }
        }
      }
    }
    auto by_frac = [](const auto& a, const auto& b) { return a.first > b.first; };
    std::stable_sort(used.begin(), used.end(), by_frac);
    std::stable_sort(prefix.begin(), prefix.end(), by_frac);
    std::vector<Candidate> out;
    for (auto& [_, c] : used) out.push_back(c);
    for (auto& [_, c] : prefix) out.push_back(c);
    if (out.size() > static_cast<size_t>(o_.candidates)) out.resize(o_.candidates);
    return out;
  }

  // The two children of `node` on candidate c: [0] every source of the orbit
  // has the variable 0; [1] the orbit's first source has it 1 and is singled out.
  std::pair<Node, Node> children(const Node& node, const Candidate& c) const {
    Node zero{node.marks, node.fixes, node.lp, {}};
    for (int s : c.orbit) zero.fixes.push_back({in_.sources[s].paths[c.index], c.hop, c.block, 0});
    Node one{node.marks, node.fixes, node.lp, {}};
    const int first = c.orbit[0];
    one.fixes.push_back({in_.sources[first].paths[c.index], c.hop, c.block, 1});
    if (c.orbit.size() > 1) one.marks[first] = 1 + *std::max_element(node.marks.begin(), node.marks.end());
    return {std::move(zero), std::move(one)};
  }

  // Strong branching: solves both children of each candidate and keeps the
  // pair with the largest smaller bound. A candidate with a closed child ends
  // the choice (the other child is a fixing that loses nothing). kOpen with no
  // children: nothing to branch on.
  Outcome branch(const Node& node, std::vector<Node>* out) {
    double best_score = -kInf;
    std::vector<Node> best;
    for (const Candidate& c : node.candidates) {
      auto [zero, one] = children(node, c);
      const Outcome a = solve(zero);
      if (a == Outcome::kFailed) return Outcome::kFailed;
      const Outcome b = solve(one);
      if (b == Outcome::kFailed) return Outcome::kFailed;
      if (a == Outcome::kClosed && b == Outcome::kClosed) return Outcome::kClosed;
      if (a == Outcome::kClosed || b == Outcome::kClosed) {
        out->clear();
        out->push_back(a == Outcome::kClosed ? std::move(one) : std::move(zero));
        return Outcome::kOpen;
      }
      const double score = std::min(zero.lp, one.lp);
      if (score > best_score) {
        best_score = score;
        best.clear();
        best.push_back(std::move(zero));
        best.push_back(std::move(one));
      }
    }
    *out = std::move(best);
    return Outcome::kOpen;
  }

  // At the root: a path that no source of its orbit can use in a plan at least
  // as fast as prune_above is fixed off everywhere (fix_), for every later LP.
  void probe_paths(const Node& root, BoundSearchResult* out) {
    if (!std::isfinite(o_.prune_above)) return;
    for (const auto& orbit : source_orbits(in_, root.marks)) {
      const SourceData& first = in_.sources[orbit[0]];
      for (size_t i = 0; i < first.paths.size(); ++i) {
        if (fix_[first.paths[i]].off) continue;
        Candidate c{orbit, static_cast<int>(i), -1, -1, 0};
        Node one = children(root, c).second;
        const Outcome o = solve(one);
        if (o == Outcome::kFailed) return;
        if (o != Outcome::kClosed) continue;
        for (int s : orbit) {
          const int p = in_.sources[s].paths[i];
          fix_[p].off = true;
          out->unused[p] = 1;
        }
      }
    }
  }

  const Instance& in_;
  Solver& solver_;
  SolveOptions lp_;
  BoundSearchOptions o_;
  Clock::time_point t0_;
  std::vector<PathFix> fix_;
  int lps_ = 0;
  double root_lp_ = -kInf;
};

}  // namespace

BoundSearchResult search_bound(const Instance& in, Solver& solver, const SolveOptions& lp_options,
                               const BoundSearchOptions& options) {
  DEC_CHECK(options.seconds > 0 && options.candidates >= 1, ConfigError, "invalid bound search options",
            "seconds/candidates", "got ", options.seconds, " and ", options.candidates);
  return Search(in, solver, lp_options, options).run();
}

}  // namespace dec::planner
