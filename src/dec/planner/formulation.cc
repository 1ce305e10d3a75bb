#include "dec/planner/formulation.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "dec/core/error.h"
#include "dec/planner/classes.h"

namespace dec::planner {

Formulation::Formulation(const Instance& in, FormulationOptions options)
    : in_(in), opt_(std::move(options)) {
  if (opt_.tie.empty()) {
    for (size_t s = 0; s < in.sources.size(); ++s) opt_.tie.push_back(static_cast<int>(s));
  }
  DEC_ASSERT(opt_.tie.size() == in.sources.size(), "tie has ", opt_.tie.size(), " entries");
  if (opt_.fix.empty()) opt_.fix.resize(in.paths.size());
  DEC_ASSERT(opt_.fix.size() == in.paths.size(), "fix has ", opt_.fix.size(), " entries");
  active_.assign(in.nodes.size(), 0);
  for (const auto& p : in.paths)
    for (int k : p.nodes) active_[k] = 1;
  T_ = milp_.add_var("T", 0, kInf, false, opt_.elastic_memory ? 0.0 : 1.0);
  find_symmetry();
  add_path_vars();
  add_fixes();
  if (opt_.prune_above < kInf) add_pruning();
  add_replicas();
  add_sync();
  add_loads_and_time();
  add_memory();
}

// Nodes that a symmetry of the tree respecting the ties maps onto each other
// share variables (classes.h symmetric_nodes).
void Formulation::find_symmetry() {
  const size_t N = in_.nodes.size();
  std::vector<int> parent_link(N, -1);
  for (size_t e = 0; e < in_.links.size(); ++e) parent_link[in_.links[e].child] = static_cast<int>(e);
  std::vector<int> label(in_.sources.size());
  for (size_t s = 0; s < in_.sources.size(); ++s) label[s] = opt_.tie[s];
  node_rep_ = symmetric_nodes(in_, label);
  link_rep_.resize(in_.links.size());
  for (size_t e = 0; e < in_.links.size(); ++e) link_rep_[e] = parent_link[node_rep_[in_.links[e].child]];
  path_rep_.resize(in_.paths.size());
  for (size_t s = 0; s < in_.sources.size(); ++s) {
    const SourceData& mine = in_.sources[s];
    const SourceData& rep = in_.sources[opt_.tie[s]];
    for (size_t i = 0; i < mine.paths.size(); ++i) {
      const PathData& a = in_.paths[mine.paths[i]];
      const PathData& b = in_.paths[rep.paths[i]];
      bool same = a.nodes.size() == b.nodes.size();
      for (size_t j = 0; same && j < a.nodes.size(); ++j) same = node_rep_[a.nodes[j]] == node_rep_[b.nodes[j]];
      path_rep_[mine.paths[i]] = same ? rep.paths[i] : mine.paths[i];
    }
  }
}

LinExpr Formulation::P(int p, int h, int l) const {
  const int m = in_.paths[p].hops();
  if (h < 0) return LinExpr(0);
  if (h >= m) return LinExpr::var(pv_[p].v);
  return LinExpr::var(pv_[p].P[h][l]);
}

LinExpr Formulation::y(int p, int h, int l) const {
  const int m = in_.paths[p].hops();
  if (h < 0) return LinExpr(0);
  if (h >= m) return LinExpr::var(pv_[p].b);
  return LinExpr::var(pv_[p].y[h][l]);
}

// Bytes over hop h: b * hop_bytes_per_sample(cut), written as a telescoping sum
// over "cut >= c" = P[h][c-1], so it stays linear in y.
LinExpr Formulation::hop_bytes(int p, int h) const {
  const int L = in_.num_blocks();
  LinExpr e = LinExpr::var(pv_[p].b, in_.hop_bytes_per_sample(0));
  for (int c = 1; c < L; ++c)
    e.add(y(p, h, c - 1), in_.hop_bytes_per_sample(c) - in_.hop_bytes_per_sample(c - 1));
  return e;
}

// The same bytes when the hop carries activations (cut >= 1), and 0 when it
// carries raw input: y[h][0] is b exactly when cut >= 1, and every y[h][.] is 0
// otherwise.
LinExpr Formulation::activation_hop_bytes(int p, int h) const {
  const int L = in_.num_blocks();
  LinExpr e = in_.hop_bytes_per_sample(0) * y(p, h, 0);
  for (int c = 1; c < L; ++c)
    e.add(y(p, h, c - 1), in_.hop_bytes_per_sample(c) - in_.hop_bytes_per_sample(c - 1));
  return e;
}

// 1 iff node j of path p runs some block: the source iff block 0 runs before
// hop 0, the last node iff the path is used, a middle node by
// max_l x <= u <= sum_l x (exact for integer P; a larger u would otherwise
// pass a relay's hop as overlapping, cost_model.cc serial_hop).
LinExpr Formulation::runs(int p, int j) {
  const int L = in_.num_blocks(), m = in_.paths[p].hops();
  if (j == m) return LinExpr::var(pv_[p].v);
  if (j == 0) return P(p, 0, 0);
  auto [it, fresh] = used_.emplace(std::make_pair(path_rep_[p], j), -1);
  if (fresh) {
    it->second = milp_.add_var(str("u_", p, "_", j), 0, 1, false);
    LinExpr sum;
    for (int l = 0; l < L; ++l) {
      milp_.add_ge(str("u>=x_", p, "_", j, "_", l), LinExpr::var(it->second) - P(p, j, l) + P(p, j - 1, l), 0);
      sum.add(P(p, j, l) - P(p, j - 1, l));
    }
    milp_.add_ge(str("u<=sum_", p, "_", j), sum - LinExpr::var(it->second), 0);
  }
  return LinExpr::var(it->second);
}

// 1 iff a node strictly between j and the last node of p runs some block:
// max_l (P[m-1][l] - P[j][l]) <= w <= sum_l (P[m-1][l] - P[j][l]), exact for
// integer P (a larger w would pass an overlapping hop as serial, whose
// pipelined term subtracts more).
LinExpr Formulation::computes_after(int p, int j) {
  const int L = in_.num_blocks(), m = in_.paths[p].hops();
  if (j + 1 >= m) return LinExpr(0);
  if (j + 1 == m - 1) return runs(p, j + 1);
  auto [it, fresh] = after_.emplace(std::make_pair(path_rep_[p], j), -1);
  if (fresh) {
    it->second = milp_.add_var(str("w_", p, "_", j), 0, 1, false);
    LinExpr sum;
    for (int l = 0; l < L; ++l) {
      milp_.add_ge(str("w>=_", p, "_", j, "_", l), LinExpr::var(it->second) - P(p, m - 1, l) + P(p, j, l), 0);
      sum.add(P(p, m - 1, l) - P(p, j, l));
    }
    milp_.add_ge(str("w<=sum_", p, "_", j), sum - LinExpr::var(it->second), 0);
  }
  return LinExpr::var(it->second);
}

void Formulation::add_path_vars() {
  const int L = in_.num_blocks();
  pv_.resize(in_.paths.size());
  for (size_t s = 0; s < in_.sources.size(); ++s) {
    const int rep = opt_.tie[s];
    const SourceData& src = in_.sources[s];
    if (rep != static_cast<int>(s)) {
      const SourceData& r = in_.sources[rep];
      DEC_ASSERT(opt_.tie[rep] == rep && r.samples == src.samples && r.paths.size() == src.paths.size(),
                 "source ", s, " cannot share source ", rep, "'s variables");
      for (size_t i = 0; i < src.paths.size(); ++i) {
        DEC_ASSERT(in_.paths[src.paths[i]].hops() == in_.paths[r.paths[i]].hops(), "path shapes differ");
        DEC_ASSERT(static_cast<size_t>(r.paths[i]) < static_cast<size_t>(src.paths[i]),
                   "a source must be tied to an earlier one");
        pv_[src.paths[i]] = pv_[r.paths[i]];
      }
      continue;
    }
    const double n = static_cast<double>(src.samples);
    LinExpr total;
    for (int p : src.paths) {
      const int m = in_.paths[p].hops();
      const std::string tag = str("p", p);
      PathVars& V = pv_[p];
      V.v = milp_.add_binary("v_" + tag);
      V.b = milp_.add_var("b_" + tag, 0, n, true);
      total.add(V.b, 1);
      milp_.add_le("b<=nv_" + tag, LinExpr::var(V.b) - n * LinExpr::var(V.v), 0);
      milp_.add_ge("b>=v_" + tag, LinExpr::var(V.b) - LinExpr::var(V.v), 0);
      V.P.assign(m, std::vector<int>(L, -1));
      V.y.assign(m, std::vector<int>(L, -1));
      for (int h = 0; h < m; ++h) {
        for (int l = 0; l < L; ++l) {
          const std::string t = str(tag, "_", h, "_", l);
          V.P[h][l] = milp_.add_binary("P_" + t);
          V.y[h][l] = milp_.add_var("y_" + t, 0, n, false);
        }
        // The last node runs the last block: the last block is never before the last hop.
        if (h == m - 1) milp_.set_bounds(V.P[h][L - 1], 0, 0);
      }
      for (int h = 0; h < m; ++h) {
        for (int l = 0; l < L; ++l) {
          const std::string t = str(tag, "_", h, "_", l);
          const LinExpr Pv = LinExpr::var(V.P[h][l]), yv = LinExpr::var(V.y[h][l]);
          const LinExpr bv = LinExpr::var(V.b);
          // Prefixes: monotone along the chain and along the path.
          if (l + 1 < L) milp_.add_ge("Pl_" + t, Pv - P(p, h, l + 1), 0);
          milp_.add_ge("Ph_" + t, P(p, h + 1, l) - Pv, 0);
          // y = b * P exactly, for integral P and 0 <= b <= n.
          milp_.add_le("y<=nP_" + t, yv - n * Pv, 0);
          milp_.add_le("y<=b_" + t, yv - bv, 0);
          milp_.add_ge("y>=b-n(1-P)_" + t, yv - bv - n * Pv, -n);
          // Same monotonicity for y: valid, and it tightens the relaxation.
          if (l + 1 < L) milp_.add_ge("yl_" + t, yv - y(p, h, l + 1), 0);
          if (h + 1 < m) milp_.add_ge("yh_" + t, y(p, h + 1, l) - yv, 0);
        }
      }
    }
    milp_.add_eq(str("samples_s", s), total, n);
  }
}

void Formulation::add_fixes() {
  const int L = in_.num_blocks();
  for (size_t p = 0; p < in_.paths.size(); ++p) {
    const PathFix& f = opt_.fix[p];
    const PathVars& V = pv_[p];
    if (f.off) {
      milp_.set_bounds(V.v, 0, 0);
      milp_.set_bounds(V.b, 0, 0);
    }
    if (f.samples) {
      milp_.set_bounds(V.b, static_cast<double>(*f.samples), static_cast<double>(*f.samples));
    }
    if (f.cuts) {
      DEC_ASSERT(static_cast<int>(f.cuts->size()) == in_.paths[p].hops(), "fixed cuts of path ", p);
      for (int h = 0; h < in_.paths[p].hops(); ++h) {
        for (int l = 0; l < L; ++l) {
          if (l < (*f.cuts)[h]) {
            milp_.add_eq(str("fixP_", p, "_", h, "_", l), LinExpr::var(V.P[h][l]) - LinExpr::var(V.v), 0);
          } else {
            milp_.set_bounds(V.P[h][l], 0, 0);
          }
        }
      }
    }
  }
}

void Formulation::add_pruning() {
  const int L = in_.num_blocks();
  const double T = opt_.prune_above;
  for (size_t p = 0; p < in_.paths.size(); ++p) {
    const PathData& path = in_.paths[p];
    const PathVars& V = pv_[p];
    const int m = path.hops(), pi = static_cast<int>(p);
    const std::string tag = str("prune_", p);
    const int first = path.nodes[0], last = path.nodes[m];
    if (m == 0) {
      double all = 0;
      for (int l = 0; l < L; ++l) all += in_.step_s(pi, first, l);
      if (all > T) milp_.set_bounds(V.v, 0, 0);
      continue;
    }
    // The source runs a prefix [0, c): one sample of it must fit in T.
    double prefix = 0;
    for (int l = 0; l < L; ++l) {
      prefix += in_.step_s(pi, first, l);
      if (prefix > T) milp_.set_bounds(V.P[0][l], 0, 0);
    }
    // The last node runs a suffix [a, L): blocks it cannot afford run before the last hop.
    double suffix = 0;
    for (int l = L - 1; l >= 0; --l) {
      suffix += in_.step_s(pi, last, l);
      if (suffix <= T) continue;
      if (l == L - 1) {
        milp_.set_bounds(V.v, 0, 0);  // not even the last block alone
        break;
      }
      milp_.add_eq(str(tag, "_end_", l), P(pi, m - 1, l) - LinExpr::var(V.v), 0);
    }
    // A hop whose cut moves more bytes for one sample than T allows: raw input
    // whole, an activation's half (its gradient may come down meanwhile: the
    // link load counts half of an overlapping hop's bytes, cost_model.cc).
    for (int h = 0; h < m; ++h) {
      const double bw = in_.links[path.links[h]].bytes_per_s;
      for (int c = 0; c < L; ++c) {
        const double least = c == 0 ? in_.hop_bytes_per_sample(0) : in_.hop_bytes_per_sample(c) / 2;
        if (least / bw <= T) continue;
        // "cut == c" is P[h][c-1] - P[h][c] (with P[h][-1] = v): make it 0.
        const LinExpr before = c == 0 ? LinExpr::var(V.v) : P(pi, h, c - 1);
        milp_.add_eq(str(tag, "_hop_", h, "_", c), before - P(pi, h, c), 0);
      }
    }
  }
}

void Formulation::add_replicas() {
  const int L = in_.num_blocks();
  r_.assign(in_.nodes.size(), std::vector<int>(L, -1));
  for (size_t k = 0; k < in_.nodes.size(); ++k) {
    if (!active_[k] || node_rep_[k] != static_cast<int>(k)) continue;
    for (int l = 0; l < L; ++l) r_[k][l] = milp_.add_var(str("r_", k, "_", l), 0, 1, false);
  }
  for (size_t k = 0; k < in_.nodes.size(); ++k) r_[k] = r_[node_rep_[k]];
  // r >= x: node j of path p runs block l when P[j] - P[j-1] = 1.
  for (size_t p = 0; p < in_.paths.size(); ++p) {
    const PathData& path = in_.paths[p];
    for (size_t j = 0; j < path.nodes.size(); ++j) {
      const int k = path.nodes[j], jj = static_cast<int>(j);
      for (int l = 0; l < L; ++l) {
        milp_.add_ge(str("r>=x_", p, "_", j, "_", l),
                     LinExpr::var(r_[k][l]) - P(static_cast<int>(p), jj, l) + P(static_cast<int>(p), jj - 1, l), 0);
      }
    }
  }
}

// A variable that is 1 when any of `parts` is: the only part itself, or a new
// one named `var`, at least each part (rows `row`_<part>); -1 without parts.
int Formulation::add_any(const std::vector<int>& parts, const std::string& var, const std::string& row) {
  if (parts.empty()) return -1;
  if (parts.size() == 1) return parts[0];
  const int any = milp_.add_var(var, 0, 1, false);
  for (int v : parts) milp_.add_ge(str(row, "_", v), LinExpr::var(any) - LinExpr::var(v), 0);
  return any;
}

void Formulation::add_sync() {
  const int L = in_.num_blocks();
  const size_t N = in_.nodes.size();
  // held_in[k][l]: some node of k's subtree holds l; held_out[k][l]: some node outside it.
  std::vector<std::vector<int>> held_in(N, std::vector<int>(L, -1)), held_out = held_in;
  std::vector<std::vector<int>> children(N);
  std::vector<char> any_in(N, 0);
  for (size_t k = 0; k < N; ++k)
    if (in_.parent[k] >= 0) children[in_.parent[k]].push_back(static_cast<int>(k));
  // Post-order (children before parents): nodes sorted by depth, deepest first.
  std::vector<int> depth(N, 0), order(N);
  for (size_t k = 0; k < N; ++k)
    for (int v = in_.parent[k]; v >= 0; v = in_.parent[v]) ++depth[k];
  for (size_t k = 0; k < N; ++k) order[k] = static_cast<int>(k);
  // Deepest first; within a depth, representatives before the nodes that copy them.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (depth[a] != depth[b]) return depth[a] > depth[b];
    return (node_rep_[a] == a) > (node_rep_[b] == b);
  });
  for (int k : order) {
    any_in[k] = active_[k];
    for (int c : children[k]) any_in[k] = any_in[k] || any_in[c];
  }
  for (int k : order) {
    if (!any_in[k]) continue;
    if (node_rep_[k] != k) {
      held_in[k] = held_in[node_rep_[k]];
      continue;
    }
    for (int l = 0; l < L; ++l) {
      std::vector<int> parts;
      if (active_[k]) parts.push_back(r_[k][l]);
      for (int c : children[k])
        if (held_in[c][l] >= 0) parts.push_back(held_in[c][l]);
      held_in[k][l] = add_any(parts, str("H_", k, "_", l), str("H>=_", k, "_", l));
    }
  }
  // Outside k's subtree: the parent itself, the parent's outside, and the siblings' subtrees.
  // Root first; within a depth, representatives first again.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (depth[a] != depth[b]) return depth[a] < depth[b];
    return (node_rep_[a] == a) > (node_rep_[b] == b);
  });
  for (int k : order) {
    const int up = in_.parent[k];
    if (up < 0) continue;
    if (node_rep_[k] != k) {
      held_out[k] = held_out[node_rep_[k]];
      continue;
    }
    for (int l = 0; l < L; ++l) {
      std::vector<int> parts;
      if (active_[up]) parts.push_back(r_[up][l]);
      if (held_out[up][l] >= 0) parts.push_back(held_out[up][l]);
      for (int sib : children[up])
        if (sib != k && held_in[sib][l] >= 0) parts.push_back(held_in[sib][l]);
      held_out[k][l] = add_any(parts, str("O_", k, "_", l), str("O>=_", k, "_", l));
    }
  }
  // Sample-weighted holding (valid rows that tighten the relaxation): a
  // subtree in which some samples of source d run block l holds l, so its
  // indicator is at least the fraction of d's samples that run l there, and
  // likewise outside it. A source outside the subtree runs every block outside
  // it (its whole route is), which forces O = 1. Without these rows the
  // relaxation splits a source between paths that run l on both sides of a
  // link (H + O = 1) and pays no gradient sync.
  for (size_t e = 0; e < in_.links.size(); ++e) {
    const int c = in_.links[e].child;
    for (size_t d = 0; d < in_.sources.size(); ++d) {
      const SourceData& src = in_.sources[d];
      if (src.samples < 1) continue;
      const double n = static_cast<double>(src.samples);
      if (!in_.below[e][src.node]) {
        for (int l = 0; l < L; ++l)
          if (held_out[c][l] >= 0) milp_.set_bounds(held_out[c][l], 1, 1);
        continue;
      }
      const PathData& route = in_.paths[src.paths.back()];
      const int jc = static_cast<int>(std::find(route.nodes.begin(), route.nodes.end(), c) - route.nodes.begin());
      DEC_ASSERT(jc < static_cast<int>(route.nodes.size()), "source below a link off its route");
      for (int l = 0; l < L; ++l) {
        LinExpr inside;  // samples of d that run l in c's subtree
        for (int p : src.paths) {
          const int m = in_.paths[p].hops();
          inside.add(m <= jc ? LinExpr::var(pv_[p].b) : y(p, jc, l));
        }
        if (held_in[c][l] >= 0)
          milp_.add_ge(str("Hfrac_", e, "_", d, "_", l), LinExpr::var(held_in[c][l]) - (1 / n) * inside, 0);
        if (held_out[c][l] >= 0)
          milp_.add_ge(str("Ofrac_", e, "_", d, "_", l), LinExpr::var(held_out[c][l]) + (1 / n) * inside, 1);
      }
    }
  }
  sync_.assign(in_.links.size(), std::vector<int>(L, -1));
  for (size_t e = 0; e < in_.links.size(); ++e) {
    const int c = in_.links[e].child;
    if (link_rep_[e] != static_cast<int>(e)) continue;
    for (int l = 0; l < L; ++l) {
      if (held_in[c][l] < 0 || held_out[c][l] < 0) continue;
      sync_[e][l] = milp_.add_var(str("s_", e, "_", l), 0, 1, false);
      milp_.add_ge(str("sync_", e, "_", l),
                   LinExpr::var(sync_[e][l]) - LinExpr::var(held_in[c][l]) - LinExpr::var(held_out[c][l]), -1);
    }
  }
  for (size_t e = 0; e < in_.links.size(); ++e) sync_[e] = sync_[link_rep_[e]];
}

