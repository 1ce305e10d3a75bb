#include "dec/profile/compute_pacer.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "dec/core/error.h"

namespace dec::profile {

namespace {
class SpeedPacer final : public ComputePacer {
 public:
  explicit SpeedPacer(double speed) : speed_(speed) {}
  double stretch(double wall_s, double cpu_s) override {
    const double extra = cpu_s / speed_ - wall_s;
    if (extra <= 0) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(extra));
    return extra;
  }

 private:
  double speed_;
};
}  // namespace

void check_speed(double speed) {
  DEC_CHECK(std::isfinite(speed) && speed > 0 && speed <= 1, ConfigError, "invalid speed",
            "--speed", "must be in (0, 1] (a fraction of one core of this machine), got ", speed);
}

std::shared_ptr<ComputePacer> make_speed_pacer(double speed) {
  check_speed(speed);
  if (speed == 1) return nullptr;
  return std::make_shared<SpeedPacer>(speed);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace dec::profile
