#include "dec/planner/fleet.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "dec/core/error.h"
#include "dec/planner/milp.h"

namespace dec::planner {
namespace {

using Clock = std::chrono::steady_clock;

// Every cut vector of `hops` hops: non-decreasing, each below L.
void cut_vectors(int hops, int L, std::vector<int>& cur, std::vector<std::vector<int>>* out) {
  if (static_cast<int>(cur.size()) == hops) {
    out->push_back(cur);
    return;
  }
  for (int c = cur.empty() ? 0 : cur.back(); c < L; ++c) {
    cur.push_back(c);
    cut_vectors(hops, L, cur, out);
    cur.pop_back();
  }
}

struct Config {
  int path = -1;               // index into Instance::paths
  int index = 0;               // the path's position in its source's list
  std::vector<int> cuts;
  std::vector<double> wait;    // per node of the path, then per hop: least wait (0: no term)
  // Per resource as `wait`: the least wait per sample over 1..n samples,
  // min_b wait(b) / b (0: no term).
  std::vector<double> rate;
};

// Every configuration of source `src`.
std::vector<Config> configs_of(const Instance& in, int src) {
  std::vector<Config> out;
  const auto& paths = in.sources[src].paths;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::vector<std::vector<int>> cuts;
    std::vector<int> cur;
    cut_vectors(in.paths[paths[i]].hops(), in.num_blocks(), cur, &cuts);
    for (auto& c : cuts) out.push_back({paths[i], static_cast<int>(i), std::move(c), {}, {}});
  }
  return out;
}

// `in` cut down to the route of source `src`, which holds `samples` samples:
// its paths' fills and waits are those of the whole instance (they read only
// the path's own nodes and links).
Instance route_instance(const Instance& in, int src, int64_t samples) {
  const SourceData& s = in.sources[src];
  const PathData& longest = in.paths[s.paths.back()];
  const int n = static_cast<int>(longest.nodes.size());
  Instance out;
  out.cluster_name = in.cluster_name;
  out.input_bytes = in.input_bytes;
  out.batch = samples;
  out.micro_batches = in.micro_batches;
  out.blocks = in.blocks;
  for (int k : longest.nodes) out.nodes.push_back(in.nodes[k]);
  for (int j = 0; j < n; ++j) out.parent.push_back(j + 1 < n ? j + 1 : -1);
  out.root = n - 1;
  for (int h = 0; h + 1 < n; ++h) {
    LinkData l = in.links[longest.links[h]];
    l.child = h;
    l.parent = h + 1;
    out.links.push_back(l);
    std::vector<char> below(n, 0);
    for (int j = 0; j <= h; ++j) below[j] = 1;
    out.below.push_back(below);
  }
  SourceData d;
  d.node = 0;
  d.share = 1;
  d.samples = samples;
  for (size_t i = 0; i < s.paths.size(); ++i) {
    PathData p = in.paths[s.paths[i]];
    p.source = 0;
    for (size_t j = 0; j < p.nodes.size(); ++j) p.nodes[j] = static_cast<int>(j);
    for (size_t h = 0; h < p.links.size(); ++h) p.links[h] = static_cast<int>(h);
    d.paths.push_back(static_cast<int>(out.paths.size()));
    out.paths.push_back(std::move(p));
  }
  out.sources.push_back(d);
  return out;
}

// Fills every configuration's least wait per resource over 1..n samples:
// the largest (term - load) among its terms on that resource (cost_model.cc).
void add_waits(const Instance& in, int src, std::vector<Config>* configs) {
  const int64_t n = in.sources[src].samples;
  for (Config& c : *configs) {
    const PathData& path = in.paths[c.path];
    c.wait.assign(path.nodes.size() + path.links.size(), n > 0 ? kInf : 0);
    c.rate = c.wait;
  }
  for (int64_t b = 1; b <= n; ++b) {
    const Instance sub = route_instance(in, src, b);
    Structure s(sub.paths.size());
    for (size_t i = 0; i < sub.paths.size(); ++i) s[i].cuts.assign(sub.paths[i].hops(), 0);
    for (Config& c : *configs) {
      const size_t nodes = in.paths[c.path].nodes.size();
      Structure t = s;
      t[c.index] = {b, c.cuts};
      std::vector<TimeTerm> terms;
      evaluate(sub, t, &terms);
      std::vector<double> wait(c.wait.size(), 0);
      for (const TimeTerm& term : terms) {
        if (term.path != c.index) continue;
        const size_t r = term.is_link ? nodes + term.resource : term.resource;
        wait[r] = std::max(wait[r], term.total() - term.load_s);
      }
      for (size_t r = 0; r < wait.size(); ++r) {
        c.wait[r] = std::min(c.wait[r], wait[r]);
        c.rate[r] = std::min(c.rate[r], wait[r] / static_cast<double>(b));
      }
    }
  }
}

// Links whose subtree some source's route avoids: every block is then held
// outside it in every plan (every source runs every block on its route).
std::vector<char> held_outside(const Instance& in) {
  std::vector<char> out(in.links.size(), 0);
  for (size_t e = 0; e < in.links.size(); ++e) {
    for (const SourceData& s : in.sources) {
      bool avoids = true;
      for (int k : in.paths[s.paths.back()].nodes) avoids = avoids && !in.below[e][k];
      if (avoids && s.samples > 0) out[e] = 1;
    }
  }
  return out;
}

// Seconds of gradient sync over source d's own link when its node holds
// blocks [0, c): every block is also held outside (held_outside).
double own_sync_s(const Instance& in, int d, int c) {
  const PathData& longest = in.paths[in.sources[d].paths.back()];
  if (longest.links.empty()) return 0;
  double bytes = 0;
  for (int l = 0; l < c; ++l) bytes += in.sync_bytes(l);
  return bytes / in.links[longest.links[0]].bytes_per_s;
}

// The largest gradient sync that configuration `c` alone causes on a link
// of its source's route: the blocks it runs below the link, on a link whose
// subtree some route avoids (held_outside). Every plan that uses `c` syncs
// at least that much over that link.
double config_sync_s(const Instance& in, const Config& c, const std::vector<char>& outside) {
  const PathData& path = in.paths[c.path];
  const std::vector<int>& route = in.paths[in.sources[path.source].paths.back()].links;
  const PathChoice choice{1, c.cuts};
  std::vector<char> runs(in.num_blocks(), 0);  // blocks run on nodes[0..h]
  double most = 0;
  for (size_t h = 0; h < route.size(); ++h) {
    if (h < path.nodes.size()) {
      auto [begin, end] = node_range(in, c.path, choice, static_cast<int>(h));
      for (int l = begin; l < end; ++l) runs[l] = 1;
    }
    if (!outside[route[h]]) continue;
    double bytes = 0;
    for (int l = 0; l < in.num_blocks(); ++l)
      if (runs[l]) bytes += in.sync_bytes(l);
    most = std::max(most, bytes / in.links[route[h]].bytes_per_s);
  }
  return most;
}

class LpBuilder {
 public:
  LpBuilder(const Instance& in, double own_sync_cap, double min_sync) : in_(in), cap_(own_sync_cap), min_sync_(min_sync) {}