// Per node and link, sums over the paths' stage-time variables (each times
// M: per iteration). Per link: every hop's seconds (link), those of hops that
// carry activations (act; the rest is raw input) and of serial hops (serial).
struct Formulation::LoadSums {
  std::vector<LinExpr> node, link, act, serial;
  LoadSums(size_t nodes, size_t links) : node(nodes), link(links), act(links), serial(links) {}
};

void Formulation::add_loads_and_time() {
  const double M = in_.micro_batches;
  tn_.resize(in_.paths.size());
  th_.resize(in_.paths.size());
  tf_.resize(in_.paths.size());
  serial_.resize(in_.paths.size());
  fill_.assign(in_.paths.size(), -1);
  LoadSums sums(in_.nodes.size(), in_.links.size());
  for (size_t p = 0; p < in_.paths.size(); ++p) {
    const PathData& path = in_.paths[p];
    const int pi = static_cast<int>(p), rep = path_rep_[p];
    if (rep != pi) {  // a symmetric copy: same stage times and fill
      tn_[p] = tn_[rep];
      th_[p] = th_[rep];
      tf_[p] = tf_[rep];
      serial_[p] = serial_[rep];
      fill_[p] = fill_[rep];
    } else {
      add_stage_times(pi);
      add_serial_parts(pi);
    }
    for (size_t j = 0; j < path.nodes.size(); ++j) sums.node[path.nodes[j]].add(tn_[p][j], M);
    for (int h = 0; h < path.hops(); ++h) {
      sums.link[path.links[h]].add(th_[p][h], M);
      sums.act[path.links[h]].add(tf_[p][h], M);
      sums.serial[path.links[h]].add(serial_[p][h], M);
    }
  }
  add_node_loads(sums);
  add_link_loads(sums);
  for (size_t p = 0; p < in_.paths.size(); ++p) add_path_terms(static_cast<int>(p));
}

