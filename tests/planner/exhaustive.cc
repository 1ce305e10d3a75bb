#include "exhaustive.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>

namespace dec::planner::testing {
namespace {

double choose(double n, double k) {
  if (k < 0 || k > n) return 0;
  double r = 1;
  for (int i = 1; i <= static_cast<int>(k); ++i) r = r * (n - k + i) / i;
  return r;
}

// Number of non-decreasing cut tuples of a path with m hops over L blocks (cuts < L).
double cut_tuples(int m, int L) { return choose(L - 1 + m, m); }

// What one source's choice adds to the shared totals.
struct Contribution {
  std::vector<PathChoice> choice;      // for the source's paths, in order
  std::vector<double> node_load, link_bytes, link_raw_bytes, link_serial_bytes, node_act;
  std::vector<uint64_t> holds;         // bit l: the node runs block l for this source
  struct Term {
    bool link;
    int resource;
    double extra;                      // T >= load(resource) + extra
  };
  std::vector<Term> terms;
};

Contribution contribution(const Instance& in, const SourceData& src, const std::vector<PathChoice>& ch) {
  const int L = in.num_blocks();
  const double M = in.micro_batches;
  Contribution c;
  c.choice = ch;
  c.node_load.assign(in.nodes.size(), 0);
  c.node_act.assign(in.nodes.size(), 0);
  c.holds.assign(in.nodes.size(), 0);
  c.link_bytes.assign(in.links.size(), 0);
  c.link_raw_bytes.assign(in.links.size(), 0);
  c.link_serial_bytes.assign(in.links.size(), 0);
  for (size_t i = 0; i < src.paths.size(); ++i) {
    const PathChoice& pc = ch[i];
    if (pc.samples == 0) continue;
    const int p = src.paths[i];
    const PathData& path = in.paths[p];
    const int m = path.hops();
    const double b = static_cast<double>(pc.samples);
    std::vector<double> tn(m + 1), th(m), shorter(m + 1);  // shorter: min(forward, backward)
    std::vector<char> used(m + 1), overlaps(m);
    double lat = 0;
    for (int j = 0; j <= m; ++j) {
      const int k = path.nodes[j];
      const int begin = j == 0 ? 0 : pc.cuts[j - 1], end = j == m ? L : pc.cuts[j];
      double work = 0, fwd = 0, bwd = 0, act = 0;
      for (int l = begin; l < end; ++l) {
        work += b * in.step_s(p, k, l);
        fwd += b * in.fwd_s(p, k, l);
        bwd += b * in.bwd_s(p, k, l);
        act += b * in.blocks[l].saved_bytes;
        c.holds[k] |= uint64_t{1} << l;
      }
      used[j] = end > begin;
      c.node_load[k] += work;
      c.node_act[k] += act;
      tn[j] = work / M;
      shorter[j] = std::min(fwd, bwd) / M;
    }
    for (int h = 0; h < m; ++h) {
      const LinkData& link = in.links[path.links[h]];
      const int cut = pc.cuts[h];
      // Raw input forward only; an activation forward and its gradient back.
      const double per_sample = cut == 0 ? in.input_bytes : 2 * in.blocks[cut - 1].out_bytes;
      (cut == 0 ? c.link_raw_bytes : c.link_bytes)[path.links[h]] += b * per_sample;
      // Serial: the hop's sender only relays (it forwards the next activation
      // after passing a gradient back), or a node after the hop, before the
      // last, computes (the gradients come in its backward phase).
      bool serial = !used[h];
      for (int i = h + 1; i < m; ++i) serial = serial || used[i];
      if (cut > 0 && serial) c.link_serial_bytes[path.links[h]] += b * per_sample;
      overlaps[h] = cut > 0 && !serial;
      // Raw input is prefetched an iteration ahead: it costs the link's load
      // but no time in the pipeline's fill.
      th[h] = cut == 0 ? 0 : b * per_sample / (M * link.bytes_per_s);
      lat += cut == 0 ? 0 : 2 * link.latency_s;
    }
    if (m == 0) continue;
    double stages = 0;
    for (double t : tn) stages += t;
    for (double t : th) stages += t;
    // A node with no computing node between it and the last one overlaps the
    // round trip past it with M - 1 of its shorter task, down to what lies
    // before it (the last stage's early backward); any other waits GPipe's fill.
    double before = 0;
    for (int j = 0; j <= m; ++j) {
      bool early = j < m;
      for (int i = j + 1; i < m; ++i) early = early && !used[i];
      if (used[j] && early) {
        c.terms.push_back({false, path.nodes[j], stages - tn[j] + lat - (M - 1) * shorter[j]});
        c.terms.push_back({false, path.nodes[j], before});
      } else if (used[j]) {
        c.terms.push_back({false, path.nodes[j], stages - tn[j] + lat});
      }
      before += tn[j];
      if (j < m && pc.cuts[j] > 0) before += th[j] + 2 * in.links[path.links[j]].latency_s;
    }
    // A link's load holds half of an overlapping hop's bytes: the other half
    // (the last gradient's way down) still lies after its last activation.
    for (int h = 0; h < m; ++h)
      if (pc.cuts[h] > 0) c.terms.push_back({true, path.links[h], stages - (overlaps[h] ? th[h] / 2 : th[h]) + lat});
  }
  return c;
}

// Every choice of one source: paths on or off, cut tuples, integer splits.
std::vector<Contribution> source_options(const Instance& in, const SourceData& src) {
  const int L = in.num_blocks();
  const size_t P = src.paths.size();
  std::vector<Contribution> out;
  std::vector<PathChoice> ch(P);
  for (size_t i = 0; i < P; ++i) ch[i].cuts.assign(in.paths[src.paths[i]].hops(), 0);
  // Splits of the samples over the paths that are on (each >= 1).
  std::function<void(size_t, int64_t)> split = [&](size_t i, int64_t left) {
    if (i == P) {
      if (left == 0) out.push_back(contribution(in, src, ch));
      return;
    }
    if (ch[i].samples < 0) {  // marked on: give it 1..left
      for (int64_t k = 1; k <= left; ++k) {
        ch[i].samples = k;
        split(i + 1, left - k);
      }
      ch[i].samples = -1;
    } else {
      split(i + 1, left);
    }
  };
  // Per path: off, or on with each non-decreasing cut tuple.
  std::function<void(size_t)> paths = [&](size_t i) {
    if (i == P) {
      int on = 0;
      for (const auto& c : ch) on += c.samples < 0;
      if (on > 0 && on <= src.samples) split(0, src.samples);
      if (src.samples == 0 && on == 0) out.push_back(contribution(in, src, ch));
      return;
    }
    ch[i].samples = 0;
    std::fill(ch[i].cuts.begin(), ch[i].cuts.end(), 0);
    paths(i + 1);
    const int m = in.paths[src.paths[i]].hops();
    std::function<void(int, int)> cuts = [&](int h, int lo) {
      if (h == m) {
        ch[i].samples = -1;
        paths(i + 1);
        ch[i].samples = 0;
        return;
      }
      for (int c = lo; c < L; ++c) {
        ch[i].cuts[h] = c;
        cuts(h + 1, c);
      }
    };
    cuts(0, 0);
    std::fill(ch[i].cuts.begin(), ch[i].cuts.end(), 0);
  };
  paths(0);
  return out;
}

// Iteration time of the combined choices, or false when memory does not fit.
bool leaf_time(const Instance& in, const std::vector<const Contribution*>& picked, double* seconds) {
  const size_t N = in.nodes.size(), E = in.links.size();
  const int L = in.num_blocks();
  std::vector<double> load(N, 0), bytes(E, 0), raw(E, 0), serial(E, 0), act(N, 0);
  std::vector<uint64_t> holds(N, 0);
  for (const Contribution* c : picked) {
    for (size_t k = 0; k < N; ++k) {
      load[k] += c->node_load[k];
      act[k] += c->node_act[k];
      holds[k] |= c->holds[k];
    }
    for (size_t e = 0; e < E; ++e) {
      bytes[e] += c->link_bytes[e];
      raw[e] += c->link_raw_bytes[e];
      serial[e] += c->link_serial_bytes[e];
    }
  }
  for (size_t k = 0; k < N; ++k) {
    double mem = act[k];
    for (int l = 0; l < L; ++l) {
      if (!(holds[k] >> l & 1)) continue;
      mem += 2 * in.blocks[l].param_bytes + in.blocks[l].optim_bytes;
      load[k] += in.nodes[k].opt_s[l];  // the optimizer steps each held block once
    }
    if (mem > in.nodes[k].memory_bytes * (1 + kMemorySlack)) return false;
  }
  std::vector<double> link_s(E);
  double max_sync_s = 0;
  for (size_t e = 0; e < E; ++e) {
    uint64_t below = 0, above = 0;
    for (size_t k = 0; k < N; ++k) (in.below[e][k] ? below : above) |= holds[k];
    double sync = 0;
    for (int l = 0; l < L; ++l)
      if ((below & above) >> l & 1) sync += 2 * in.blocks[l].param_bytes;
    // Full duplex: activations go up, and on overlapping hops their gradients
    // come down at the same time; the gradients of serial hops come down after,
    // while raw input goes up, sent ahead.
    const double busy = bytes[e] / 2 + std::max(serial[e] / 2, raw[e]);
    link_s[e] = (busy + sync) / in.links[e].bytes_per_s;
    max_sync_s = std::max(max_sync_s, sync / in.links[e].bytes_per_s);
  }
  double T = 0;
  for (double x : load) T = std::max(T, x + max_sync_s);  // the all-reduce follows compute
  for (double x : link_s) T = std::max(T, x);
  for (const Contribution* c : picked)
    for (const auto& t : c->terms) T = std::max(T, (t.link ? link_s[t.resource] : load[t.resource]) + t.extra);
  *seconds = T;
  return true;
}

}  // namespace

double count_combinations(const Instance& in) {
  const int L = in.num_blocks();
  double total = 1;
  for (const auto& src : in.sources) {
    const size_t P = src.paths.size();
    double n = 0;
    for (uint32_t mask = 1; mask < (1u << P); ++mask) {
      double ways = 1;
      int on = 0;
      for (size_t i = 0; i < P; ++i) {
        if (!(mask >> i & 1)) continue;
        ++on;
        ways *= cut_tuples(in.paths[src.paths[i]].hops(), L);
      }
      n += ways * choose(static_cast<double>(src.samples - 1), on - 1);
    }
    total *= std::max(n, 1.0);
  }
  return total;
}

ExhaustiveResult exhaustive_optimum(const Instance& in) {
  std::vector<std::vector<Contribution>> options;
  for (const auto& src : in.sources) options.push_back(source_options(in, src));
  ExhaustiveResult r;
  std::vector<const Contribution*> picked(in.sources.size());
  std::function<void(size_t)> dfs = [&](size_t s) {
    if (s == in.sources.size()) {
      r.evaluated += 1;
      double T;
      if (leaf_time(in, picked, &T) && (!r.feasible || T < r.best_s)) {
        r.feasible = true;
        r.best_s = T;
        r.best.assign(in.paths.size(), {});
        for (size_t src = 0; src < picked.size(); ++src)
          for (size_t i = 0; i < in.sources[src].paths.size(); ++i)
            r.best[in.sources[src].paths[i]] = picked[src]->choice[i];
      }
      return;
    }
    for (const auto& c : options[s]) {
      picked[s] = &c;
      dfs(s + 1);
    }
  };
  dfs(0);
  return r;
}

bool reference_time(const Instance& in, const Structure& s, double* seconds) {
  std::vector<Contribution> cs;
  for (const auto& src : in.sources) {
    std::vector<PathChoice> ch;
    for (int p : src.paths) ch.push_back(s[p]);
    cs.push_back(contribution(in, src, ch));
  }
  std::vector<const Contribution*> picked;
  for (const auto& c : cs) picked.push_back(&c);
  return leaf_time(in, picked, seconds);
}

}  // namespace dec::planner::testing