  void build() {
    T_ = lp_.add_var("T", 0, kInf, false, 1);
    S_ = lp_.add_var("S", min_sync_, kInf, false);
    node_load_.resize(in_.nodes.size());
    link_load_.resize(in_.links.size());
    node_sum_.resize(in_.nodes.size());
    link_act_.resize(in_.links.size());
    link_serial_.resize(in_.links.size());
    link_raw_.resize(in_.links.size());
    mem_.resize(in_.nodes.size());
    const std::vector<char> outside = held_outside(in_);
    for (size_t d = 0; d < in_.sources.size(); ++d) add_source(static_cast<int>(d), outside);
    add_resources();
  }

  Milp& lp() { return lp_; }
  // Per source, its configurations and their x variables.
  std::vector<std::vector<Config>> configs;
  std::vector<std::vector<int>> x;

 private:
  int hold(std::map<std::pair<int, int>, int>& m, int a, int l, const char* what) {
    auto [it, fresh] = m.emplace(std::make_pair(a, l), -1);
    if (fresh) it->second = lp_.add_var(str(what, a, "_", l), 0, 1, false);
    return it->second;
  }

  void add_source(int d, const std::vector<char>& outside) {
    const SourceData& src = in_.sources[d];
    const double n = static_cast<double>(src.samples);
    configs.push_back(configs_of(in_, d));
    if (std::isfinite(cap_)) {
      // Only the configurations whose blocks below each link of the route
      // keep that link's sync within the cap (a link whose subtree some
      // route avoids syncs every block held below it, held_outside).
      auto& all = configs.back();
      all.erase(std::remove_if(all.begin(), all.end(),
                               [&](const Config& c) { return config_sync_s(in_, c, outside) > cap_; }),
                all.end());
    }
    add_waits(in_, d, &configs.back());
    std::vector<int> xs;
    LinExpr sum;
    // Per (node, block) and (link, block): the source's samples running it there / below.
    std::map<std::pair<int, int>, LinExpr> on_node, below_link;
    std::map<int, LinExpr> weighted;  // per resource id (node k, or N + link e): sum x w / n
    // Per (path, resource id): sum over the path's configurations of x * rate.
    std::map<std::pair<int, int>, LinExpr> on_path;
    const int N = static_cast<int>(in_.nodes.size());
    const std::vector<int>& route = in_.paths[src.paths.back()].links;
    for (const Config& c : configs.back()) {
      const int v = lp_.add_var(str("x", d, "_", xs.size()), 0, n, false);
      xs.push_back(v);
      sum.add(v, 1);
      const PathData& path = in_.paths[c.path];
      const PathChoice choice{1, c.cuts};
      for (size_t j = 0; j < path.nodes.size(); ++j) {
        const int k = path.nodes[j];
        auto [begin, end] = node_range(in_, c.path, choice, static_cast<int>(j));
        double step = 0, saved = 0;
        for (int l = begin; l < end; ++l) {
          step += in_.step_s(c.path, k, l);
          saved += in_.blocks[l].saved_bytes;
          on_node[{k, l}].add(v, 1);
          // Node j lies below every link of the route from it to the root,
          // on the path or beyond its last node.
          for (size_t h = j; h < route.size(); ++h) below_link[{route[h], l}].add(v, 1);
        }
        node_sum_[k].add(v, step);
        mem_[k].add(v, saved);
        if (c.wait[j] > 0) weighted[k].add(v, c.wait[j] / n);
        if (c.rate[j] > 0) on_path[{c.path, k}].add(v, c.rate[j]);
      }
      for (int h = 0; h < path.hops(); ++h) {
        const int e = path.links[h];
        const double bytes = in_.hop_bytes_per_sample(c.cuts[h]);
        if (c.cuts[h] == 0) {
          link_raw_[e].add(v, bytes);
        } else {
          link_act_[e].add(v, bytes);
          if (path_hop_serial(in_, c.path, choice, h)) link_serial_[e].add(v, bytes);
        }
        const size_t r = path.nodes.size() + h;
        if (c.wait[r] > 0) weighted[N + e].add(v, c.wait[r] / n);
        if (c.rate[r] > 0) on_path[{c.path, N + e}].add(v, c.rate[r]);
      }
    }
    lp_.add_eq(str("samples", d), sum, n);
    x.push_back(std::move(xs));
    if (n == 0) return;
    // Holding rows at the source's own node only: elsewhere (edges, the
    // cloud) the optimizer step and a block's memory are small beside the
    // samples' compute, and leaving rows out keeps the LP a relaxation.
    for (auto& [kl, e] : on_node) {
      if (kl.first != src.node) continue;
      const int h = hold(held_, kl.first, kl.second, "h");
      lp_.add_ge(str("hold", d, "_", kl.first, "_", kl.second), LinExpr::var(h) - (1 / n) * e, 0);
    }
    for (auto& [el, e] : below_link) {
      if (!outside[el.first]) continue;
      const int s = hold(sync_, el.first, el.second, "s");
      lp_.add_ge(str("sync", d, "_", el.first, "_", el.second), LinExpr::var(s) - (1 / n) * e, 0);
    }
    for (auto& [r, e] : weighted) path_terms_.push_back({r, std::move(e)});
    for (auto& [pr, e] : on_path) path_terms_.push_back({pr.second, std::move(e)});
  }