// Per micro-batch: tn per node (its blocks' samples times their step),
// th per hop (its bytes) and tf (the same when it carries activations), and
// the fill: every tn, every tf and the latency both ways of every hop that
// carries activations (raw input is prefetched: cost_model.cc carries_raw).
void Formulation::add_stage_times(int p) {
  const PathData& path = in_.paths[p];
  const int L = in_.num_blocks();
  const double M = in_.micro_batches;
  LinExpr fill;
  for (size_t j = 0; j < path.nodes.size(); ++j) {
    const int k = path.nodes[j], jj = static_cast<int>(j);
    LinExpr work;  // seconds of compute on k for path p, all samples
    for (int l = 0; l < L; ++l) work.add(y(p, jj, l) - y(p, jj - 1, l), in_.step_s(p, k, l));
    const int t = milp_.add_var(str("tn_", p, "_", j), 0, kInf, false);
    milp_.add_eq(str("tn=_", p, "_", j), LinExpr::var(t) - (1 / M) * work, 0);
    tn_[p].push_back(t);
    fill.add(t, 1);
  }
  for (int h = 0; h < path.hops(); ++h) {
    const LinkData& link = in_.links[path.links[h]];
    const int t = milp_.add_var(str("th_", p, "_", h), 0, kInf, false);
    milp_.add_eq(str("th=_", p, "_", h), LinExpr::var(t) - (1 / (M * link.bytes_per_s)) * hop_bytes(p, h), 0);
    th_[p].push_back(t);
    const int f = milp_.add_var(str("tf_", p, "_", h), 0, kInf, false);
    milp_.add_eq(str("tf=_", p, "_", h),
                 LinExpr::var(f) - (1 / (M * link.bytes_per_s)) * activation_hop_bytes(p, h), 0);
    tf_[p].push_back(f);
    fill.add(f, 1);
    fill.add(P(p, h, 0), 2 * link.latency_s);
  }
  fill_[p] = milp_.add_var(str("fill_", p), 0, kInf, false);
  milp_.add_eq(str("fill=_", p), LinExpr::var(fill_[p]) - fill, 0);
}

