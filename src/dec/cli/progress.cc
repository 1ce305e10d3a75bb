#include "dec/cli/progress.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace dec::cli {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

ProgressPrinter::ProgressPrinter(bool tty, double interval_s)
    : tty_(tty), interval_s_(interval_s), last_(std::chrono::steady_clock::now()) {}

void ProgressPrinter::end_live_line() {
  if (live_) {
    std::fputc('\n', stderr);
    live_ = false;
  }
}

void ProgressPrinter::on_step(const runtime::StepEvent& e) {
  char line[160];
  std::snprintf(line, sizeof line, "step %lld/%lld  epoch %lld  loss %.4f  %.0f samples/s  ETA %s",
                static_cast<long long>(e.step), static_cast<long long>(e.total_steps),
                static_cast<long long>(e.epoch + 1), e.loss, e.samples_per_s,
                format_duration(e.eta_s).c_str());
  auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (tty_) {
    if (since < 0.1 && e.step != e.total_steps) return;  // ~10 redraws per second at most
    std::fprintf(stderr, "\r\033[K%s", line);
    std::fflush(stderr);
    live_ = true;
    last_ = now;
  } else if (!printed_any_ || since >= interval_s_ || e.step == e.total_steps) {
    std::fprintf(stderr, "%s\n", line);
    last_ = now;
    printed_any_ = true;
  }
}

void ProgressPrinter::on_epoch(const runtime::EpochEvent& e) {
  end_live_line();
  std::fprintf(stderr, "epoch %lld done (step %lld): train loss %.4f, test loss %.4f, test accuracy %.2f%%, %.1f s\n",
               static_cast<long long>(e.epoch + 1), static_cast<long long>(e.step), e.train_loss,
               e.test_loss, 100 * e.test_accuracy, e.seconds);
}

void ProgressPrinter::on_checkpoint(const std::string& dir, int64_t step) {
  end_live_line();
  std::fprintf(stderr, "checkpoint at step %lld: %s\n", static_cast<long long>(step), dir.c_str());
}

}  // namespace dec::cli