  int load_var(int r) {
    const int N = static_cast<int>(in_.nodes.size());
    return r < N ? node_load_[r] : link_load_[r - N];
  }

  void add_resources() {
    for (size_t k = 0; k < in_.nodes.size(); ++k) {
      LinExpr load = node_sum_[k];
      LinExpr mem = mem_[k];
      for (int l = 0; l < in_.num_blocks(); ++l) {
        auto it = held_.find({static_cast<int>(k), l});
        if (it == held_.end()) continue;
        load.add(it->second, in_.nodes[k].opt_s[l]);
        mem.add(it->second, in_.static_bytes(l));
      }
      node_load_[k] = lp_.add_var(str("load", k), 0, kInf, false);
      lp_.add_eq(str("load", k), LinExpr::var(node_load_[k]) - load, 0);
      lp_.add_ge(str("T_node", k), LinExpr::var(T_) - LinExpr::var(node_load_[k]) - LinExpr::var(S_), 0);
      if (!mem.terms.empty())
        lp_.add_le(str("mem", k), mem, in_.nodes[k].memory_bytes * (1 + kMemorySlack));
    }
    for (size_t e = 0; e < in_.links.size(); ++e) {
      const double bw = in_.links[e].bytes_per_s;
      LinExpr sync;
      for (int l = 0; l < in_.num_blocks(); ++l) {
        auto it = sync_.find({static_cast<int>(e), l});
        if (it != sync_.end()) sync.add(it->second, in_.sync_bytes(l) / bw);
      }
      const LinExpr half = (0.5 / bw) * link_act_[e];
      link_load_[e] = lp_.add_var(str("link", e), 0, kInf, false);
      const LinExpr load = LinExpr::var(link_load_[e]);
      lp_.add_ge(str("link_serial", e), load - half - (0.5 / bw) * link_serial_[e] - sync, 0);
      lp_.add_ge(str("link_raw", e), load - half - (1 / bw) * link_raw_[e] - sync, 0);
      lp_.add_ge(str("T_link", e), LinExpr::var(T_) - load, 0);
      if (!sync.terms.empty()) lp_.add_ge(str("S", e), LinExpr::var(S_) - sync, 0);
    }
    for (size_t i = 0; i < path_terms_.size(); ++i) {
      const auto& [r, w] = path_terms_[i];
      lp_.add_ge(str("T_path", i), LinExpr::var(T_) - LinExpr::var(load_var(r)) - w, 0);
    }
  }

