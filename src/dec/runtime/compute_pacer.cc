#include "dec/runtime/compute_pacer.h"

#include <chrono>
#include <cmath>
#include <thread>

#include "dec/core/error.h"

namespace dec::runtime {

namespace {
class SpeedPacer final : public ComputePacer {
 public:
  explicit SpeedPacer(double speed) : factor_(1.0 / speed - 1.0) {}
  double stretch(double seconds) override {
    const double extra = seconds * factor_;
    if (extra <= 0) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(extra));
    return extra;
  }

 private:
  double factor_;
};
}  // namespace

std::shared_ptr<ComputePacer> make_speed_pacer(double speed) {
  DEC_CHECK(std::isfinite(speed) && speed > 0 && speed <= 1, ConfigError, "invalid speed",
            "--speed", "must be in (0, 1] (a fraction of one core of this machine), got ", speed);
  if (speed == 1) return nullptr;
  return std::make_shared<SpeedPacer>(speed);
}

}  // namespace dec::runtime