double Formulation::max_hop_bytes_per_sample() const {
  double worst = 0;
  for (int c = 0; c < in_.num_blocks(); ++c) worst = std::max(worst, in_.hop_bytes_per_sample(c));
  return worst;
}

// A hop is serial when its upstream node relays or a node between it and the
// last computes (cost_model.cc serial_hop); z = tf then, else 0:
// z >= tf - B runs(h), z >= tf - B (1 - after(h)), z <= tf and
// z <= B (1 - runs(h) + after(h)), B bounding tf. Both sides matter: z adds
// to the link's load and takes from its pipelined term.
void Formulation::add_serial_parts(int p) {
  const PathData& path = in_.paths[p];
  const double M = in_.micro_batches;
  const double n = static_cast<double>(in_.sources[path.source].samples);
  const double worst = max_hop_bytes_per_sample();
  for (int h = 0; h < path.hops(); ++h) {
    const double B = n * worst / (M * in_.links[path.links[h]].bytes_per_s);
    const int z = milp_.add_var(str("serial_", p, "_", h), 0, kInf, false);
    const LinExpr gap = LinExpr::var(z) - LinExpr::var(tf_[p][h]);
    const LinExpr after = h + 1 < path.hops() ? computes_after(p, h) : LinExpr(0);
    milp_.add_ge(str("serial>=relay_", p, "_", h), gap + B * runs(p, h), 0);
    if (h + 1 < path.hops()) milp_.add_ge(str("serial>=after_", p, "_", h), gap - B * after, -B);
    milp_.add_le(str("serial<=tf_", p, "_", h), gap, 0);
    milp_.add_le(str("serial<=B_", p, "_", h), LinExpr::var(z) + B * runs(p, h) - B * after, B);
    serial_[p].push_back(z);
  }
}