  const std::vector<int>& route_links(int d) const { return in_.paths[in_.sources[d].paths.back()].links; }

  const Instance& in_;
  double cap_, min_sync_;
  Milp lp_;
  int T_ = -1, S_ = -1;
  std::vector<int> node_load_, link_load_;
  std::vector<LinExpr> node_sum_, link_act_, link_serial_, link_raw_, mem_;
  std::map<std::pair<int, int>, int> held_, sync_;
  std::vector<std::pair<int, LinExpr>> path_terms_;
};

// A configuration whose source sends its samples raw (first cut 0) runs
// the same work on a neighbouring path: one hop longer with its new last
// node running only the last block, or one hop shorter when its last node
// runs only the last block. The source's link carries the same raw bytes
// (prefetched either way); the rest differs by the last block (the
// smallest, in CNN-like chains) and one hop of its output. Returns false
// when there is none.
bool raw_neighbour(const Instance& in, int src, int index, const std::vector<int>& cuts, int* to,
                   std::vector<int>* to_cuts) {
  const auto& paths = in.sources[src].paths;
  const int L = in.num_blocks();
  if (cuts.empty() || cuts[0] != 0) return false;
  if (index + 1 < static_cast<int>(paths.size())) {
    *to = index + 1;
    *to_cuts = cuts;
    to_cuts->push_back(L - 1);
    return true;
  }
  if (cuts.size() >= 2 && cuts.back() == L - 1) {
    *to = index - 1;
    *to_cuts = std::vector<int>(cuts.begin(), cuts.end() - 1);
    return true;
  }
  return false;
}

// Per source: its samples on each path (largest remainder of the LP's). A
// path runs one cut vector, and the LP often splits a source's samples over
// several of one path (some raw to the edge, some cut after the source's
// blocks): the configurations, most samples first, take their path; when it
// is taken and one of the two sends raw samples, that one moves to a free
// neighbouring path (raw_neighbour); otherwise it joins the path's cuts.
Structure round_lp(const Instance& in, const LpBuilder& b, const std::vector<double>& values) {
  Structure s(in.paths.size());
  for (size_t p = 0; p < in.paths.size(); ++p) s[p].cuts.assign(in.paths[p].hops(), 0);
  for (size_t d = 0; d < in.sources.size(); ++d) {
    const SourceData& src = in.sources[d];
    const int di = static_cast<int>(d);
    std::vector<std::pair<double, int>> order;  // (-samples, configuration)
    for (size_t i = 0; i < b.configs[d].size(); ++i) {
      const double v = values[b.x[d][i]];
      if (v > 1e-9) order.push_back({-v, static_cast<int>(i)});
    }
    std::sort(order.begin(), order.end());
    std::vector<double> on(src.paths.size(), 0);
    std::vector<char> taken(src.paths.size(), 0);
    std::vector<std::vector<int>> cuts(src.paths.size());
    for (const auto& [minus_v, i] : order) {
      const Config& c = b.configs[d][i];
      int at = c.index, to = -1;
      std::vector<int> to_cuts;
      if (taken[at]) {
        if (raw_neighbour(in, di, at, c.cuts, &to, &to_cuts) && !taken[to]) {
          at = to;  // this one moves
        } else if (raw_neighbour(in, di, at, cuts[at], &to, &to_cuts) && !taken[to]) {
          taken[to] = 1;  // the one there moves
          on[to] = on[at];
          cuts[to] = to_cuts;
          taken[at] = 0;
          on[at] = 0;
          to_cuts = c.cuts;
        } else {
          on[at] -= minus_v;  // joins the cuts there
          continue;
        }
      } else {
        to_cuts = c.cuts;
      }
      taken[at] = 1;
      on[at] -= minus_v;
      cuts[at] = to_cuts;
    }
    double total = 0;
    for (double v : on) total += v;
    if (src.samples == 0 || total <= 0) continue;
    for (double& v : on) v /= total;
    const std::vector<int64_t> counts = apportion(src.samples, on);
    for (size_t i = 0; i < src.paths.size(); ++i) {
      s[src.paths[i]].samples = counts[i];
      if (taken[i]) s[src.paths[i]].cuts = cuts[i];
    }
  }
  return s;
}

}  // namespace

