#include "dec/runtime/job.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "dec/cluster/load.h"
#include "dec/comm/group.h"
#include "dec/core/error.h"
#include "dec/data/dataset.h"
#include "dec/data/sampler.h"
#include "dec/model/model.h"
#include "dec/planner/plan.h"
#include "dec/profile/compute_pacer.h"
#include "dec/runtime/emulation.h"
#include "dec/runtime/evaluate.h"
#include "dec/runtime/handshake.h"
#include "dec/runtime/iteration_report.h"
#include "dec/runtime/job_checkpoint.h"
#include "dec/runtime/metrics.h"
#include "dec/runtime/model_gather.h"
#include "dec/runtime/protocol.h"
#include "dec/runtime/training_data.h"
#include "dec/runtime/worker.h"

namespace dec::runtime {

namespace {

using nlohmann::json;

void validate(const JobOptions& o) {
  validate_run_options(o);
  DEC_CHECK(o.timeout.count() > 0, ConfigError, "invalid flag", "--timeout", "must be positive");
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

// This node's part in the handshake: its speed and profile micro-batch, from
// the cluster spec when emulated (`emulated` is then filled in).
NodeSetup node_setup(const JobOptions& o, int rank, cluster::ClusterSpec* emulated) {
  NodeSetup node;
  node.speed = o.speed;
  node.profile_micro_batch = o.profile_micro_batch;
  if (!o.emulate) return node;
  *emulated = cluster::load_cluster(o.cluster_path);
  node.speed = emulated_speed(*emulated, o.rendezvous.node_name, o.cluster_path);
  // Profile at the size the plan's micro-batches will have: per-sample times
  // grow as batches shrink.
  const int64_t batch = o.global_batch > 0 ? o.global_batch : emulated->training.batch;
  node.profile_micro_batch = static_cast<int>(std::max<int64_t>(1, batch / emulated->training.micro_batches));
  node.profile_in_turn = rank > 0;
  return node;
}

// What only rank 0 holds: the metrics file and, when it evaluates, the test
// split and a whole model to gather the blocks into.
struct RankZero {
  std::unique_ptr<MetricsWriter> metrics;
  data::Dataset test_set;
  std::unique_ptr<torch::nn::Sequential> whole;
};

RankZero make_rank_zero(const JobOptions& o, const model::ModelSpec& spec, const planner::Plan& full_plan) {
  RankZero z;
  z.metrics = std::make_unique<MetricsWriter>(o.metrics_path);
  z.metrics->write({{"event", "plan"}, {"plan", json::parse(planner::to_json(full_plan))}});
  if (!o.evaluate) return z;
  z.test_set = load_training_data(data_options_of(o), data::Split::kTest);
  if (o.eval_samples > 0 && o.eval_samples < z.test_set.size()) {
    z.test_set.images = z.test_set.images.slice(0, 0, o.eval_samples);
    z.test_set.labels = z.test_set.labels.slice(0, 0, o.eval_samples);
  }
  z.whole = std::make_unique<torch::nn::Sequential>(spec.build_all(o.seed));
  return z;
}

// Everything an iteration loop works with.
struct Job {
  const JobOptions& o;
  const comm::Rendezvous& rv;
  comm::Store store;  // versioned (protocol.h)
  const model::ModelSpec& spec;
  comm::Group& world;
  Worker& worker;
  JobCheckpoints* checkpoints;  // null when the job neither checkpoints nor resumes
  const Agreement& agreement;
  JobObserver* observer;
  RankZero* zero;  // null on ranks > 0
};

// Test accuracy after an epoch (collective: the model is gathered to rank 0).
void evaluate_epoch(const Job& j, int64_t step, int64_t epoch, JobResult& result) {
  gather_model(j.worker, j.world, j.agreement.plan, j.zero ? j.zero->whole.get() : nullptr);
  if (!j.zero) return;
  const Accuracy acc = evaluate(*j.zero->whole, j.zero->test_set);
  result.test_accuracy = acc.accuracy;
  j.zero->metrics->write({{"event", "epoch"}, {"epoch", epoch}, {"step", step},
                          {"test_loss", acc.loss}, {"test_accuracy", acc.accuracy}});
  if (j.observer) j.observer->on_epoch(epoch, acc.accuracy, acc.loss);
}

// Iterations from `at` to the job's end over a deterministic sampler (seed +
// epoch, drop_last: every iteration has exactly the plan's B samples), with
// reports, checkpoints and evaluation.
void run_iterations(const Job& j, const data::Dataset& train_set, TrainingPosition at, JobResult& result) {
  const JobOptions& o = j.o;
  const int64_t B = j.agreement.plan.global_batch;
  DEC_CHECK(B <= train_set.size(), ConfigError, "global batch larger than the dataset", "plan", B, " > ",
            train_set.size(), " samples");
  data::EpochSampler sampler(train_set.size(), o.seed);
  const int64_t steps_per_epoch = train_set.size() / B;
  const int64_t total = o.max_steps > 0 ? o.max_steps : o.epochs * steps_per_epoch;
  IterationReporter reporter(j.rv, j.store, j.agreement.plan, o.timeout,
                             j.zero ? j.zero->metrics.get() : nullptr, j.observer, at.step, total);
  // Batch `index` of `e`. The sampler moves to an epoch as its first batch is
  // drawn; batches drawn earlier keep their epoch's order (sampler.h).
  auto batch_of = [&](int64_t e, int64_t index) {
    if (sampler.epoch() != e) sampler.set_epoch(e);
    return sampler.batch_indices(index, B);
  };
  torch::Tensor indices = at.step < total ? batch_of(at.epoch, at.batch_in_epoch) : torch::Tensor();
  while (at.step < total) {
    // The next step follows at once (evaluation and checkpoints use other
    // tags), so raw inputs of step + 1 may already cross the links.
    const bool wraps = at.batch_in_epoch + 1 == steps_per_epoch;
    torch::Tensor next = at.step + 1 == total ? torch::Tensor()
                         : wraps              ? batch_of(at.epoch + 1, 0)
                                              : batch_of(at.epoch, at.batch_in_epoch + 1);
    const IterationStats st = j.worker.step(train_set, indices, next);
    indices = next;
    const int64_t epoch = at.epoch;  // of the iteration just run
    ++at.step;
    if (++at.batch_in_epoch == steps_per_epoch) {
      ++at.epoch;
      at.batch_in_epoch = 0;
    }
    const bool last = at.step == total;
    reporter.report(at.step, epoch, st, j.world.counters().take());
    if (!o.checkpoint_dir.empty() && (last || (o.checkpoint_every > 0 && at.step % o.checkpoint_every == 0))) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::string dir = j.checkpoints->save(j.worker, j.spec, j.agreement.hash, at);
      if (j.zero) {
        // Rank 0's wall time of the save: its own shards and, when the keeper
        // is another rank, the wait for its commit.
        const double save_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        j.zero->metrics->write({{"event", "checkpoint"}, {"step", at.step}, {"dir", dir}, {"save_s", save_s},
                                {"keeper", j.rv.describe(j.checkpoints->keeper())}});
        result.last_checkpoint = dir;
        if (j.observer) j.observer->on_checkpoint(dir, at.step);
      }
    }
    if (o.evaluate && (at.epoch != epoch || last)) evaluate_epoch(j, at.step, epoch, result);
  }
  result.steps = at.step;
  result.final_loss = reporter.last_loss();
  result.mean_iteration_s = reporter.mean_iteration_s();
}

}  // namespace

JobResult run_job(const JobOptions& o, JobObserver* observer) {
  validate(o);
  comm::RendezvousOptions ro = o.rendezvous;
  if (observer) ro.on_progress = [observer](const comm::JoinProgress& p) { observer->on_join(p.message); };
  comm::Rendezvous rv = comm::rendezvous(ro);
  const int rank = rv.rank();
  const comm::Store job = rv.store().prefixed("job");

  // Data and model: every rank builds the same spec (checked by hash at the handshake).
  data::Dataset train_set = load_training_data(data_options_of(o), data::Split::kTrain);
  model::ModelSpec spec = model::make_model(o.model, train_set.sample_shape(), train_set.num_classes);
  cluster::ClusterSpec emulated;
  const NodeSetup node = node_setup(o, rank, &emulated);
  const Agreement agreement = agree_on_plan(o, rv, job, spec, node);
  const ExecPlan& plan = agreement.plan;
  if (rank == 0 && observer) observer->on_plan(plan, agreement.summary);

  // Execution.
  comm::GroupOptions go = comm::GroupOptions().with_timeout(o.timeout);
  if (o.emulate) go.shaper = make_link_shaper(emulated, plan.nodes, !o.real_links, o.cluster_path);
  comm::Group world = comm::Group::world(rv, go);
  WorkerOptions wo;
  wo.seed = o.seed;
  wo.optimizer = o.optimizer;
  wo.pacer = profile::make_speed_pacer(node.speed);
  if (o.emulate) wo.profile = agreement.own_profile;
  Worker worker(plan, spec, world, wo);
  worker.broadcast_parameters();
  const comm::Store store = job.prefixed(keys::versioned());
  std::optional<JobCheckpoints> checkpoints;
  if (!o.checkpoint_dir.empty() || !o.resume.empty()) checkpoints.emplace(o, rv, store, world);
  const TrainingPosition start = o.resume.empty() ? TrainingPosition{} : checkpoints->resume(worker, spec);
  RankZero zero;
  if (rank == 0) zero = make_rank_zero(o, spec, agreement.full_plan);

  JobResult result;
  result.rank = rank;
  result.plan_hash = agreement.hash;
  result.predicted_iteration_s = plan.predicted_iteration_s;
  run_iterations({o, rv, store, spec, world, worker, checkpoints ? &*checkpoints : nullptr, agreement, observer,
                  rank == 0 ? &zero : nullptr},
                 train_set, start, result);
  // A step ends when its messages have left (AsyncSender::flush); on emulated
  // links the last ones may still be in flight. Deliver them before leaving,
  // so that a failed delivery is reported here and not lost.
  world.flush();
  // Rank 0 hosts the store: it leaves last, so no rank loses it mid-call.
  store.set(keys::done(rank), "1");
  if (rank == 0) {
    for (int r = 1; r < rv.world_size(); ++r) store.get(keys::done(r), o.timeout);
  }
  return result;
}

}  // namespace dec::runtime