// load(k) = its stages plus the optimizer step of every block it holds, once
// per iteration; T >= load(k).
void Formulation::add_node_loads(LoadSums& sums) {
  node_load_.assign(in_.nodes.size(), -1);
  for (size_t k = 0; k < in_.nodes.size(); ++k) {
    if (!active_[k]) continue;
    if (node_rep_[k] != static_cast<int>(k)) {
      node_load_[k] = node_load_[node_rep_[k]];
      continue;
    }
    for (int l = 0; l < in_.num_blocks(); ++l) sums.node[k].add(r_[k][l], in_.nodes[k].opt_s[l]);
    node_load_[k] = milp_.add_var(str("load_", in_.nodes[k].name), 0, kInf, false);
    milp_.add_eq(str("load=_", k), LinExpr::var(node_load_[k]) - sums.node[k], 0);
    milp_.add_ge(str("T>=load_", k), LinExpr::var(T_) - LinExpr::var(node_load_[k]), 0);
  }
}

// Per link: the sync after compute (cost_model.cc: T >= load(k) + sync(e) for
// every node k) and the link's load, full duplex (cost_model.cc duplex_bytes):
// load >= (activations + serial) / 2 + sync and load >= activations / 2 + raw
// + sync; T pushes the load down to the larger; T >= load(e).
void Formulation::add_link_loads(const LoadSums& sums) {
  link_load_.assign(in_.links.size(), -1);
  for (size_t e = 0; e < in_.links.size(); ++e) {
    if (link_rep_[e] != static_cast<int>(e)) {
      link_load_[e] = link_load_[link_rep_[e]];
      continue;
    }
    LinExpr sync;
    for (int l = 0; l < in_.num_blocks(); ++l)
      if (sync_[e][l] >= 0) sync.add(sync_[e][l], in_.sync_bytes(l) / in_.links[e].bytes_per_s);
    if (!sync.terms.empty()) {
      for (size_t k = 0; k < in_.nodes.size(); ++k) {
        if (!active_[k] || node_rep_[k] != static_cast<int>(k)) continue;
        milp_.add_ge(str("T>=load+sync_", k, "_", e),
                     LinExpr::var(T_) - LinExpr::var(node_load_[k]) - sync, 0);
      }
    }
    if (sums.link[e].terms.empty() && sync.terms.empty()) continue;
    link_load_[e] = milp_.add_var(str("load_", in_.links[e].name), 0, kInf, false);
    const LinExpr load = LinExpr::var(link_load_[e]);
    milp_.add_ge(str("linkload>=act_", e), load - 0.5 * sums.act[e] - 0.5 * sums.serial[e] - sync, 0);
    milp_.add_ge(str("linkload>=up_", e), load - sums.link[e] + 0.5 * sums.act[e] - sync, 0);
    milp_.add_ge(str("T>=linkload_", e), LinExpr::var(T_) - load, 0);
  }
}

