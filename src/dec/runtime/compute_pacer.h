// Emulated compute speed (DESIGN.md "Emulation"): the seam through which a
// rank's compute is stretched to a slower node's speed.
//
// After a piece of compute that took `seconds` at this machine's speed, the
// executor calls stretch(seconds); an emulated node of speed s (fraction of
// this machine's core) then sleeps seconds * (1/s - 1), so the piece takes
// seconds / s in all — per block, so the profile a node reports and the time it
// takes agree.
#pragma once

#include <memory>

namespace dec::runtime {

class ComputePacer {
 public:
  virtual ~ComputePacer() = default;
  // Returns the seconds slept.
  virtual double stretch(double seconds) = 0;
};

// speed in (0, 1]: 1 never sleeps. Throws ConfigError for speeds outside (0, 1].
std::shared_ptr<ComputePacer> make_speed_pacer(double speed);

}  // namespace dec::runtime
