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

Evaluation evaluate(const Instance& in, const Structure& s) {
  check_structure(in, s);
  const int L = in.num_blocks();
  const size_t N = in.nodes.size(), E = in.links.size();
  const double M = in.micro_batches;
  Evaluation ev;
  ev.node_compute_s.assign(N, 0);
  ev.node_static_bytes.assign(N, 0);
  ev.node_activation_bytes.assign(N, 0);
  ev.node_samples.assign(N, 0);
  ev.link_activation_bytes.assign(E, 0);
  ev.link_sync_bytes.assign(E, 0);
  ev.link_s.assign(E, 0);
  ev.path_fill_s.assign(in.paths.size(), 0);
  ev.path_latency_s.assign(in.paths.size(), 0);
  ev.holds.assign(N, std::vector<char>(L, 0));

  // Per link, the parts of link_activation_bytes that are raw input and that cross serial hops.
  std::vector<double> raw_bytes(E, 0), serial_bytes(E, 0);

  // Per path and stage, one micro-batch's time: nodes then hops.
  std::vector<std::vector<double>>& t_node = ev.path_node_s;
  std::vector<std::vector<double>>& t_hop = ev.path_hop_s;
  t_node.resize(in.paths.size());
  t_hop.resize(in.paths.size());
  ev.path_node_fwd_s.resize(in.paths.size());
  ev.path_node_bwd_s.resize(in.paths.size());
  for (size_t p = 0; p < in.paths.size(); ++p) {
    const PathData& path = in.paths[p];
    const PathChoice& c = s[p];
    t_node[p].assign(path.nodes.size(), 0);
    ev.path_node_fwd_s[p].assign(path.nodes.size(), 0);
    ev.path_node_bwd_s[p].assign(path.nodes.size(), 0);
    t_hop[p].assign(path.links.size(), 0);
    if (c.samples == 0) continue;
    const double b = static_cast<double>(c.samples);
    for (size_t j = 0; j < path.nodes.size(); ++j) {
      const int k = path.nodes[j];
      auto [begin, end] = node_range(in, static_cast<int>(p), c, static_cast<int>(j));
      double fwd = 0, bwd = 0, saved = 0;  // step_s = fwd_s + bwd_s
      for (int l = begin; l < end; ++l) {
        fwd += in.fwd_s(static_cast<int>(p), k, l);
        bwd += in.bwd_s(static_cast<int>(p), k, l);
        saved += in.blocks[l].saved_bytes;
        ev.holds[k][l] = 1;
      }
      ev.node_activation_bytes[k] += b * saved;
      if (end > begin) ev.node_samples[k] += c.samples;
      ev.path_node_fwd_s[p][j] = b * fwd / M;
      ev.path_node_bwd_s[p][j] = b * bwd / M;
      t_node[p][j] = ev.path_node_fwd_s[p][j] + ev.path_node_bwd_s[p][j];
      ev.node_compute_s[k] += M * t_node[p][j];
    }
    for (size_t h = 0; h < path.links.size(); ++h) {
      const LinkData& link = in.links[path.links[h]];
      const double bytes = b * in.hop_bytes_per_sample(c.cuts[h]);
      ev.link_activation_bytes[path.links[h]] += bytes;
      if (carries_raw(c, h)) {
        raw_bytes[path.links[h]] += bytes;
      } else if (serial_hop(in, static_cast<int>(p), c, static_cast<int>(h))) {
        serial_bytes[path.links[h]] += bytes;
      }
      t_hop[p][h] = bytes / (M * link.bytes_per_s);
      if (!carries_raw(c, h)) ev.path_latency_s[p] += 2 * link.latency_s;
    }
    double fill = ev.path_latency_s[p];
    for (double t : t_node[p]) fill += t;
    for (size_t h = 0; h < path.links.size(); ++h)
      if (!carries_raw(c, h)) fill += t_hop[p][h];
    ev.path_fill_s[p] = fill;
  }

  // Gradient sync: a block held on both sides of a link crosses it once.
  for (size_t e = 0; e < E; ++e) {
    for (int l = 0; l < L; ++l) {
      bool below = false, above = false;
      for (size_t k = 0; k < N; ++k) {
        if (!ev.holds[k][l]) continue;
        (in.below[e][k] ? below : above) = true;
      }
      if (below && above) ev.link_sync_bytes[e] += in.sync_bytes(l);
    }
    ev.link_s[e] = (duplex_bytes(ev.link_activation_bytes[e] - raw_bytes[e], serial_bytes[e], raw_bytes[e]) +
                    ev.link_sync_bytes[e]) / in.links[e].bytes_per_s;
  }

  for (size_t k = 0; k < N; ++k) {
    for (int l = 0; l < L; ++l) {
      if (!ev.holds[k][l]) continue;
      ev.node_static_bytes[k] += in.static_bytes(l);
      ev.node_compute_s[k] += in.nodes[k].opt_s[l];  // once per iteration, after the sync
    }
    if (ev.node_memory_bytes(static_cast<int>(k)) > in.nodes[k].memory_bytes * (1 + kMemorySlack)) {
      ev.fits = false;
      ev.over_memory.push_back(static_cast<int>(k));
    }
  }

  // The iteration time: the largest of the resource loads, and for every path
  // and every resource it uses, that resource's load plus the path's other stages.
  auto consider = [&ev](const TimeTerm& t) {
    if (t.total() > ev.critical.total() || ev.critical.resource < 0) ev.critical = t;
  };
  auto link_term = [&](int e) {
    TimeTerm t;
    t.is_link = true;
    t.resource = e;
    t.load_s = ev.link_s[e];
    t.sync_s = ev.link_sync_bytes[e] / in.links[e].bytes_per_s;
    return t;
  };
  // The all-reduce starts once the last backward of the iteration is done (every
  // micro-batch's gradient is in the sum), so it cannot overlap compute: no node's
  // compute and any link's gradient sync fit in less than their sum.
  double max_sync_s = 0;
  int max_sync_link = -1;
  for (size_t e = 0; e < E; ++e) {
    const double sync = ev.link_sync_bytes[e] / in.links[e].bytes_per_s;
    if (sync > max_sync_s) {
      max_sync_s = sync;
      max_sync_link = static_cast<int>(e);
    }
  }
  for (size_t k = 0; k < N; ++k) {
    TimeTerm t;
    t.resource = static_cast<int>(k);
    t.load_s = ev.node_compute_s[k];
    if (max_sync_link >= 0) {
      t.after_sync_link = max_sync_link;
      t.sync_s = max_sync_s;
    }
    consider(t);
  }
  for (size_t e = 0; e < E; ++e) consider(link_term(static_cast<int>(e)));
  for (size_t p = 0; p < in.paths.size(); ++p) {
    const PathData& path = in.paths[p];
    const PathChoice& c = s[p];
    if (c.samples == 0) continue;
    const int pi = static_cast<int>(p), last = path.hops();
    const double stages = ev.path_fill_s[p] - ev.path_latency_s[p];
    double up_stages = 0, up_latency = 0;  // what lies before node j on the path
    for (int j = 0; j <= last; ++j) {
      auto [begin, end] = node_range(in, pi, c, j);
      if (end > begin) {  // an idle node only forwards: no fill term on it
        TimeTerm t;
        t.resource = path.nodes[j];
        t.path = pi;
        t.load_s = ev.node_compute_s[path.nodes[j]];
        t.fill_s = stages - t_node[p][j];
        t.latency_s = ev.path_latency_s[p];
        // Early backward (docs/runtime.md): when only relays lie between node
        // j and the last stage, the last stage returns micro-batch k's
        // gradient while j still runs its forwards k+1..M-1, and j runs
        // backward k while gradient k+1 travels. Of the round trip past j it
        // waits only what exceeds M - 1 of its shorter task; what lies before
        // j (the first activation's arrival, the last gradient's way back)
        // cannot overlap.
        if (j < last && !computes_after(in, pi, c, j)) {
          t.overlap_s = (M - 1) * std::min(ev.path_node_fwd_s[p][j], ev.path_node_bwd_s[p][j]);
          TimeTerm up = t;
          up.fill_s = up_stages;
          up.latency_s = up_latency;
          up.overlap_s = 0;
          consider(up);
        }
        consider(t);
      }
      up_stages += t_node[p][j];
      if (j < last && !carries_raw(c, j)) {
        up_stages += t_hop[p][j];
        up_latency += 2 * in.links[path.links[j]].latency_s;
      }
    }
    for (size_t h = 0; h < path.links.size(); ++h) {
      if (carries_raw(c, h)) continue;  // prefetched: its load alone is a term
      TimeTerm t = link_term(path.links[h]);
      t.path = static_cast<int>(p);
      // The hop's own share of the load is its time in the fill. A serial hop
      // carries a micro-batch's activation and gradient one after the other
      // (t_hop); an overlapping one carries the gradient while the next
      // activation goes up, so its load holds only half of t_hop per
      // micro-batch, and the last gradient's way down (the other half) is
      // still to come after its last activation went up.
      const bool serial = serial_hop(in, pi, c, static_cast<int>(h));
      t.fill_s = stages - (serial ? t_hop[p][h] : t_hop[p][h] / 2);
      t.latency_s = ev.path_latency_s[p];
      consider(t);
    }
  }
  ev.iteration_s = ev.critical.total();
  return ev;
}

}  // namespace dec::planner