int formulation_integers(const Instance& in) {
  int n = 0;
  for (const PathData& p : in.paths) n += 2 + p.hops() * in.num_blocks();
  return n;
}

bool fleet_scale(const Instance& in) { return formulation_integers(in) > 1500 && in.sources.size() >= 32; }

FleetLp solve_fleet_lp(const Instance& in, Solver& solver, const SolveOptions& lp_options, double own_sync_cap,
                       double min_sync) {
  const auto t0 = Clock::now();
  LpBuilder b(in, own_sync_cap, min_sync);
  b.build();
  SolveOptions so = lp_options;
  so.start.clear();
  const double built = std::chrono::duration<double>(Clock::now() - t0).count();
  so.time_limit_s = std::max(0.05, lp_options.time_limit_s - built);
  const SolveResult r = solver.solve(b.lp(), so);
  FleetLp out;
  const std::string size = str(b.lp().num_vars(), " variables, ", b.lp().num_rows(), " rows");
  if (r.status == SolveStatus::kInfeasible) {
    out.infeasible = true;
    out.note = str("configuration LP (", size, "): infeasible");
    return out;
  }
  if (r.status != SolveStatus::kOptimal) {
    out.note = str("configuration LP (", size, "): ", status_name(r.status), " (", r.message, ")");
    return out;
  }
  // The solver's optimum to its tolerances: keep the bound just below it.
  out.bound = r.objective - 1e-9 * std::max(1.0, std::fabs(r.objective));
  out.rounded = round_lp(in, b, r.values);
  out.note = str("configuration LP over every source's paths and cuts (", size, "; built in ", built,
                 " s, solved in ", r.seconds, " s)");
  return out;
}

