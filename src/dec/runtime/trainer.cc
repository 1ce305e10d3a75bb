#include "dec/runtime/trainer.h"

#include <chrono>
#include <cmath>

#include "dec/core/error.h"
#include "dec/data/dataset.h"
#include "dec/data/sampler.h"
#include "dec/model/model.h"
#include "dec/runtime/block_state.h"
#include "dec/runtime/checkpoint.h"
#include "dec/runtime/evaluate.h"
#include "dec/runtime/metrics.h"
#include "dec/runtime/training_data.h"

namespace dec::runtime {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void validate(const TrainOptions& o) {
  DEC_CHECK(o.batch_size > 0, ConfigError, "invalid flag", "--batch-size", "must be positive, got ",
            o.batch_size);
  validate_run_options(o);
}

struct Run {
  const TrainOptions& o;
  model::ModelSpec spec;
  data::Dataset train, test;
  torch::nn::Sequential net;
  optim::NamedParams params;
  std::unique_ptr<torch::optim::Optimizer> opt;
  data::EpochSampler sampler;
  int64_t steps_per_epoch;
  int64_t total_steps;
  int64_t step = 0, epoch = 0, batch_in_epoch = 0;
  std::string last_checkpoint;

  Run(const TrainOptions& opts, model::ModelSpec s, data::Dataset tr, data::Dataset te)
      : o(opts),
        spec(std::move(s)),
        train(std::move(tr)),
        test(std::move(te)),
        net(spec.build_all(o.seed)),
        params(named_parameters(net)),
        opt(optim::make_optimizer(params, o.optimizer)),
        sampler(train.size(), o.seed, /*shuffle=*/true) {
    steps_per_epoch = sampler.num_batches(o.batch_size, /*drop_last=*/false);
    total_steps = o.max_steps > 0 ? o.max_steps : o.epochs * steps_per_epoch;
  }

  CheckpointState state() const {
    CheckpointState s;
    s.step = step;
    s.epoch = epoch;
    s.batch_in_epoch = batch_in_epoch;
    s.seed = o.seed;
    s.global_batch = o.batch_size;
    s.model = spec.name();
    s.model_hash = spec.hash();
    s.optimizer = o.optimizer.to_string();
    return s;
  }

  std::string save() {
    CheckpointWriter w(o.checkpoint_dir, step);
    std::map<std::string, std::string> files;
    std::vector<std::string> blocks = block_names(net);
    for (const auto& b : blocks) {
      files["blocks/" + b + ".pt"] = w.write_block(b, capture_block(net, b, opt.get(), o.optimizer));
    }
    files["rng.pt"] = w.write_rng();
    return w.commit(state(), blocks, files, o.keep_last);
  }

  void resume() {
    Checkpoint c = open_checkpoint(o.resume, spec.hash());
    DEC_CHECK(c.state.global_batch == o.batch_size, Mismatch, "cannot resume", c.dir,
              "checkpoint was trained with --batch-size ", c.state.global_batch, ", this run uses ",
              o.batch_size);
    DEC_CHECK(c.state.seed == o.seed, Mismatch, "cannot resume", c.dir,
              "checkpoint was trained with --seed ", c.state.seed, ", this run uses ", o.seed);
    for (const auto& b : block_names(net)) {
      restore_block(net, b, read_block(c, b), opt.get(), o.optimizer, c.dir);
    }
    restore_rng(c);
    step = c.state.step;
    epoch = c.state.epoch;
    batch_in_epoch = c.state.batch_in_epoch;
  }
};

}  // namespace

