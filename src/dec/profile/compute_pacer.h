// Emulated compute speed (docs/runtime.md, emulation): the seam through which a
// rank's compute is stretched to a slower node's speed.
//
// After a piece of compute, the executor calls stretch(wall_s, cpu_s) with the
// elapsed time it took and the full-speed cost of the same compute, what the
// profile says it takes on one core (runtime/task_costs.h); an emulated node
// of speed s (fraction of one core) then sleeps until the piece has taken
// cpu_s / s in all — per task, so the profile a node reports (measured at full
// speed and divided by s) and the time it takes agree. One Torch thread per
// process, as `--emulate` sets.
#pragma once

#include <functional>
#include <memory>

namespace dec::profile {

class ComputePacer {
 public:
  virtual ~ComputePacer() = default;
  // Returns the seconds slept.
  virtual double stretch(double wall_s, double cpu_s) = 0;
};

// Throws ConfigError (naming --speed) unless speed is in (0, 1].
void check_speed(double speed);

// speed in (0, 1]: 1 never sleeps (returns null). Throws as check_speed.
std::shared_ptr<ComputePacer> make_speed_pacer(double speed);
// The same, sleeping through `sleep` (seconds; the seam tests replace).
std::shared_ptr<ComputePacer> make_speed_pacer(double speed, std::function<void(double)> sleep);

// CPU time of the calling thread, in seconds.
double thread_cpu_seconds();

}  // namespace dec::profile