namespace {

// `s` with every source's own node holding no more blocks than keep its
// sync within theta: a path's first cut comes down (to 0 with `raw`: the
// source then sends its samples raw, the lightest load on its link), and
// the samples of a path that ends at the source move to the next path, cut there.
Structure cap_own_sync(const Instance& in, Structure s, double theta, const std::vector<char>& outside, bool raw) {
  for (size_t d = 0; d < in.sources.size(); ++d) {
    const SourceData& src = in.sources[d];
    const PathData& longest = in.paths[src.paths.back()];
    if (longest.links.empty() || !outside[longest.links[0]]) continue;
    int cap = 0;
    while (cap < in.num_blocks() && own_sync_s(in, static_cast<int>(d), cap + 1) <= theta) ++cap;
    if (raw && cap < in.num_blocks()) cap = 0;
    for (size_t i = 0; i < src.paths.size(); ++i) {
      PathChoice& c = s[src.paths[i]];
      if (c.samples == 0) continue;
      if (i == 0 && cap < in.num_blocks()) {  // the source alone runs everything
        PathChoice& next = s[src.paths[1]];
        const int cut = next.samples > 0 ? std::min(next.cuts[0], cap) : std::min(cap, in.num_blocks() - 1);
        next.cuts[0] = cut;
        for (size_t h = 1; h < next.cuts.size(); ++h) next.cuts[h] = std::max(next.cuts[h], cut);
        next.samples += c.samples;
        c.samples = 0;
      } else if (i > 0 && c.cuts[0] > cap) {
        c.cuts[0] = cap;
      }
    }
  }
  return s;
}

}  // namespace

double max_own_sync_s(const Instance& in, const Structure& s) {
  const std::vector<char> outside = held_outside(in);
  double most = 0;
  for (size_t d = 0; d < in.sources.size(); ++d) {
    const SourceData& src = in.sources[d];
    const PathData& longest = in.paths[src.paths.back()];
    if (longest.links.empty() || !outside[longest.links[0]]) continue;
    int held = 0;
    for (size_t i = 0; i < src.paths.size(); ++i) {
      const PathChoice& c = s[src.paths[i]];
      if (c.samples > 0) held = std::max(held, i == 0 ? in.num_blocks() : c.cuts[0]);
    }
    most = std::max(most, own_sync_s(in, static_cast<int>(d), held));
  }
  return most;
}

