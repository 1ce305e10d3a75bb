#include "dec/runtime/job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>

#include "dec/cluster/load.h"
#include "dec/comm/group.h"
#include "dec/core/error.h"
#include "dec/core/sha256.h"
#include "dec/core/version.h"
#include "dec/data/dataset.h"
#include "dec/data/sampler.h"
#include "dec/model/model.h"
#include "dec/planner/instance.h"
#include "dec/planner/plan.h"
#include "dec/planner/planner.h"
#include "dec/planner/summary.h"
#include "dec/profile/profiler.h"
#include "dec/runtime/block_state.h"
#include "dec/runtime/checkpoint.h"
#include "dec/profile/compute_pacer.h"
#include "dec/runtime/emulation.h"
#include "dec/runtime/evaluate.h"
#include "dec/runtime/metrics.h"
#include "dec/runtime/training_data.h"
#include "dec/runtime/plan_adapter.h"
#include "dec/runtime/worker.h"

namespace dec::runtime {

namespace {

using nlohmann::json;
constexpr int kEvalTag = 1 << 29;  // above every executor tag

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
    PathPlan path;
    path.samples = jp.at("samples").get<int64_t>();
    path.micro_batches = jp.at("micro_batches").get<int64_t>();
    for (const auto& s : jp.at("stages")) {
      path.stages.push_back(Stage{s.at(0).get<int>(), s.at(1).get<size_t>(), s.at(2).get<size_t>()});
    }
    p.paths.push_back(std::move(path));
  }
  return p;
}

void validate(const JobOptions& o) {
  DEC_CHECK(o.epochs > 0 || o.max_steps > 0, ConfigError, "invalid flag", "--epochs",
            "must be positive (or give --steps), got ", o.epochs);
  DEC_CHECK(o.max_steps >= 0, ConfigError, "invalid flag", "--steps", "must be >= 0");
  DEC_CHECK(o.checkpoint_every >= 0, ConfigError, "invalid flag", "--checkpoint-every",
            "must be >= 0");
  DEC_CHECK(o.checkpoint_every == 0 || !o.checkpoint_dir.empty(), ConfigError, "invalid flag",
            "--checkpoint-every", "needs --checkpoint-dir");
  DEC_CHECK(o.timeout.count() > 0, ConfigError, "invalid flag", "--timeout", "must be positive");
  optim::validate(o.optimizer, "--optimizer");
  DEC_CHECK(!o.emulate || !o.cluster_path.empty(), ConfigError, "invalid flag", "--emulate",
            "needs --cluster: the spec gives the nodes' speeds and the links");
  DEC_CHECK(!o.emulate || o.speed == 1, ConfigError, "invalid flag", "--speed",
            "cannot be combined with --emulate, which takes each node's speed from --cluster");
  DEC_CHECK(!o.real_links || o.emulate, ConfigError, "invalid flag", "--real-links",
            "only applies with --emulate");
  DEC_CHECK(o.global_batch >= 0, ConfigError, "invalid flag", "--batch-size", "must be positive");
  DEC_CHECK(o.global_batch == 0 || o.plan_path.empty(), ConfigError, "invalid flag",
            "--batch-size", "the plan fixes the global batch; give it to `dec plan` instead");
}

// What an emulated rank measured its tasks at (TaskCosts), for the metrics:
// a stage's cost there against the profile's is the first thing to read when
// a prediction misses (docs/report.md, `task_costs`).
json costs_json(const TaskCosts& costs) {
  json stages = json::array();
  for (const auto& [s, c] : costs.stages()) {
    stages.push_back({{"begin", s.begin}, {"end", s.end}, {"rows", s.rows}, {"loss", s.loss},
                      {"input_grad", s.input_grad}, {"in_flight", s.in_flight}, {"forward_s", c.forward_s},
                      {"backward_s", c.backward_s}});
  }
  return {{"stages", stages}, {"step_s", costs.step_s()}, {"scale", costs.scale()}};
}

