// A measured timeline of one iteration on one rank: what the report draws
// (docs/report.md, the metrics `trace` event). Spans are recorded by the
// executor's threads — compute and receive waits by the compute thread, sends by
// the sender's lanes, all-reduces by the gradient sync — in seconds since the
// iteration started.
//
// Thread safety: add() from any thread; start() and take() from the compute thread.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace dec::runtime {

struct Span {
  std::string kind;   // "compute", "recv", "send" or "allreduce"
  double start_s = 0;
  double end_s = 0;
  std::string label;  // e.g. "fwd p0 mb1", "to edge0", "bucket 0"
};

class Tracer {
 public:
  using Clock = std::chrono::steady_clock;
  // Forgets earlier spans; times are from now on.
  void start();
  void add(const char* kind, Clock::time_point begin, Clock::time_point end, std::string label);
  // The spans since start(), in the order they were added.
  std::vector<Span> take();

 private:
  std::mutex mu_;
  Clock::time_point origin_ = Clock::now();  // GUARDED_BY(mu_)
  std::vector<Span> spans_;                  // GUARDED_BY(mu_)
};

}  // namespace dec::runtime