// U, the big-M of path p's switched rows: its fill with every block at its
// slowest node and every hop at its largest bytes, latencies both ways.
double Formulation::fill_bound(int p) const {
  const PathData& path = in_.paths[p];
  const int L = in_.num_blocks();
  const double M = in_.micro_batches;
  const double n = static_cast<double>(in_.sources[path.source].samples);
  double U = 0;
  for (int l = 0; l < L; ++l) {
    double worst = 0;
    for (int k : path.nodes) worst = std::max(worst, in_.step_s(p, k, l));
    U += n * worst / M;
  }
  for (int h = 0; h < path.hops(); ++h) {
    const LinkData& link = in_.links[path.links[h]];
    U += n * max_hop_bytes_per_sample() / (M * link.bytes_per_s) + 2 * link.latency_s;
  }
  return U;
}

// Pipelined terms: T >= load(r) + fill(p) - t(p, r) for every resource r that
// path p uses. A node that p leaves idle, or a hop that carries raw input,
// carries no such term: the big-M switch U*(1-u) turns it off, u >= "the node
// runs some block of p" (for a hop, u = P[h][0]).
void Formulation::add_path_terms(int p) {
  const PathData& path = in_.paths[p];
  const int m = path.hops(), L = in_.num_blocks();
  const double M = in_.micro_batches;
  if (m == 0) return;  // a local path's only term is its node's load
  const double U = fill_bound(p);
  const LinExpr base = LinExpr::var(T_) - LinExpr::var(fill_[p]);
  // A hop's own share is tf when serial, tf / 2 when it overlaps
  // (cost_model.cc): T >= load(e) + fill(p) - tf / 2 - serial / 2. A hop
  // that carries raw input (P[h][0] = 0) has no pipelined term.
  for (int h = 0; h < m; ++h) {
    milp_.add_ge(str("T>=hop_", p, "_", h),
                 base - LinExpr::var(link_load_[path.links[h]]) + 0.5 * LinExpr::var(tf_[p][h]) +
                     0.5 * LinExpr::var(serial_[p][h]) - U * P(p, h, 0),
                 -U);
  }
  milp_.add_ge(str("T>=end_", p), base - LinExpr::var(node_load_[path.nodes[m]]) + LinExpr::var(tn_[p][m]), 0);
  // The source and middle nodes (cost_model.cc, "early backward"): GPipe's
  // term where a computing node lies between j and the last; otherwise the
  // round trip past j less M - 1 of j's shorter task (both rows: their max
  // is the min of the two tasks), and never less than what lies before j.
  // The overlap rows are valid everywhere (GPipe's term is larger).
  LinExpr before;  // fill of the nodes and hops before j
  for (int j = 0; j < m; ++j) {
    const int k = path.nodes[j];
    // Each row reads T >= load(k) + ... - U (1 - runs) [- U (1 - after)].
    const LinExpr on = U * runs(p, j);
    const LinExpr node = base - LinExpr::var(node_load_[k]) + LinExpr::var(tn_[p][j]) - on;
    if (j + 1 < m) milp_.add_ge(str("T>=node_", p, "_", j), node - U * computes_after(p, j), -2 * U);
    // One micro-batch of j's forwards; its backwards are the rest of tn.
    LinExpr fwd;
    for (int l = 0; l < L; ++l) fwd.add(y(p, j, l) - y(p, j - 1, l), in_.fwd_s(p, k, l) / M);
    const LinExpr bwd = LinExpr::var(tn_[p][j]) - fwd;
    milp_.add_ge(str("T>=fwd_", p, "_", j), node + (M - 1) * fwd, -U);
    milp_.add_ge(str("T>=bwd_", p, "_", j), node + (M - 1) * bwd, -U);
    if (j > 0)
      milp_.add_ge(str("T>=before_", p, "_", j), LinExpr::var(T_) - LinExpr::var(node_load_[k]) - before - on, -U);
    before.add(tn_[p][j], 1);
    before.add(tf_[p][j], 1);
    before.add(P(p, j, 0), 2 * in_.links[path.links[j]].latency_s);
  }
}