TrainResult train(const TrainOptions& o, TrainObserver* observer) {
  validate(o);
  const DataOptions data_options = data_options_of(o);
  auto load = [&](data::Split split) { return load_training_data(data_options, split); };
  data::Dataset train_set = load(data::Split::kTrain);
  data::Dataset test_set = o.evaluate ? load(data::Split::kTest) : data::Dataset{};
  std::vector<int64_t> shape = train_set.sample_shape();
  DEC_CHECK(o.input_shape.empty() || o.input_shape == shape, ConfigError, "invalid flag",
            "--input", "the dataset's samples are ", model::format_shape(shape), ", not ",
            model::format_shape(o.input_shape));
  DEC_CHECK(o.num_classes == 0 || o.num_classes == train_set.num_classes, ConfigError,
            "invalid flag", "--classes", "the dataset has ", train_set.num_classes, " classes");

  Run run(o, model::make_model(o.model, shape, train_set.num_classes), std::move(train_set),
          std::move(test_set));
  if (!o.resume.empty()) run.resume();
  MetricsWriter metrics(o.metrics_path);

  TrainResult result;
  run.net->train();
  double train_seconds = 0;
  int64_t samples = 0;
  double epoch_loss_sum = 0, epoch_seconds = 0;
  int64_t epoch_steps = 0;

  auto evaluate_now = [&](bool end_of_epoch) {
    Accuracy acc = evaluate(run.net, run.test);
    run.net->train();
    EpochEvent e;
    e.epoch = end_of_epoch ? run.epoch - 1 : run.epoch;
    e.step = run.step;
    e.train_loss = epoch_steps > 0 ? epoch_loss_sum / epoch_steps : NAN;
    e.test_loss = acc.loss;
    e.test_accuracy = acc.accuracy;
    e.seconds = epoch_seconds;
    result.test_accuracy = acc.accuracy;
    metrics.write({{"event", "epoch"},
                   {"epoch", e.epoch},
                   {"step", e.step},
                   {"train_loss", std::isnan(e.train_loss) ? nlohmann::json() : nlohmann::json(e.train_loss)},
                   {"test_loss", e.test_loss},
                   {"test_accuracy", e.test_accuracy},
                   {"seconds", e.seconds}});
    if (observer) observer->on_epoch(e);
  };

  while (run.step < run.total_steps) {
    if (run.batch_in_epoch == 0 || run.sampler.epoch() != run.epoch) run.sampler.set_epoch(run.epoch);
    auto t0 = Clock::now();
    auto indices = run.sampler.batch_indices(run.batch_in_epoch, o.batch_size);
    auto [x, y] = run.train.batch(indices);
    run.net->zero_grad(/*set_to_none=*/true);  // as the worker does
    torch::Tensor loss = torch::nn::functional::cross_entropy(run.net->forward(x), y);
    loss.backward();
    run.opt->step();
    const double loss_value = loss.item<double>();
    const double dt = seconds_since(t0);

    ++run.step;
    ++run.batch_in_epoch;
    train_seconds += dt;
    epoch_seconds += dt;
    samples += x.size(0);
    epoch_loss_sum += loss_value;
    ++epoch_steps;
    result.losses.push_back(loss_value);
    DEC_CHECK(std::isfinite(loss_value), ConfigError, "training diverged", str("step ", run.step),
              "loss is ", loss_value, "; lower --lr");

    StepEvent ev;
    ev.step = run.step;
    ev.total_steps = run.total_steps;
    ev.epoch = run.epoch;
    ev.loss = loss_value;
    ev.elapsed_s = train_seconds;
    ev.samples_per_s = samples / std::max(train_seconds, 1e-9);
    ev.eta_s = train_seconds / result.losses.size() * (run.total_steps - run.step);
    // The distributed job's iteration event (docs/metrics.md), without a plan to predict it.
    metrics.write({{"event", "iteration"},
                   {"step", ev.step},
                   {"epoch", ev.epoch},
                   {"loss", ev.loss},
                   {"measured_s", dt},
                   {"predicted_s", nullptr},
                   {"batch", x.size(0)}});
    if (observer) observer->on_step(ev);

    const bool epoch_done = run.batch_in_epoch == run.steps_per_epoch;
    if (epoch_done) {
      ++run.epoch;
      run.batch_in_epoch = 0;
    }
    const bool last = run.step == run.total_steps;
    if (!o.checkpoint_dir.empty() &&
        (last || (o.checkpoint_every > 0 && run.step % o.checkpoint_every == 0))) {
      run.last_checkpoint = run.save();
      if (observer) observer->on_checkpoint(run.last_checkpoint, run.step);
    }
    if (o.evaluate && (epoch_done || last)) {
      evaluate_now(epoch_done);
      epoch_loss_sum = 0;
      epoch_seconds = 0;
      epoch_steps = 0;
    }
  }

  result.steps = run.step;
  result.final_loss = result.losses.empty() ? NAN : result.losses.back();
  result.train_seconds = train_seconds;
  result.samples_per_s = samples / std::max(train_seconds, 1e-9);
  result.last_checkpoint = run.last_checkpoint;
  return result;
}

}  // namespace dec::runtime
