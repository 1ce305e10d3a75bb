#include "dec/profile/compute_pacer.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <utility>

#include "dec/core/error.h"

namespace dec::profile {

namespace {
class SpeedPacer final : public ComputePacer {
 public:
  SpeedPacer(double speed, std::function<void(double)> sleep) : speed_(speed), sleep_(std::move(sleep)) {}
  double stretch(double wall_s, double cpu_s) override {
    const double extra = cpu_s / speed_ - wall_s;
    if (extra <= 0) return 0;
    sleep_(extra);
    return extra;
  }

 private:
  double speed_;
  std::function<void(double)> sleep_;
};
}  // namespace

void check_speed(double speed) {
  DEC_CHECK(std::isfinite(speed) && speed > 0 && speed <= 1, ConfigError, "invalid speed",
            "--speed", "must be in (0, 1] (a fraction of one core of this machine), got ", speed);
}

std::shared_ptr<ComputePacer> make_speed_pacer(double speed) {
  return make_speed_pacer(speed, [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); });
}

std::shared_ptr<ComputePacer> make_speed_pacer(double speed, std::function<void(double)> sleep) {
  check_speed(speed);
  if (speed == 1) return nullptr;
  return std::make_shared<SpeedPacer>(speed, std::move(sleep));
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace dec::profile
