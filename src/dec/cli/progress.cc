#include "dec/cli/progress.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "dec/core/error.h"

namespace dec::cli {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

ProgressPrinter::ProgressPrinter(bool tty, double interval_s) : tty_(tty), interval_s_(interval_s) {}

void ProgressPrinter::progress(const ProgressLine& p) {
  const auto now = std::chrono::steady_clock::now();
  const bool last_step = p.step == p.total_steps;
  if (last_ && !last_step &&
      std::chrono::duration<double>(now - *last_).count() < (tty_ ? 0.1 : interval_s_)) {
    return;
  }
  last_ = now;
  std::string line = str("step ", p.step, "/", p.total_steps, "  epoch ", p.epoch + 1, "  loss ");
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.4f  %.0f samples/s", p.loss, p.samples_per_s);
  line += buf;
  if (p.measured_s) {
    std::snprintf(buf, sizeof buf, "  iteration %.3f s (predicted %.3f s)", *p.measured_s,
                  p.predicted_s.value_or(0.0));
    line += buf;
  }
  line += "  ETA " + format_duration(p.eta_s);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    live_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void ProgressPrinter::message(const std::string& text) {
  if (live_) std::fputc('\n', stderr);
  live_ = false;
  std::fprintf(stderr, "%s\n", text.c_str());
}

void ProgressPrinter::checkpoint(const std::string& dir, int64_t step) {
  message(str("checkpoint at step ", step, ": ", dir));
}

void TrainProgress::on_step(const runtime::StepEvent& e) {
  printer_.progress({e.step, e.total_steps, e.epoch, e.loss, e.samples_per_s, e.eta_s, {}, {}});
}

void TrainProgress::on_epoch(const runtime::EpochEvent& e) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "epoch %lld done (step %lld): train loss %.4f, test loss %.4f, test accuracy "
                "%.2f%%, %.1f s",
                static_cast<long long>(e.epoch + 1), static_cast<long long>(e.step), e.train_loss,
                e.test_loss, 100 * e.test_accuracy, e.seconds);
  printer_.message(buf);
}

void JobProgress::on_plan(const runtime::ExecPlan& plan, const std::string& /*summary*/) {
  std::string text = "plan (hash " + runtime::plan_hash(plan).substr(0, 12) + "):\n" +
                     runtime::describe(plan);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  printer_.message(text);
}

void JobProgress::on_iteration(const runtime::IterationEvent& e) {
  printer_.progress({e.step, e.total_steps, e.epoch, e.loss, e.samples_per_s, e.eta_s,
                     e.measured_s, e.predicted_s});
}

void JobProgress::on_epoch(int64_t epoch, double accuracy, double loss) {
  char buf[120];
  std::snprintf(buf, sizeof buf, "epoch %lld: test accuracy %.2f%%, test loss %.4f",
                static_cast<long long>(epoch + 1), 100 * accuracy, loss);
  printer_.message(buf);
}

}  // namespace dec::cli
