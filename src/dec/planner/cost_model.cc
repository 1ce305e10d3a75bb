#include "dec/planner/cost_model.h"

#include <algorithm>

#include "dec/core/error.h"

namespace dec::planner {

std::pair<int, int> node_range(const Instance& in, int path, const PathChoice& c, int j) {
  const int m = in.paths[path].hops();
  const int begin = j == 0 ? 0 : c.cuts[j - 1];
  const int end = j == m ? in.num_blocks() : c.cuts[j];
  return {begin, end};
}

namespace {

// A hop with cut 0 carries raw samples (and labels) that no stage has touched:
// the runtime prefetches them an iteration ahead (docs/runtime.md), so such a
// hop is busy for its load but adds neither its transfer nor its latency to
// the pipeline's fill.
bool carries_raw(const PathChoice& c, size_t h) { return c.cuts[h] == 0; }

// The bytes a full-duplex link carries one after the other in an iteration,
// from its activation bytes (activations up, their gradients down: half
// each), the part of those that crosses serial hops, and its raw bytes (up).
// In the forward phase every activation goes up; on an overlapping hop its
// gradient comes down at the same time (the last stage's early backward). A
// serial hop's gradients come down after its activations went up, while the
// next iteration's raw input goes up (sent ahead): the longer of the two counts.
double duplex_bytes(double activation, double serial, double raw) {
  return activation / 2 + std::max(serial / 2, raw);
}

bool runs_blocks(const Instance& in, int path, const PathChoice& c, int j) {
  auto [begin, end] = node_range(in, path, c, j);
  return end > begin;
}

// True when some node strictly between j and the path's last node runs a block.
bool computes_after(const Instance& in, int path, const PathChoice& c, int j) {
  for (int i = j + 1; i < in.paths[path].hops(); ++i)
    if (runs_blocks(in, path, c, i)) return true;
  return false;
}

// An activation hop overlaps its activations (up) with their gradients (down)
// when a computing node sends them and nothing computes between it and the
// last stage (the early backward, docs/runtime.md): the sender's sends do not
// wait for gradients. A hop after a relay is serial: the relay forwards
// micro-batch k + 1 only after it passed gradient k back. So is a hop before
// a computing middle node, whose gradients come in its backward phase.
bool serial_hop(const Instance& in, int path, const PathChoice& c, int h) {
  return !runs_blocks(in, path, c, h) || computes_after(in, path, c, h);
}

}  // namespace

void check_structure(const Instance& in, const Structure& s) {
  DEC_ASSERT(s.size() == in.paths.size(), "structure has ", s.size(), " paths, instance ",
             in.paths.size());
  const int L = in.num_blocks();
  for (size_t src = 0; src < in.sources.size(); ++src) {
    int64_t sum = 0;
    for (int p : in.sources[src].paths) {
      const PathChoice& c = s[p];
      DEC_ASSERT(c.samples >= 0, "path ", p, " samples ", c.samples);
      sum += c.samples;
      DEC_ASSERT(static_cast<int>(c.cuts.size()) == in.paths[p].hops(), "path ", p, " has ",
                 c.cuts.size(), " cuts for ", in.paths[p].hops(), " hops");
      for (size_t h = 0; h < c.cuts.size(); ++h) {
        DEC_ASSERT(c.cuts[h] >= 0 && c.cuts[h] < L, "path ", p, " cut ", c.cuts[h]);
        DEC_ASSERT(h == 0 || c.cuts[h] >= c.cuts[h - 1], "path ", p, " cuts out of order");
      }
    }
    DEC_ASSERT(sum == in.sources[src].samples, "source ", src, " paths carry ", sum, " of ",
               in.sources[src].samples, " samples");
  }
}

namespace {

// Every per-node, per-link and per-path figure sized for `in`, all zero.
Evaluation zeroed(const Instance& in) {
  const size_t N = in.nodes.size(), E = in.links.size(), P = in.paths.size();
  Evaluation ev;
  ev.node_compute_s.assign(N, 0);
  ev.node_static_bytes.assign(N, 0);
  ev.node_activation_bytes.assign(N, 0);
  ev.node_samples.assign(N, 0);
  ev.link_activation_bytes.assign(E, 0);
  ev.link_sync_bytes.assign(E, 0);
  ev.link_s.assign(E, 0);
  ev.path_fill_s.assign(P, 0);
  ev.path_latency_s.assign(P, 0);
  ev.holds.assign(N, std::vector<char>(in.num_blocks(), 0));
  ev.path_node_s.resize(P);
  ev.path_hop_s.resize(P);
  ev.path_node_fwd_s.resize(P);
  ev.path_node_bwd_s.resize(P);
  for (size_t p = 0; p < P; ++p) {
    const size_t nodes = in.paths[p].nodes.size();
    ev.path_node_s[p].assign(nodes, 0);
    ev.path_node_fwd_s[p].assign(nodes, 0);
    ev.path_node_bwd_s[p].assign(nodes, 0);
    ev.path_hop_s[p].assign(in.paths[p].links.size(), 0);
  }
  return ev;
}

// Per link, the parts of its activation bytes that are raw input and that
// cross serial hops (duplex_bytes).
struct LinkParts {
  std::vector<double> raw, serial;
  explicit LinkParts(size_t links) : raw(links, 0), serial(links, 0) {}
};

// The stages of used path p: one micro-batch's forward and backward time on
// each node, and what they add to the node's compute, samples, activation
// memory and held blocks.
void add_node_stages(const Instance& in, int p, const PathChoice& c, Evaluation& ev) {
  const PathData& path = in.paths[p];
  const double M = in.micro_batches, b = static_cast<double>(c.samples);
  for (size_t j = 0; j < path.nodes.size(); ++j) {
    const int k = path.nodes[j];
    auto [begin, end] = node_range(in, p, c, static_cast<int>(j));
    double fwd = 0, bwd = 0, saved = 0;  // step_s = fwd_s + bwd_s
    for (int l = begin; l < end; ++l) {
      fwd += in.fwd_s(p, k, l);
      bwd += in.bwd_s(p, k, l);
      saved += in.blocks[l].saved_bytes;
      ev.holds[k][l] = 1;
    }
    ev.node_activation_bytes[k] += b * saved;
    if (end > begin) ev.node_samples[k] += c.samples;
    ev.path_node_fwd_s[p][j] = b * fwd / M;
    ev.path_node_bwd_s[p][j] = b * bwd / M;
    ev.path_node_s[p][j] = ev.path_node_fwd_s[p][j] + ev.path_node_bwd_s[p][j];
    ev.node_compute_s[k] += M * ev.path_node_s[p][j];
  }
}

// The hops of used path p: their bytes on each link (and which part is raw or
// serial), one micro-batch's transfer time, and the path's latency.
void add_hops(const Instance& in, int p, const PathChoice& c, Evaluation& ev, LinkParts& parts) {
  const PathData& path = in.paths[p];
  const double M = in.micro_batches, b = static_cast<double>(c.samples);
  for (size_t h = 0; h < path.links.size(); ++h) {
    const int e = path.links[h];
    const double bytes = b * in.hop_bytes_per_sample(c.cuts[h]);
    ev.link_activation_bytes[e] += bytes;
    if (carries_raw(c, h)) {
      parts.raw[e] += bytes;
    } else if (serial_hop(in, p, c, static_cast<int>(h))) {
      parts.serial[e] += bytes;
    }
    ev.path_hop_s[p][h] = bytes / (M * in.links[e].bytes_per_s);
    if (!carries_raw(c, h)) ev.path_latency_s[p] += 2 * in.links[e].latency_s;
  }
}

// One micro-batch through every stage of path p and every hop that carries
// activations, plus the path's latency.
double fill_of(const Evaluation& ev, int p, const PathChoice& c) {
  double fill = ev.path_latency_s[p];
  for (double t : ev.path_node_s[p]) fill += t;
  for (size_t h = 0; h < ev.path_hop_s[p].size(); ++h)
    if (!carries_raw(c, h)) fill += ev.path_hop_s[p][h];
  return fill;
}

// Gradient sync: a block held on both sides of a link crosses it once. Then
// each link's busy time from its activation, raw, serial and sync bytes.
// Holders are counted per subtree (children before parents), so that each
// link reads how many nodes below it and in all hold a block.
void add_sync_and_link_times(const Instance& in, const LinkParts& parts, Evaluation& ev) {
  const size_t N = in.nodes.size();
  const int L = in.num_blocks();
  const std::vector<int> order = in.deepest_first();
  std::vector<std::vector<int>> below(N, std::vector<int>(L, 0));  // holders in k's subtree
  std::vector<int> total(L, 0);
  for (int k : order) {
    for (int l = 0; l < L; ++l) {
      below[k][l] += ev.holds[k][l];
      total[l] += ev.holds[k][l];
      if (in.parent[k] >= 0) below[in.parent[k]][l] += below[k][l];
    }
  }
  for (size_t e = 0; e < in.links.size(); ++e) {
    const int child = in.links[e].child;
    for (int l = 0; l < L; ++l)
      if (below[child][l] > 0 && total[l] > below[child][l]) ev.link_sync_bytes[e] += in.sync_bytes(l);
    const double act = ev.link_activation_bytes[e] - parts.raw[e];
    ev.link_s[e] = (duplex_bytes(act, parts.serial[e], parts.raw[e]) + ev.link_sync_bytes[e]) /
                   in.links[e].bytes_per_s;
  }
}

// What holding a block costs a node whatever its samples: parameters,
// gradients and optimizer state in memory, the optimizer step in compute.
// Then which nodes exceed their memory cap.
void add_held_blocks(const Instance& in, Evaluation& ev) {
  for (size_t k = 0; k < in.nodes.size(); ++k) {
    for (int l = 0; l < in.num_blocks(); ++l) {
      if (!ev.holds[k][l]) continue;
      ev.node_static_bytes[k] += in.static_bytes(l);
      ev.node_compute_s[k] += in.nodes[k].opt_s[l];  // once per iteration, after the sync
    }
    if (ev.node_memory_bytes(static_cast<int>(k)) > in.nodes[k].memory_bytes * (1 + kMemorySlack)) {
      ev.fits = false;
      ev.over_memory.push_back(static_cast<int>(k));
    }
  }
}

// The largest of the terms considered; of equal ones, the first.
struct Largest {
  TimeTerm term;
  std::vector<TimeTerm>* all = nullptr;  // when set, every term considered
  void consider(const TimeTerm& t) {
    if (all) all->push_back(t);
    if (t.total() > term.total() || term.resource < 0) term = t;
  }
};

TimeTerm link_term(const Instance& in, const Evaluation& ev, int e) {
  TimeTerm t;
  t.is_link = true;
  t.resource = e;
  t.load_s = ev.link_s[e];
  t.sync_s = ev.link_sync_bytes[e] / in.links[e].bytes_per_s;
  return t;
}

// Every resource's load alone. The all-reduce starts once the last backward
// of the iteration is done (every micro-batch's gradient is in the sum), so
// it cannot overlap compute: no node's compute and any link's gradient sync
// fit in less than their sum.
void consider_loads(const Instance& in, const Evaluation& ev, Largest& out) {
  double max_sync_s = 0;
  int max_sync_link = -1;
  for (size_t e = 0; e < in.links.size(); ++e) {
    const double sync = ev.link_sync_bytes[e] / in.links[e].bytes_per_s;
    if (sync > max_sync_s) {
      max_sync_s = sync;
      max_sync_link = static_cast<int>(e);
    }
  }
  for (size_t k = 0; k < in.nodes.size(); ++k) {
    TimeTerm t;
    t.resource = static_cast<int>(k);
    t.load_s = ev.node_compute_s[k];
    if (max_sync_link >= 0) {
      t.after_sync_link = max_sync_link;
      t.sync_s = max_sync_s;
    }
    out.consider(t);
  }
  for (size_t e = 0; e < in.links.size(); ++e) out.consider(link_term(in, ev, static_cast<int>(e)));
}

// Used path p's node terms: each computing node's load plus the path's other
// stages (an idle node only forwards: no term on it).
void consider_path_nodes(const Instance& in, int p, const PathChoice& c, const Evaluation& ev,
                         Largest& out) {
  const PathData& path = in.paths[p];
  const int last = path.hops();
  const double M = in.micro_batches;
  const double stages = ev.path_fill_s[p] - ev.path_latency_s[p];
  double up_stages = 0, up_latency = 0;  // what lies before node j on the path
  for (int j = 0; j <= last; ++j) {
    if (runs_blocks(in, p, c, j)) {
      TimeTerm t;
      t.resource = path.nodes[j];
      t.path = p;
      t.load_s = ev.node_compute_s[path.nodes[j]];
      t.fill_s = stages - ev.path_node_s[p][j];
      t.latency_s = ev.path_latency_s[p];
      // Early backward (docs/runtime.md): when only relays lie between node
      // j and the last stage, the last stage returns micro-batch k's
      // gradient while j still runs its forwards k+1..M-1, and j runs
      // backward k while gradient k+1 travels. Of the round trip past j it
      // waits only what exceeds M - 1 of its shorter task; what lies before
      // j (the first activation's arrival, the last gradient's way back)
      // cannot overlap.
      if (j < last && !computes_after(in, p, c, j)) {
        t.overlap_s = (M - 1) * std::min(ev.path_node_fwd_s[p][j], ev.path_node_bwd_s[p][j]);
        TimeTerm up = t;
        up.fill_s = up_stages;
        up.latency_s = up_latency;
        up.overlap_s = 0;
        out.consider(up);
      }
      out.consider(t);
    }
    up_stages += ev.path_node_s[p][j];
    if (j < last && !carries_raw(c, j)) {
      up_stages += ev.path_hop_s[p][j];
      up_latency += 2 * in.links[path.links[j]].latency_s;
    }
  }
}

// Used path p's hop terms: each activation hop's link load plus the path's
// other stages. A hop that carries raw input is prefetched: its load alone is
// a term.
void consider_path_hops(const Instance& in, int p, const PathChoice& c, const Evaluation& ev,
                        Largest& out) {
  const PathData& path = in.paths[p];
  const double stages = ev.path_fill_s[p] - ev.path_latency_s[p];
  for (size_t h = 0; h < path.links.size(); ++h) {
    if (carries_raw(c, h)) continue;
    TimeTerm t = link_term(in, ev, path.links[h]);
    t.path = p;
    // The hop's own share of the load is its time in the fill. A serial hop
    // carries a micro-batch's activation and gradient one after the other
    // (path_hop_s); an overlapping one carries the gradient while the next
    // activation goes up, so its load holds only half of path_hop_s per
    // micro-batch, and the last gradient's way down (the other half) is
    // still to come after its last activation went up.
    const double own = ev.path_hop_s[p][h];
    t.fill_s = stages - (serial_hop(in, p, c, static_cast<int>(h)) ? own : own / 2);
    t.latency_s = ev.path_latency_s[p];
    out.consider(t);
  }
}

}  // namespace

bool path_runs_blocks(const Instance& in, int path, const PathChoice& c, int j) { return runs_blocks(in, path, c, j); }

bool path_hop_serial(const Instance& in, int path, const PathChoice& c, int h) { return serial_hop(in, path, c, h); }

Evaluation evaluate(const Instance& in, const Structure& s) { return evaluate(in, s, nullptr); }

Evaluation evaluate(const Instance& in, const Structure& s, std::vector<TimeTerm>* terms) {
  check_structure(in, s);
  Evaluation ev = zeroed(in);
  LinkParts parts(in.links.size());
  for (size_t p = 0; p < in.paths.size(); ++p) {
    if (s[p].samples == 0) continue;
    const int pi = static_cast<int>(p);
    add_node_stages(in, pi, s[p], ev);
    add_hops(in, pi, s[p], ev, parts);
    ev.path_fill_s[p] = fill_of(ev, pi, s[p]);
  }
  add_sync_and_link_times(in, parts, ev);
  add_held_blocks(in, ev);
  // The iteration time: the largest of the resource loads, and for every path
  // and every resource it uses, that resource's load plus the path's other stages.
  Largest largest;
  largest.all = terms;
  consider_loads(in, ev, largest);
  for (size_t p = 0; p < in.paths.size(); ++p) {
    if (s[p].samples == 0) continue;
    consider_path_nodes(in, static_cast<int>(p), s[p], ev, largest);
    consider_path_hops(in, static_cast<int>(p), s[p], ev, largest);
  }
  ev.critical = largest.term;
  ev.iteration_s = ev.critical.total();
  return ev;
}

}  // namespace dec::planner