Structure repair_own_sync(const Instance& in, const Structure& s) {
  const std::vector<char> outside = held_outside(in);
  double most = 0;
  for (size_t d = 0; d < in.sources.size(); ++d)
    most = std::max(most, own_sync_s(in, static_cast<int>(d), in.num_blocks()));
  Structure best = s;
  Evaluation ev = evaluate(in, s);
  double best_s = ev.fits ? ev.iteration_s : kInf;
  std::vector<double> thresholds{0};
  for (double t = most; t > most * 1e-4; t /= std::sqrt(2.0)) thresholds.push_back(t);
  for (double t : thresholds) {
    for (bool raw : {false, true}) {
      Structure c = cap_own_sync(in, s, t, outside, raw);
      const Evaluation e = evaluate(in, c);
      if (e.fits && e.iteration_s < best_s) {
        best_s = e.iteration_s;
        best = std::move(c);
      }
    }
  }
  return best;
}

Instance lowest_costs(const Instance& in) {
  Instance out = in;
  if (!in.has_rows_tables()) return out;
  const int L = in.num_blocks();
  auto units = [](const std::vector<BlockData::AtRows>& t, double rows, bool backward) {
    return profile::cost_at_rows(
        t, rows, [](const BlockData::AtRows& a) { return a.rows; },
        [backward](const BlockData::AtRows& a) { return backward ? a.bwd : a.fwd; });
  };
  for (PathData& path : out.paths) {
    const int64_t n = in.sources[path.source].samples;
    path.fwd_scale.assign(L, 1);
    path.bwd_scale.assign(L, 1);
    for (int l = 0; l < L; ++l) {
      const auto& t = in.blocks[l].by_rows;
      if (t.empty() || n == 0) continue;
      for (bool backward : {false, true}) {
        double least = kInf;
        // rows.cc at_rows: b samples in min(M, b) micro-batches of floor or ceil b / M rows.
        for (int64_t b = 1; b <= n; ++b) {
          const int64_t m = std::min<int64_t>(in.micro_batches, b), q = b / m, big = b % m;
          const double u = static_cast<double>(big) * units(t, static_cast<double>(q + 1), backward) +
                           static_cast<double>(m - big) * units(t, static_cast<double>(q), backward);
          least = std::min(least, u / static_cast<double>(b));
        }
        (backward ? path.bwd_scale : path.fwd_scale)[l] = least;
      }
    }
  }
  return out;
}

namespace {

// A plan's time and how far its resources' largest terms reach into the
// band (1 - kBand) T..T: of two plans equally fast, the one with less there
// is closer to a faster one (several resources often share the largest
// term, and no single move lowers them all).
constexpr double kBand = 0.02;

struct Score {
  double time = kInf, excess = kInf;
  bool better_than(const Score& o) const {
    if (time < o.time * (1 - 1e-9)) return true;
    return time <= o.time * (1 + 1e-12) && excess < o.excess * (1 - 1e-9) - 1e-15;
  }
};

// The resources whose largest term lies in the band: node k as k, link e as N + e.
Score score_of(const Instance& in, const Structure& s, std::vector<int>* band) {
  std::vector<TimeTerm> terms;
  const Evaluation ev = evaluate(in, s, &terms);
  if (!ev.fits) return {};
  const int N = static_cast<int>(in.nodes.size());
  std::vector<double> top(in.nodes.size() + in.links.size(), 0);
  for (const TimeTerm& t : terms) {
    double& x = top[t.is_link ? N + t.resource : t.resource];
    x = std::max(x, t.total());
  }
  Score out{ev.iteration_s, 0};
  const double floor = (1 - kBand) * ev.iteration_s;
  if (band) band->clear();
  for (size_t r = 0; r < top.size(); ++r) {
    if (top[r] <= floor) continue;
    out.excess += top[r] - floor;
    if (band) band->push_back(static_cast<int>(r));
  }
  // The largest sync adds to every node's load: its link is in the band too.
  if (band && ev.critical.after_sync_link >= 0) band->push_back(N + ev.critical.after_sync_link);
  return out;
}

// Samples of source d on paths that use one of the resources in `band`
// (or whose node lies below a link in it).
int64_t samples_on(const Instance& in, const Structure& s, int d, const std::vector<char>& in_band) {
  const int N = static_cast<int>(in.nodes.size());
  int64_t on = 0;
  for (int p : in.sources[d].paths) {
    if (s[p].samples == 0) continue;
    const PathData& path = in.paths[p];
    bool uses = false;
    for (int k : path.nodes) uses = uses || in_band[k];
    for (int e : in.paths[in.sources[d].paths.back()].links) uses = uses || in_band[N + e];
    if (uses) on += s[p].samples;
  }
  return on;
}

// The group move no single move makes: every source whose own link syncs
// more than just below the plan's largest own sync gives up its blocks
// there (cap_own_sync, raw or cut lower), at thresholds 3%, 6%, .. 30%
// below it. Keeps the first that scores better.
bool lower_own_sync(const Instance& in, Structure* s, Score* score, std::vector<int>* band) {
  const std::vector<char> outside = held_outside(in);
  const double most = max_own_sync_s(in, *s);
  for (int k = 1; k <= 10 && most > 0; ++k) {
    for (bool raw : {true, false}) {
      Structure t = cap_own_sync(in, *s, most * (1 - 0.03 * k), outside, raw);
      std::vector<int> t_band;
      const Score e = score_of(in, t, &t_band);
      if (e.better_than(*score)) {
        *s = std::move(t);
        *score = e;
        *band = std::move(t_band);
        return true;
      }
    }
  }
  return false;
}

}  // namespace

