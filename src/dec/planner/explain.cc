#include "dec/planner/explain.h"

#include <algorithm>

#include "dec/core/error.h"
#include "dec/core/units.h"
#include "dec/planner/cost_model.h"
#include "dec/planner/formulation.h"

namespace dec::planner {
namespace {

// Memory a node needs to run blocks [a, c) for one sample.
double one_sample_bytes(const Instance& in, int a, int c) {
  double b = 0;
  for (int l = a; l < c; ++l) b += in.static_bytes(l) + in.blocks[l].saved_bytes;
  return b;
}

std::string route_names(const Instance& in, const PathData& path) {
  std::string s;
  for (int k : path.nodes) s += (s.empty() ? "" : ", ") + in.nodes[k].name + " (" + format_bytes(in.nodes[k].memory_bytes) + ")";
  return s;
}

}  // namespace

Infeasibility explain_infeasible(const Instance& in, Solver& solver, const SolveOptions& options) {
  const int L = in.num_blocks();
  for (const auto& src : in.sources) {
    if (src.samples == 0) continue;
    const PathData& route = in.paths[src.paths.back()];
    const std::string name = in.nodes[src.node].name;
    // 1. A block no node on the route can hold.
    int largest = route.nodes[0];
    for (int k : route.nodes)
      if (in.nodes[k].memory_bytes > in.nodes[largest].memory_bytes) largest = k;
    for (int l = 0; l < L; ++l) {
      const double need = one_sample_bytes(in, l, l + 1);
      if (need > in.nodes[largest].memory_bytes * (1 + kMemorySlack)) {
        return {str("node '", in.nodes[largest].name, "' memory"),
                str("block '", in.blocks[l].name, "' needs ", format_bytes(need),
                    " (parameters, gradients, optimizer state, one sample's activations); the largest node on ",
                    name, "'s route, ", in.nodes[largest].name, ", has ", format_bytes(in.nodes[largest].memory_bytes))};
      }
    }
    // 2. The route cannot hold the chain in order. Filling each node as far as
    //    it goes, in route order, is optimal for a contiguous split.
    int next = 0;
    for (int k : route.nodes) {
      int end = next;
      while (end < L && one_sample_bytes(in, next, end + 1) <= in.nodes[k].memory_bytes * (1 + kMemorySlack)) ++end;
      next = end;
    }
    if (next < L) {
      return {str("source ", name),
              str("the model needs ", format_bytes(one_sample_bytes(in, 0, L)),
                  " for one sample; split in chain order over its route ", route_names(in, route),
                  " it still does not fit (block '", in.blocks[next].name, "' finds no room)")};
    }
  }
  // 3. Elastic memory: which caps must grow, and by how much, for a plan to exist.
  FormulationOptions fo;
  fo.elastic_memory = true;
  Formulation f(in, fo);
  SolveResult r = solver.solve(f.milp(), options);
  if (!r.has_solution()) {
    return {"memory", str("no plan fits the nodes' memory caps (the search for the binding node stopped: ",
                          status_name(r.status), r.message.empty() ? "" : ", " + r.message, ")")};
  }
  const Evaluation ev = evaluate(in, f.extract(r.values));
  std::vector<int> over = ev.over_memory;
  if (over.empty()) {
    return {"memory", "no plan fits the nodes' memory caps"};
  }
  std::sort(over.begin(), over.end(), [&](int a, int b) {
    return ev.node_memory_bytes(a) / in.nodes[a].memory_bytes > ev.node_memory_bytes(b) / in.nodes[b].memory_bytes;
  });
  std::string where, why = "the split that overflows least still needs";
  for (size_t i = 0; i < over.size(); ++i) {
    const int k = over[i];
    where += (i ? ", " : "") + str("node '", in.nodes[k].name, "' memory");
    why += str(i ? ";" : "", " ", format_bytes(ev.node_memory_bytes(k)), " on ", in.nodes[k].name, " (cap ",
               format_bytes(in.nodes[k].memory_bytes), ")");
  }
  return {where, why + " for the global batch of " + std::to_string(in.batch) + " samples"};
}

}  // namespace dec::planner
