#include "dec/comm/clock.h"

#include <chrono>
#include <thread>

namespace dec::comm {

double RealClock::now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void RealClock::sleep_until(double t) {
  using namespace std::chrono;
  const auto target =
      steady_clock::time_point(duration_cast<steady_clock::duration>(duration<double>(t)));
  std::this_thread::sleep_until(target);
}

RealClock& RealClock::instance() {
  static RealClock* clock = new RealClock();  // leaked on purpose: usable during exit
  return *clock;
}

}  // namespace dec::comm