Structure improve_by_moves(const Instance& in, Structure s, double seconds) {
  const auto t0 = Clock::now();
  auto left = [&] { return seconds - std::chrono::duration<double>(Clock::now() - t0).count(); };
  std::vector<std::vector<Config>> configs;
  for (size_t d = 0; d < in.sources.size(); ++d) configs.push_back(configs_of(in, static_cast<int>(d)));
  std::vector<int> band;
  Score score = score_of(in, s, &band);
  DEC_ASSERT(std::isfinite(score.time), "the plan to improve does not fit memory");
  bool moved = true;
  while (moved && left() > 0) {
    moved = false;
    // The sources whose paths use a resource in the band, most samples there first.
    std::vector<char> in_band(in.nodes.size() + in.links.size(), 0);
    for (int r : band) in_band[r] = 1;
    std::vector<std::pair<int64_t, int>> order;
    for (size_t d = 0; d < in.sources.size(); ++d) {
      const int64_t on = samples_on(in, s, static_cast<int>(d), in_band);
      if (on > 0) order.push_back({-on, static_cast<int>(d)});
    }
    std::sort(order.begin(), order.end());
    for (const auto& [_, d] : order) {
      if (left() <= 0) break;
      const std::vector<int>& paths = in.sources[d].paths;
      // The path of d that carries the most samples.
      int from = -1;
      for (int p : paths)
        if (s[p].samples > 0 && (from < 0 || s[p].samples > s[from].samples)) from = p;
      for (const Config& cfg : configs[d]) {
        // All of d's samples onto cfg, or a part of `from`'s (halves down to one).
        std::vector<int64_t> amounts{-1};
        if (from >= 0)
          for (int64_t k = s[from].samples / 2; k >= 1; k /= 2) amounts.push_back(k);
        for (int64_t k : amounts) {
          Structure t = s;
          if (k < 0) {
            for (int p : paths) t[p].samples = 0;
            t[cfg.path] = {in.sources[d].samples, cfg.cuts};
          } else {
            if (cfg.path == from) continue;
            t[from].samples -= k;
            t[cfg.path].samples += k;
            t[cfg.path].cuts = cfg.cuts;
          }
          if (t == s) continue;
          std::vector<int> t_band;
          const Score e = score_of(in, t, &t_band);
          if (e.better_than(score)) {
            s = std::move(t);
            score = e;
            band = std::move(t_band);
            moved = true;
            break;
          }
        }
        if (moved) break;
      }
      if (moved) break;
    }
    if (!moved && left() > 0) moved = lower_own_sync(in, &s, &score, &band);
  }
  return s;
}

}  // namespace dec::planner
