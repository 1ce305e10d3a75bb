#include "dec/runtime/handshake.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "dec/cluster/load.h"
#include "dec/core/sha256.h"
#include "dec/core/error.h"
#include "dec/planner/instance.h"
#include "dec/planner/planner.h"
#include "dec/planner/summary.h"
#include "dec/profile/profiler.h"
#include "dec/runtime/plan_adapter.h"
#include "dec/runtime/protocol.h"

namespace dec::runtime {

namespace {

using nlohmann::json;

// The ExecPlan as rank 0 publishes it (plan/exec).
json exec_plan_json(const ExecPlan& p) {
  json j = {{"nodes", p.nodes},
            {"num_blocks", p.num_blocks},
            {"global_batch", p.global_batch},
            {"predicted_iteration_s", p.predicted_iteration_s},
            {"paths", json::array()}};
  for (const auto& path : p.paths) {
    json stages = json::array();
    for (const auto& s : path.stages) stages.push_back({s.rank, s.begin, s.end});
    j["paths"].push_back({{"samples", path.samples},
                          {"micro_batches", path.micro_batches},
                          {"stages", stages}});
  }
  return j;
}

ExecPlan exec_plan_from(const json& j) {
  ExecPlan p;
  p.nodes = j.at("nodes").get<std::vector<std::string>>();
  p.num_blocks = j.at("num_blocks").get<size_t>();
  p.global_batch = j.at("global_batch").get<int64_t>();
  p.predicted_iteration_s = j.at("predicted_iteration_s").get<double>();
  for (const auto& jp : j.at("paths")) {
    ExecPath path;
    path.samples = jp.at("samples").get<int64_t>();
    path.micro_batches = jp.at("micro_batches").get<int64_t>();
    for (const auto& s : jp.at("stages")) {
      path.stages.push_back(Stage{s.at(0).get<int>(), s.at(1).get<size_t>(), s.at(2).get<size_t>()});
    }
    p.paths.push_back(std::move(path));
  }
  return p;
}

// What a rank tells the others at the handshake (protocol.h, "hello").
struct Hello {
  int protocol = 0;
  std::string node, version, model, model_hash;
  std::optional<std::string> profile;  // auto mode: the node's profile (JSON)
};

json hello_json(const JobOptions& o, int rank, const model::ModelSpec& spec, double speed,
                const std::optional<profile::ModelProfile>& own) {
  json h = {{"protocol", kJobProtocolVersion},
            {"rank", rank},
            {"node", o.rendezvous.node_name},
            {"tier", o.rendezvous.tier},
            {"version", o.version},
            {"model", spec.name()},
            {"model_hash", spec.hash()},
            {"speed", speed}};
  if (own) h["profile"] = profile::to_json(*own);
  return h;
}

Hello read_hello(const comm::Store& job, const comm::Rendezvous& rv, int rank,
                 std::chrono::milliseconds timeout) {
  const std::string key = keys::hello(rank);
  return read_peer_message(job.get(key, timeout), rv.describe(rank), key, [](const json& j) {
    Hello h;
    h.protocol = j.value("protocol", 0);  // DEC before the protocol had a version
    h.node = j.at("node").get<std::string>();
    h.version = j.at("version").get<std::string>();
    h.model = j.at("model").get<std::string>();
    h.model_hash = j.at("model_hash").get<std::string>();
    if (j.contains("profile")) h.profile = j.at("profile").get<std::string>();
    return h;
  });
}

void check_protocol(const Hello& h, const comm::Rendezvous& rv, int rank) {
  DEC_CHECK(h.protocol == kJobProtocolVersion, Mismatch, "job protocol versions differ", rv.describe(rank),
            "it speaks protocol ", h.protocol, ", this rank ", kJobProtocolVersion, " (dec ", h.version,
            " against ", kVersion, ")");
}

// The profile a plan file was made from, for this node (its own, else the
// plan's reference), when it is still there unchanged and has block times:
// an emulated node's tasks cost what it says (TaskCosts).
std::optional<profile::ModelProfile> plan_profile(const std::string& plan_path, const std::string& node,
                                                  const model::ModelSpec& spec) {
  const planner::Plan plan = planner::load_plan(plan_path);
  const planner::ProfileRef* pick = nullptr;
  for (const auto& r : plan.profiles) {
    if (r.node == node || (r.node.empty() && !pick)) pick = &r;
  }
  if (!pick || pick->path.empty() || !std::filesystem::is_regular_file(pick->path) ||
      sha256_file(pick->path) != pick->sha256) {
    return std::nullopt;
  }
  profile::ModelProfile p = profile::load_profile(pick->path);
  if (p.model_hash != spec.hash() || p.block_sum_s() <= 0 || p.micro_batch <= 0) return std::nullopt;
  return p;
}

// This node's profile, as the emulated node would take it.
profile::ModelProfile profile_self(const JobOptions& o, const model::ModelSpec& spec, const NodeSetup& node) {
  profile::ProfileOptions po;
  po.micro_batch = node.profile_micro_batch;
  po.optimizer = o.optimizer.kind;
  po.node = o.rendezvous.node_name;
  po.seed = o.seed;
  po.speed = node.speed;
  return profile::measure(spec, po);
}

// The baseline of `plan` called `kind`, when one is asked for.
planner::Plan pick_baseline(planner::Plan plan, const std::string& kind) {
  if (kind.empty()) return plan;
  std::string kinds;
  for (auto& b : plan.baselines) {
    if (b.kind != kind) {
      kinds += (kinds.empty() ? "" : ", ") + b.kind;
      continue;
    }
    DEC_CHECK(b.feasible, PlanInfeasible, "baseline does not apply", "--baseline " + kind, b.note);
    b.baselines.clear();
    return b;
  }
  throw ConfigError("unknown baseline", "--baseline " + kind, "the plan has: " + kinds);
}

// Auto mode: the plan solved from the profiles the nodes published.
planner::Plan solve_job_plan(const JobOptions& o, const std::vector<Hello>& hellos) {
  DEC_CHECK(!o.cluster_path.empty(), ConfigError, "no plan", "--plan",
            "give --plan plan.json, or --cluster cluster.yaml to plan automatically");
  cluster::ClusterSpec cs = cluster::load_cluster(o.cluster_path);
  if (o.global_batch > 0) cs.training.batch = o.global_batch;
  std::map<std::string, profile::ModelProfile> measured;
  profile::ModelProfile reference;
  for (const Hello& h : hellos) {
    DEC_CHECK(h.profile.has_value(), Mismatch, "no profile published", "node " + h.node,
              "auto mode needs every node's profile: does it run with --plan?");
    profile::ModelProfile p = profile::from_json(*h.profile, "profile of " + h.node);
    const std::string key = "published:" + h.node;
    measured[key] = p;
    const int i = cs.node_index(h.node);
    DEC_CHECK(i >= 0, ConfigError, "node is not in the cluster", o.cluster_path, "'", h.node,
              "' joined the job but the cluster spec has no such node");
    cs.nodes[i].profile = key;
    reference = profile::scaled(p, 1.0 / p.speed);  // back to this machine's speed
  }
  for (const auto& n : cs.nodes) {
    DEC_CHECK(measured.count(n.profile), ConfigError, "node did not join", o.cluster_path,
              "the cluster spec names node '", n.name, "', which is not part of this job");
  }
  planner::Instance in = planner::make_instance(cs, reference, measured);
  planner::PlannerOptions po;
  po.time_limit_s = o.planner_time_limit_s;
  return planner::make_plan(in, po);
}

// Rank 0: the plan, from a file or solved from the published profiles.
planner::Plan make_job_plan(const JobOptions& o, const std::vector<Hello>& hellos,
                            const model::ModelSpec& spec) {
  if (o.plan_path.empty()) return pick_baseline(solve_job_plan(o, hellos), o.baseline);
  planner::Plan plan = planner::load_plan(o.plan_path);
  DEC_CHECK(plan.model_hash.empty() || plan.model_hash == spec.hash(), Mismatch,
            "plan is for a different model", o.plan_path, "it was made for '", plan.model,
            "', this job trains '", spec.name(), "'");
  return pick_baseline(std::move(plan), o.baseline);
}

// Rank 0: checks every hello, makes the plan and publishes it; on any error
// publishes why, waits (briefly) until every rank has read it, and rethrows.
Agreement lead(const JobOptions& o, const comm::Rendezvous& rv, const comm::Store& job,
               const comm::Store& store, const model::ModelSpec& spec) {
  Agreement a;
  try {
    std::vector<Hello> hellos;
    std::vector<std::string> names;
    for (int r = 0; r < rv.world_size(); ++r) {
      const Hello h = read_hello(job, rv, r, o.timeout);
      check_protocol(h, rv, r);
      DEC_CHECK(h.version == o.version, Mismatch, "DEC versions differ", rv.describe(r), "it runs dec ",
                h.version, ", rank 0 runs ", o.version);
      DEC_CHECK(h.model_hash == spec.hash(), Mismatch, "models differ", rv.describe(r), "it builds '",
                h.model, "' (hash ", h.model_hash.substr(0, 12), "...), rank 0 builds '", spec.name(),
                "' (hash ", spec.hash().substr(0, 12), "...)");
      names.push_back(h.node);
      hellos.push_back(h);
    }
    a.full_plan = make_job_plan(o, hellos, spec);
    a.plan = to_exec_plan(a.full_plan, names, o.plan_path.empty() ? "auto plan" : o.plan_path);
    a.summary = planner::summarize(a.full_plan);
    store.set(keys::plan_exec(), exec_plan_json(a.plan).dump());
    store.set(keys::plan_hash(), plan_hash(a.plan));
    store.set(keys::plan_summary(), a.summary);
    store.set(keys::plan_status(), "ok");
  } catch (const Error& e) {
    store.set(keys::plan_status(), str("error ", e.what()));
    std::vector<std::string> acks;
    for (int r = 1; r < rv.world_size(); ++r) acks.push_back(keys::ack(r));
    try {
      store.wait(acks, std::min(o.timeout, std::chrono::milliseconds(5000)));
    } catch (const Error&) {
      // A rank that does not acknowledge in time has failed or left: the error
      // being raised here is the one to report.
    }
    throw;
  }
  return a;
}

// Rank > 0: the plan rank 0 published, or the reason it refused.
Agreement follow(const JobOptions& o, const comm::Rendezvous& rv, const comm::Store& store) {
  const std::string status = store.get(keys::plan_status(), o.timeout);
  if (status != "ok") {
    store.set(keys::ack(rv.rank()), "1");
    throw Mismatch("handshake refused by rank 0", rv.describe(0),
                   status.substr(std::min<size_t>(6, status.size())));
  }
  Agreement a;
  a.plan = read_peer_message(store.get(keys::plan_exec(), o.timeout), rv.describe(0), keys::plan_exec(),
                             [](const json& j) { return exec_plan_from(j); });
  a.summary = store.get(keys::plan_summary(), o.timeout);
  DEC_CHECK(plan_hash(a.plan) == store.get(keys::plan_hash(), o.timeout), Mismatch,
            "plan corrupted in transit", rv.describe(0), "hash differs");
  return a;
}

}  // namespace

Agreement agree_on_plan(const JobOptions& o, const comm::Rendezvous& rv, const comm::Store& job,
                        const model::ModelSpec& spec, const NodeSetup& node) {
  const int rank = rv.rank();
  const comm::Store store = job.prefixed(keys::versioned());
  // The profile this node plans with (auto mode) or runs at (emulated): with
  // a plan file, the one the plan was made from; without it, or when it is
  // gone, its own, measured one rank after the other.
  std::optional<profile::ModelProfile> own;
  const bool auto_mode = o.plan_path.empty();
  if (!auto_mode && o.emulate) own = plan_profile(o.plan_path, o.rendezvous.node_name, spec);
  if (auto_mode || (o.emulate && !own)) {
    if (node.profile_in_turn && rank > 0) job.get(keys::hello(rank - 1), o.timeout);
    own = profile_self(o, spec, node);
  }
  job.set(keys::hello(rank), hello_json(o, rank, spec, node.speed, auto_mode ? own : std::nullopt).dump());
  if (rank != 0) check_protocol(read_hello(job, rv, 0, o.timeout), rv, 0);

  Agreement a = rank == 0 ? lead(o, rv, job, store, spec) : follow(o, rv, store);
  a.own_profile = std::move(own);
  a.hash = plan_hash(a.plan);
  store.set(keys::confirm(rank), a.hash);
  if (rank == 0) {
    for (int r = 0; r < rv.world_size(); ++r) {
      DEC_CHECK(store.get(keys::confirm(r), o.timeout) == a.hash, Mismatch, "plan not confirmed",
                rv.describe(r), "it holds another plan");
    }
  }
  return a;
}

}  // namespace dec::runtime
