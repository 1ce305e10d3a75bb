#include "dec/serve/energy.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace dec::serve {

namespace {

// The mean of cpu*/cpufreq/scaling_cur_freq (kHz) over the online cores, in
// GHz; 0 when none has one (a virtual machine often has none).
double cpufreq_ghz(const std::string& sys_cpu, int cores) {
  double sum = 0;
  int count = 0;
  for (int cpu = 0; cpu < cores; ++cpu) {
    std::ifstream f(sys_cpu + "/cpu" + std::to_string(cpu) + "/cpufreq/scaling_cur_freq");
    double khz = 0;
    if (f >> khz && khz > 0) {
      sum += khz / 1e6;
      ++count;
    }
  }
  return count > 0 ? sum / count : 0;
}

// The mean of /proc/cpuinfo's "cpu MHz" lines in GHz; 0 when there is none.
double cpuinfo_ghz(const std::string& cpuinfo) {
  std::ifstream f(cpuinfo);
  std::string line;
  double sum = 0;
  int count = 0;
  while (std::getline(f, line)) {
    if (line.rfind("cpu MHz", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream value(line.substr(colon + 1));
    double mhz = 0;
    if (value >> mhz && mhz > 0) {
      sum += mhz / 1e3;
      ++count;
    }
  }
  return count > 0 ? sum / count : 0;
}

}  // namespace

ClockReading read_cpu_clock(double fallback_ghz, const std::string& sys_cpu, const std::string& cpuinfo) {
  if (const double g = cpufreq_ghz(sys_cpu, online_cores()); g > 0) return {g, "cpufreq"};
  if (const double g = cpuinfo_ghz(cpuinfo); g > 0) return {g, "cpuinfo"};
  return {fallback_ghz, "assumed"};
}

CpuClock::CpuClock(double fallback_ghz) : fallback_ghz_(fallback_ghz) {}

ClockReading CpuClock::now() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto t = std::chrono::steady_clock::now();
  if (last_.ghz <= 0 || t - read_at_ > std::chrono::seconds(1)) {
    last_ = read_cpu_clock(fallback_ghz_);
    read_at_ = t;
  }
  return last_;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int online_cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

EnergyMeter::EnergyMeter() : wall0_(std::chrono::steady_clock::now()), cpu0_(process_cpu_seconds()) {}

MeasuredEnergy EnergyMeter::finish(const EnergyModel& model, const ClockReading& clock, double bytes_sent) const {
  MeasuredEnergy m;
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0_).count();
  m.cpu_s = std::max(0.0, process_cpu_seconds() - cpu0_);
  const double cores = online_cores();
  m.cpu_util = m.wall_s > 0 ? std::clamp(m.cpu_s / (m.wall_s * cores), 0.0, 1.0) : 0;
  m.ghz = clock.ghz;
  m.ghz_source = clock.source;
  m.joules = model.base_w * m.wall_s + model.cpu_w_per_ghz * m.cpu_util * m.ghz * m.wall_s +
             model.j_per_mb * bytes_sent / 1e6;
  return m;
}

}  // namespace dec::serve