void Formulation::add_memory() {
  const int L = in_.num_blocks();
  std::vector<LinExpr> use(in_.nodes.size());
  for (size_t p = 0; p < in_.paths.size(); ++p) {
    const PathData& path = in_.paths[p];
    for (size_t j = 0; j < path.nodes.size(); ++j) {
      const int jj = static_cast<int>(j), pi = static_cast<int>(p);
      for (int l = 0; l < L; ++l) use[path.nodes[j]].add(y(pi, jj, l) - y(pi, jj - 1, l), in_.blocks[l].saved_bytes);
    }
  }
  if (opt_.elastic_memory) overflow_.assign(in_.nodes.size(), -1);
  for (size_t k = 0; k < in_.nodes.size(); ++k) {
    if (!active_[k] || node_rep_[k] != static_cast<int>(k)) continue;
    for (int l = 0; l < L; ++l) use[k].add(r_[k][l], in_.static_bytes(l));
    // Scaled by the cap: the row reads "fraction of memory used <= 1".
    LinExpr row = (1 / in_.nodes[k].memory_bytes) * use[k];
    if (opt_.elastic_memory) {
      overflow_[k] = milp_.add_var(str("overflow_", in_.nodes[k].name), 0, kInf, false, 1.0);
      row.add(overflow_[k], -1);
    }
    milp_.add_le(str("mem_", in_.nodes[k].name), row, 1);
  }
}

