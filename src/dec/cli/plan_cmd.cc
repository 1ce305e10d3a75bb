// `dec plan`: cluster spec + model profile -> plan.json, a summary, an SVG.
//
// The model comes in as a profile from `dec profile` (--profile), or is
// profiled on the spot on this machine (--model); nodes with their own
// measured profile name it in the cluster spec.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "dec/cluster/load.h"
#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/core/sha256.h"
#include "dec/planner/instance.h"
#include "dec/planner/plan.h"
#include "dec/planner/planner.h"
#include "dec/planner/summary.h"
#include "dec/planner/svg.h"
#include "dec/cli/cli_util.h"
#include "dec/model/model.h"
#include "dec/profile/profile.h"
#include "dec/profile/profiler.h"

namespace dec::cli {
namespace {

struct PlanFlags {
  std::string cluster, profile, out, svg, format = "text";
  std::string model, input;  // profile on the spot instead of --profile
  int micro_batch = 32;
  double time_limit_s = 10;
  int threads = 1;
  bool in_process = false;
};

void stamp(planner::Plan* p, const std::string& cluster_sha, const std::vector<planner::ProfileRef>& refs) {
  p->cluster_sha256 = cluster_sha;
  p->profiles = refs;
}

void run_plan(const PlanFlags& f) {
  const cluster::ClusterSpec spec = cluster::load_cluster(f.cluster);
  if (const std::string why = cluster::share_warning(spec); !why.empty())
    report_warning("data shares do not sum to 1", f.cluster + ": data", why);
  DEC_CHECK(f.profile.empty() != f.model.empty(), ConfigError, "invalid flags", "--profile",
            "give either --profile FILE or --model NAME (to profile on the spot)");
  profile::ModelProfile reference;
  std::vector<planner::ProfileRef> refs;
  if (!f.profile.empty()) {
    reference = profile::load_profile(f.profile);
    refs.push_back({"", f.profile, sha256_file(f.profile)});
  } else {
    profile::ProfileOptions po;
    po.micro_batch = f.micro_batch;
    const model::Shape shape = f.input.empty() ? model::Shape{} : model::parse_shape(f.input, "--input");
    reference = profile::measure(model::make_model(f.model, shape), po);
    refs.push_back({"", "(measured by dec plan --model " + f.model + ")", sha256_hex(profile::to_json(reference))});
  }
  std::map<std::string, profile::ModelProfile> node_profiles;
  for (const auto& n : spec.nodes) {
    if (n.profile.empty()) continue;
    if (!node_profiles.count(n.profile)) node_profiles.emplace(n.profile, profile::load_profile(n.profile));
    refs.push_back({n.name, n.profile, sha256_file(n.profile)});
  }
  const planner::Instance instance = planner::make_instance(spec, reference, node_profiles);
  planner::PlannerOptions options;
  options.time_limit_s = f.time_limit_s;
  options.threads = f.threads;
  options.isolate_solver = !f.in_process;
  planner::Plan plan = planner::make_plan(instance, options);
  const std::string cluster_sha = sha256_file(f.cluster);
  stamp(&plan, cluster_sha, refs);
  for (auto& b : plan.baselines) stamp(&b, cluster_sha, refs);
  if (!f.out.empty()) planner::save_plan(f.out, plan);
  if (!f.svg.empty()) write_file_atomic(f.svg, planner::render_svg(plan));
  if (f.format == "json") {
    std::fputs(planner::to_json(plan).c_str(), stdout);
    return;
  }
  std::fputs(planner::summarize(plan).c_str(), stdout);
  if (!f.out.empty()) std::printf("\nwrote %s\n", f.out.c_str());
  if (!f.svg.empty()) std::printf("wrote %s\n", f.svg.c_str());
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto flags = std::make_shared<PlanFlags>();
  auto* cmd = app.add_subcommand(
      "plan",
      "Split the data and the model over the cluster to minimise the time of one iteration.\n"
      "Example: dec plan --cluster scenarios/S2.yaml --profile profile.json --out plan.json --svg plan.svg");
  cmd->add_option("--cluster", flags->cluster, "Cluster spec (YAML, docs/cluster.md)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--profile", flags->profile,
                  "Block profile of the model from `dec profile` (docs/profile.md); node speeds scale its times")
      ->check(CLI::ExistingFile);
  cmd->add_option("--model", flags->model, "Instead of --profile: profile this zoo model here first");
  cmd->add_option("--input", flags->input, "With --model: sample shape, e.g. 3x96x96");
  cmd->add_option("--micro-batch", flags->micro_batch, "With --model: the profiler's micro-batch")
      ->capture_default_str();
  cmd->add_option("--out", flags->out, "Write the plan here (JSON, docs/plan.md)");
  cmd->add_option("--format", flags->format, "What to print: text (a summary) or json (the plan)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--svg", flags->svg, "Draw the plan (paths and a timeline of one iteration) as SVG here");
  cmd->add_option("--time-limit", flags->time_limit_s, "Wall-clock seconds for the search")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads, "Solver threads")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_flag("--in-process", flags->in_process,
                "Run the solver in this process instead of a child (debugging; a solver crash then ends dec)");
  cmd->callback([flags] { run_plan(*flags); });
}

}  // namespace dec::cli
