#include "dec/runtime/plan_adapter.h"

#include <map>

#include "dec/core/error.h"

namespace dec::runtime {

ExecPlan to_exec_plan(const planner::Plan& plan, const std::vector<std::string>& rank_names,
                      const std::string& where) {
  std::map<std::string, int> rank_of;
  for (size_t r = 0; r < rank_names.size(); ++r) {
    DEC_CHECK(rank_of.emplace(rank_names[r], static_cast<int>(r)).second, ConfigError,
              "two ranks claim one node", where, "node '", rank_names[r], "' is rank ",
              rank_of[rank_names[r]], " and rank ", r, " (give each process its own --node-name)");
  }
  ExecPlan e;
  e.nodes = rank_names;
  e.num_blocks = plan.blocks.size();
  e.global_batch = plan.batch;
  e.predicted_iteration_s = plan.prediction.iteration_s;
  for (size_t p = 0; p < plan.paths.size(); ++p) {
    const planner::PlanPath& pp = plan.paths[p];
    ExecPath path;
    path.samples = pp.samples;
    path.micro_batches = std::max(1, pp.micro_batches);
    for (size_t j = 0; j < pp.nodes.size(); ++j) {
      auto it = rank_of.find(pp.nodes[j]);
      DEC_CHECK(it != rank_of.end(), ConfigError, "plan node has no process", where,
                "node '", pp.nodes[j], "' of path ", p, " did not join (joined: ",
                [&] {
                  std::string s;
                  for (const auto& n : rank_names) s += (s.empty() ? "" : ", ") + n;
                  return s;
                }(),
                ")");
      path.stages.push_back(Stage{it->second, static_cast<size_t>(pp.ranges[j].begin),
                                  static_cast<size_t>(pp.ranges[j].end)});
    }
    e.paths.push_back(std::move(path));
  }
  validate(e, where);
  return e;
}

}  // namespace dec::runtime