Structure Formulation::extract(const std::vector<double>& x) const {
  DEC_ASSERT(x.size() == static_cast<size_t>(milp_.num_vars()), "solution size");
  const int L = in_.num_blocks();
  Structure s(in_.paths.size());
  for (size_t p = 0; p < in_.paths.size(); ++p) {
    const PathVars& V = pv_[p];
    s[p].samples = static_cast<int64_t>(std::llround(x[V.b]));
    for (int h = 0; h < in_.paths[p].hops(); ++h) {
      int cut = 0;
      for (int l = 0; l < L; ++l) cut += x[V.P[h][l]] > 0.5 ? 1 : 0;
      s[p].cuts.push_back(s[p].samples > 0 ? cut : 0);
    }
  }
  return s;
}

std::vector<std::pair<int, double>> Formulation::start(const Structure& s) const {
  DEC_ASSERT(s.size() == in_.paths.size(), "structure size");
  std::vector<std::pair<int, double>> out;
  std::vector<char> seen(milp_.num_vars(), 0);
  auto put = [&](int v, double x) {
    if (seen[v]) return;
    seen[v] = 1;
    out.push_back({v, x});
  };
  for (size_t p = 0; p < in_.paths.size(); ++p) {
    const PathVars& V = pv_[p];
    const bool on = s[p].samples > 0;
    put(V.v, on ? 1 : 0);
    put(V.b, static_cast<double>(s[p].samples));
    for (int h = 0; h < in_.paths[p].hops(); ++h)
      for (int l = 0; l < in_.num_blocks(); ++l) put(V.P[h][l], on && l < s[p].cuts[h] ? 1 : 0);
  }
  return out;
}

}  // namespace dec::planner
