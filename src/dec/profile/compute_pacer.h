// Emulated compute speed (DESIGN.md "Emulation"): the seam through which a
// rank's compute is stretched to a slower node's speed.
//
// After a piece of compute, the executor calls stretch(wall_s, cpu_s) with the
// elapsed time it took and the CPU time its thread spent on it; an emulated node
// of speed s (fraction of one core of this machine) then sleeps until the piece
// has taken cpu_s / s in all — per task, so the profile a node reports (measured
// at full speed and divided by s) and the time it takes agree. Using the thread's
// CPU time rather than the elapsed time keeps the emulated speed exact when
// processes share cores: time spent descheduled is not multiplied by 1 / s.
// This needs the compute to run on the calling thread (one Torch thread per
// process, as `--emulate` sets).
#pragma once

#include <memory>

namespace dec::profile {

class ComputePacer {
 public:
  virtual ~ComputePacer() = default;
  // Returns the seconds slept.
  virtual double stretch(double wall_s, double cpu_s) = 0;
};

// speed in (0, 1]: 1 never sleeps (returns null). Throws ConfigError for speeds
// outside (0, 1].
std::shared_ptr<ComputePacer> make_speed_pacer(double speed);

// CPU time of the calling thread, in seconds.
double thread_cpu_seconds();

}  // namespace dec::profile