json span_json(const std::vector<Span>& spans) {
  json out = json::array();
  for (const auto& s : spans) {
    out.push_back({{"kind", s.kind}, {"start_s", s.start_s}, {"end_s", s.end_s}, {"label", s.label}});
  }
  return out;
}

// Everything rank 0 needs from a rank at the handshake.
json hello(const JobOptions& o, int rank, const model::ModelSpec& spec, double speed,
           const std::optional<profile::ModelProfile>& own) {
  json h = {{"rank", rank},
            {"node", o.rendezvous.node_name},
            {"tier", o.rendezvous.tier},
            {"version", o.version},
            {"model", spec.name()},
            {"model_hash", spec.hash()},
            {"speed", speed}};
  if (own) h["profile"] = profile::to_json(*own);
  return h;
}

// Auto mode: this node's profile, as the emulated node would take it.
profile::ModelProfile profile_self(const JobOptions& o, const model::ModelSpec& spec, double speed,
                                   int micro_batch) {
  profile::ProfileOptions po;
  po.micro_batch = micro_batch;
  po.optimizer = o.optimizer.kind;
  po.node = o.rendezvous.node_name;
  po.seed = o.seed;
  po.speed = speed;
  return profile::measure(spec, po);
}

// The profile a plan file was made from, for this node (its own, else the
// plan's reference), when it is still there unchanged and has block times;
// emulated costs are calibrated to it (TaskCosts).
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

// Rank 0: the plan, from a file or solved from the published profiles.
planner::Plan make_job_plan(const JobOptions& o, const std::vector<json>& hellos,
                            const model::ModelSpec& spec) {
  if (!o.plan_path.empty()) {
    planner::Plan plan = planner::load_plan(o.plan_path);
    DEC_CHECK(plan.model_hash.empty() || plan.model_hash == spec.hash(), Mismatch,
              "plan is for a different model", o.plan_path, "it was made for '", plan.model,
              "', this job trains '", spec.name(), "'");
    return pick_baseline(std::move(plan), o.baseline);
  }
  DEC_CHECK(!o.cluster_path.empty(), ConfigError, "no plan", "--plan",
            "give --plan plan.json, or --cluster cluster.yaml to plan automatically");
  cluster::ClusterSpec cs = cluster::load_cluster(o.cluster_path);
  if (o.global_batch > 0) cs.training.batch = o.global_batch;
  std::map<std::string, profile::ModelProfile> measured;
  profile::ModelProfile reference;
  for (const auto& h : hellos) {
    const std::string node = h.at("node").get<std::string>();
    profile::ModelProfile p =
        profile::from_json(h.at("profile").get<std::string>(), "profile of " + node);
    const std::string key = "published:" + node;
    measured[key] = p;
    int i = cs.node_index(node);
    DEC_CHECK(i >= 0, ConfigError, "node is not in the cluster", o.cluster_path, "'", node,
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
  return pick_baseline(planner::make_plan(in, po), o.baseline);
}

// Rank 0 gathers every block's parameters and buffers from its owner into
// `whole` (rank 0 only; null elsewhere). Collective over the owners.
void gather_model(const Worker& worker, comm::Group& world, const ExecPlan& plan,
                  torch::nn::Sequential* whole) {
  torch::NoGradGuard no_grad;
  std::map<size_t, int> owner;
  for (const auto& g : replica_groups(plan)) {
    for (size_t l : g.blocks) owner[l] = g.ranks.front();
  }
  const int rank = world.rank();
  for (size_t l = 0; l < plan.num_blocks; ++l) {
    const int from = owner.at(l);
    if (rank != 0 && rank != from) continue;
    const int tag0 = kEvalTag + static_cast<int>(l) * 1024;
    if (rank == from && rank != 0) {
      BlockState s = worker.block_state(l);
      int tag = tag0;
      for (const auto* group : {&s.params, &s.buffers}) {
        for (const auto& [name, t] : *group) world.send_tensor(t, 0, tag++);
      }
      continue;
    }
    // Rank 0: its own copy, or the owner's tensors in the BlockState order it sent them.
    const std::string& name = worker.block_name(l);
    BlockState s = from == 0 ? worker.block_state(l)
                             : capture_block(*whole, name, nullptr, {});  // names to receive into
    if (from != 0) {
      int tag = tag0;
      for (auto* group : {&s.params, &s.buffers}) {
        for (auto& [n, t] : *group) t = world.recv_tensor(from, tag++);
      }
    }
    restore_block(*whole, name, s, nullptr, {}, "gathered model");
  }
}

}  // namespace
}  // namespace dec::runtime

