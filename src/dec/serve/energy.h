// The device's energy per request, measured: the power model
// P = base + cpu_w_per_ghz x cpu_util x GHz (W), + j_per_mb per MB sent
// (split.h's EnergyModel holds the coefficients), with cpu_util and the clock
// measured on this machine.
//
// cpu_util is the process's CPU time during the request over the request's
// wall time and the online cores (CLOCK_PROCESS_CPUTIME_ID). The power model
// describes the whole device, and a device's forward pass runs on LibTorch's
// intra-op pool, not on the thread that serves the request, so the threads
// that "ran" a request are not one thread; the process's CPU time counts them
// all, and the HTTP work and the encoding too. Requests served at the same
// time each see the shared utilisation, which is what the device's power is
// while they run. The energy is then
//   E = base_w x wall + cpu_w_per_ghz x GHz x cpu_s / cores + j_per_mb x MB sent.
//
// The clock: the mean of /sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq,
// else of /proc/cpuinfo's "cpu MHz" lines, else the fallback given (the
// model's 2.0 GHz); the source is named so that answers can say which.
//
// Thread safety: CpuClock and EnergyMeter may be used from any thread.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "dec/serve/split.h"

namespace dec::serve {

struct ClockReading {
  double ghz = 0;
  std::string source;  // "cpufreq", "cpuinfo" or "assumed"
};

// Reads the clock now (paths are seams for tests).
ClockReading read_cpu_clock(double fallback_ghz, const std::string& sys_cpu = "/sys/devices/system/cpu",
                            const std::string& cpuinfo = "/proc/cpuinfo");

// The clock, read at most once a second.
class CpuClock {
 public:
  explicit CpuClock(double fallback_ghz = 2.0);
  ClockReading now();

 private:
  const double fallback_ghz_;
  std::mutex mu_;
  ClockReading last_;                                 // guarded by mu_
  std::chrono::steady_clock::time_point read_at_{};  // guarded by mu_
};

double process_cpu_seconds();
int online_cores();

struct MeasuredEnergy {
  double wall_s = 0, cpu_s = 0;
  double cpu_util = 0;  // cpu_s / (wall_s x cores), within [0, 1]
  double ghz = 0;
  std::string ghz_source;
  double joules = 0;
};

// One request's measurement: construct at receipt, finish() at the answer.
class EnergyMeter {
 public:
  EnergyMeter();
  MeasuredEnergy finish(const EnergyModel& model, const ClockReading& clock, double bytes_sent) const;

 private:
  std::chrono::steady_clock::time_point wall0_;
  double cpu0_;
};

}  // namespace dec::serve