namespace dec::runtime {

JobResult run_job(const JobOptions& o, JobObserver* observer) {
  validate(o);
  comm::RendezvousOptions ro = o.rendezvous;
  if (observer) ro.on_progress = [observer](const comm::JoinProgress& p) { observer->on_join(p.message); };
  comm::Rendezvous rv = comm::rendezvous(ro);
  const int rank = rv.rank(), world_size = rv.world_size();
  const comm::Store store = rv.store().prefixed("job");

  // Data and model: every rank builds the same spec (checked by hash below).
  const DataOptions data_options = data_options_of(o);
  auto load = [&](data::Split split) { return load_training_data(data_options, split); };
  data::Dataset train_set = load(data::Split::kTrain);
  model::ModelSpec spec = model::make_model(o.model, train_set.sample_shape(), train_set.num_classes);

  // Emulation: this rank's node speed from the cluster spec.
  cluster::ClusterSpec emulated;
  double speed = o.speed;
  int micro_batch = o.profile_micro_batch;
  if (o.emulate) {
    emulated = cluster::load_cluster(o.cluster_path);
    speed = emulated_speed(emulated, o.rendezvous.node_name, o.cluster_path);
    // Profile at the size the plan's micro-batches will have: per-sample times
    // grow as batches shrink.
    const int64_t batch = o.global_batch > 0 ? o.global_batch : emulated.training.batch;
    micro_batch = static_cast<int>(std::max<int64_t>(1, batch / emulated.training.micro_batches));
    // Processes of one machine profile one at a time, so they do not slow each other.
    if (rank > 0 && o.plan_path.empty()) store.get(str("hello/", rank - 1), o.timeout);
  }

  // Handshake.
  // The profile this rank's node reports (auto mode) or the plan was made from.
  std::optional<profile::ModelProfile> own;
  if (o.plan_path.empty()) own = profile_self(o, spec, speed, micro_batch);
  store.set(str("hello/", rank), hello(o, rank, spec, speed, own).dump());
  if (o.emulate && !o.plan_path.empty()) own = plan_profile(o.plan_path, o.rendezvous.node_name, spec);
  ExecPlan plan;
  std::string summary;
  planner::Plan full_plan;  // rank 0: what the metrics' plan event records
  if (rank == 0) {
    try {
      std::vector<json> hellos;
      std::vector<std::string> names;
      for (int r = 0; r < world_size; ++r) {
        hellos.push_back(json::parse(store.get(str("hello/", r), o.timeout)));
        names.push_back(hellos.back().at("node").get<std::string>());
        const json& h = hellos.back();
        DEC_CHECK(h.at("version") == o.version, Mismatch, "DEC versions differ", rv.describe(r),
                  "it runs dec ", h.at("version").get<std::string>(), ", rank 0 runs ", o.version);
        DEC_CHECK(h.at("model_hash") == spec.hash(), Mismatch, "models differ", rv.describe(r),
                  "it builds '", h.at("model").get<std::string>(), "' (hash ",
                  h.at("model_hash").get<std::string>().substr(0, 12), "...), rank 0 builds '",
                  spec.name(), "' (hash ", spec.hash().substr(0, 12), "...)");
      }
      full_plan = make_job_plan(o, hellos, spec);
      plan = to_exec_plan(full_plan, names, o.plan_path.empty() ? "auto plan" : o.plan_path);
      summary = planner::summarize(full_plan);
      store.set("plan/exec", exec_plan_json(plan).dump());
      store.set("plan/hash", plan_hash(plan));
      store.set("plan/summary", summary);
      store.set("plan/status", "ok");
    } catch (const Error& e) {
      // Tell every rank why, and keep the store up until they have read it.
      store.set("plan/status", str("error ", e.what()));
      std::vector<std::string> acks;
      for (int r = 1; r < world_size; ++r) acks.push_back(str("ack/", r));
      try {
        store.wait(acks, std::min(o.timeout, std::chrono::milliseconds(5000)));
      } catch (const Error&) {
      }
      throw;
    }
  } else {
    const std::string status = store.get("plan/status", o.timeout);
    if (status != "ok") {
      store.set(str("ack/", rank), "1");
      throw Mismatch("handshake refused by rank 0", rv.describe(0),
                     status.substr(std::min<size_t>(6, status.size())));
    }
    plan = exec_plan_from(json::parse(store.get("plan/exec", o.timeout)));
    summary = store.get("plan/summary", o.timeout);
    DEC_CHECK(plan_hash(plan) == store.get("plan/hash", o.timeout), Mismatch,
              "plan corrupted in transit", rv.describe(0), "hash differs");
  }
  const std::string hash = plan_hash(plan);
  store.set(str("confirm/", rank), hash);
  if (rank == 0) {
    for (int r = 0; r < world_size; ++r) {
      DEC_CHECK(store.get(str("confirm/", r), o.timeout) == hash, Mismatch, "plan not confirmed",
                rv.describe(r), "it holds another plan");
    }
    if (observer) observer->on_plan(plan, summary);
  }

  // Execution.
  comm::GroupOptions go = comm::GroupOptions().with_timeout(o.timeout);
  if (o.emulate) go.shaper = make_link_shaper(emulated, plan.nodes, !o.real_links, o.cluster_path);
  comm::Group world = comm::Group::world(rv, go);
  WorkerOptions wo;
  wo.seed = o.seed;
  wo.optimizer = o.optimizer;
  wo.pacer = profile::make_speed_pacer(speed);
  if (own) wo.reference = whole_model_reference(*own);
  Worker worker(plan, spec, world, wo);
  worker.broadcast_parameters();

  const int64_t B = plan.global_batch;
  DEC_CHECK(B <= train_set.size(), ConfigError, "global batch larger than the dataset", "plan",
            B, " > ", train_set.size(), " samples");
  data::EpochSampler sampler(train_set.size(), o.seed);
  const int64_t steps_per_epoch = train_set.size() / B;  // drop_last: every batch is B
  const int64_t total = o.max_steps > 0 ? o.max_steps : o.epochs * steps_per_epoch;
  int64_t step = 0, epoch = 0, batch_in_epoch = 0;
  if (!o.resume.empty()) {
    Checkpoint c = open_checkpoint(o.resume, spec.hash());
    DEC_CHECK(c.state.global_batch == B, Mismatch, "cannot resume", c.dir,
              "checkpoint has global batch ", c.state.global_batch, ", the plan ", B);
    DEC_CHECK(c.state.seed == o.seed, Mismatch, "cannot resume", c.dir, "checkpoint has seed ",
              c.state.seed, ", this run ", o.seed);
    worker.restore(c);
    step = c.state.step;
    epoch = c.state.epoch;
    batch_in_epoch = c.state.batch_in_epoch;
  }

  std::unique_ptr<MetricsWriter> metrics;
  data::Dataset test_set;
  std::unique_ptr<torch::nn::Sequential> whole;
  if (rank == 0) {
    metrics = std::make_unique<MetricsWriter>(o.metrics_path);
    metrics->write({{"event", "plan"}, {"plan", json::parse(planner::to_json(full_plan))}});
    if (o.evaluate) {
      test_set = load(data::Split::kTest);
      if (o.eval_samples > 0 && o.eval_samples < test_set.size()) {
        test_set.images = test_set.images.slice(0, 0, o.eval_samples);
        test_set.labels = test_set.labels.slice(0, 0, o.eval_samples);
      }
      whole = std::make_unique<torch::nn::Sequential>(spec.build_all(o.seed));
    }
  }

  // Emulated ranks' task costs, once: every rank reports (empty at full speed).
  const json my_costs = costs_json(worker.task_costs());
  if (rank != 0) {
    store.set(str("costs/", rank), my_costs.dump());
  } else {
    json nodes = json::object();
    for (int r = 0; r < world_size; ++r) {
      const json c = r == 0 ? my_costs : json::parse(store.get(str("costs/", r), o.timeout));
      if (!c["stages"].empty()) nodes[plan.nodes[r]] = c;
    }
    if (!nodes.empty()) metrics->write({{"event", "task_costs"}, {"nodes", nodes}});
  }

  JobResult result;
  result.rank = rank;
  result.plan_hash = hash;
  result.predicted_iteration_s = plan.predicted_iteration_s;
  double measured_sum = 0;
  int64_t measured_n = 0, samples = 0;
  double run_s = 0;
  const int64_t first_step = step;
  // One iteration's timeline goes to the metrics: past the warm-up, when there is one.
  const int64_t trace_step = std::min(total, first_step + 3);
  // Batch `index` of `e`. The sampler moves to an epoch as its first batch is
  // drawn; batches drawn earlier keep their epoch's order (sampler.h).
  auto batch_of = [&](int64_t e, int64_t index) {
    if (sampler.epoch() != e) sampler.set_epoch(e);
    return sampler.batch_indices(index, B);
  };
  torch::Tensor indices = step < total ? batch_of(epoch, batch_in_epoch) : torch::Tensor();
  while (step < total) {
    // The next step follows at once (evaluation and checkpoints use other
    // tags), so raw inputs of step + 1 may already cross the links.
    const bool wraps = batch_in_epoch + 1 == steps_per_epoch;
    torch::Tensor next = step + 1 == total ? torch::Tensor()
                         : wraps           ? batch_of(epoch + 1, 0)
                                           : batch_of(epoch, batch_in_epoch + 1);
    IterationStats st = worker.step(train_set, indices, next);
    indices = next;
    ++step;
    ++batch_in_epoch;
    const bool epoch_done = batch_in_epoch == steps_per_epoch;
    if (epoch_done) {
      ++epoch;
      batch_in_epoch = 0;
    }
    const bool last = step == total;

    // Rank 0 gathers what every rank measured.
    const json mine = {{"loss_sum", st.loss_sum},       {"loss_samples", st.loss_samples},
                       {"wall_s", st.wall_s},           {"compute_s", st.compute_s},
                       {"recv_wait_s", st.recv_wait_s}, {"sync_wait_s", st.sync_wait_s},
                       {"send_wait_s", st.send_wait_s}};
    comm::CountersSnapshot traffic = world.counters().take();
    json sent = json::object();
    for (const auto& [peer, t] : traffic.peers) {
      if (t.bytes_sent + t.collective_bytes_sent > 0) {
        sent[plan.nodes[peer]] = t.bytes_sent + t.collective_bytes_sent;
      }
    }
    const bool traced = step == trace_step;
    if (rank != 0) {
      json report = {{"stats", mine}, {"sent", sent}};
      if (traced) report["trace"] = span_json(st.trace);
      store.set(str("it/", step, "/", rank), report.dump());
    } else {
      json trace = json::object();
      if (traced) trace[plan.nodes[0]] = span_json(st.trace);
      double loss_sum = st.loss_sum, measured = st.wall_s;
      json nodes = json::object(), links = json::object();
      nodes[plan.nodes[0]] = mine;
      for (const auto& [to, bytes] : sent.items()) links[plan.nodes[0] + "->" + to] = bytes;
      for (int r = 1; r < world_size; ++r) {
        const std::string key = str("it/", step, "/", r);
        json j = json::parse(store.get(key, o.timeout));
        store.native()->deleteKey(key);  // the store lives as long as the job
        loss_sum += j["stats"]["loss_sum"].get<double>();
        measured = std::max(measured, j["stats"]["wall_s"].get<double>());
        nodes[plan.nodes[r]] = j["stats"];
        if (traced) trace[plan.nodes[r]] = j["trace"];
        for (const auto& [to, bytes] : j["sent"].items()) links[plan.nodes[r] + "->" + to] = bytes;
      }
      const double loss = loss_sum / B;
      run_s += measured;
      samples += B;
      if (step > first_step + 1) {  // the first iteration pays warm-up
        measured_sum += measured;
        ++measured_n;
      }
      result.final_loss = loss;
      metrics->write({{"event", "iteration"},
                      {"step", step},
                      {"epoch", epoch_done ? epoch - 1 : epoch},
                      {"loss", loss},
                      {"measured_s", measured},
                      {"predicted_s", plan.predicted_iteration_s},
                      {"nodes", nodes},
                      {"bytes_sent", links}});
      if (traced) metrics->write({{"event", "trace"}, {"step", step}, {"nodes", trace}});
      if (observer) {
        IterationEvent ev;
        ev.step = step;
        ev.total_steps = total;
        ev.epoch = epoch_done ? epoch - 1 : epoch;
        ev.loss = loss;
        ev.measured_s = measured;
        ev.predicted_s = plan.predicted_iteration_s;
        ev.samples_per_s = samples / std::max(run_s, 1e-9);
        ev.eta_s = run_s / (step - first_step) * (total - step);
        observer->on_iteration(ev);
      }
    }

    if (!o.checkpoint_dir.empty() &&
        (last || (o.checkpoint_every > 0 && step % o.checkpoint_every == 0))) {
      CheckpointWriter writer(o.checkpoint_dir, step);
      json files = worker.save_owned_blocks(writer);
      store.set(str("ckpt/", step, "/", rank), files.dump());
      if (rank == 0) {
        std::map<std::string, std::string> all;
        for (int r = 0; r < world_size; ++r) {
          json f = json::parse(store.get(str("ckpt/", step, "/", r), o.timeout));
          for (const auto& [file, sha] : f.items()) all[file] = sha.get<std::string>();
        }
        std::vector<std::string> blocks;
        for (size_t l = 0; l < spec.num_blocks(); ++l) blocks.push_back(spec.block(l).name);
        CheckpointState cs;
        cs.step = step;
        cs.epoch = epoch;
        cs.batch_in_epoch = batch_in_epoch;
        cs.seed = o.seed;
        cs.global_batch = B;
        cs.model = spec.name();
        cs.model_hash = spec.hash();
        cs.plan_hash = hash;
        cs.optimizer = o.optimizer.to_string();
        result.last_checkpoint = writer.commit(cs, blocks, all, o.keep_last);
        if (observer) observer->on_checkpoint(result.last_checkpoint, step);
      }
    }
    if (o.evaluate && (epoch_done || last)) {
      gather_model(worker, world, plan, whole.get());
      if (rank == 0) {
        Accuracy acc = evaluate(*whole, test_set);
        result.test_accuracy = acc.accuracy;
        metrics->write({{"event", "epoch"},
                        {"epoch", epoch_done ? epoch - 1 : epoch},
                        {"step", step},
                        {"test_loss", acc.loss},
                        {"test_accuracy", acc.accuracy}});
        if (observer) observer->on_epoch(epoch_done ? epoch - 1 : epoch, acc.accuracy, acc.loss);
      }
    }
  }
  // A step ends when its messages have left (AsyncSender::flush); on emulated
  // links the last ones may still be in flight. Deliver them before leaving,
  // so that a failed delivery is reported here and not lost.
  world.flush();
  result.steps = step;
  result.mean_iteration_s = measured_n > 0 ? measured_sum / measured_n : 0;
  // Rank 0 hosts the store: it leaves last, so no rank loses it mid-call.
  store.set(str("done/", rank), "1");
  if (rank == 0) {
    for (int r = 1; r < world_size; ++r) store.get(str("done/", r), o.timeout);
  }
  return result;
}

}  // namespace dec::runtime
