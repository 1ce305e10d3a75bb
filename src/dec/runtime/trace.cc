#include "dec/runtime/trace.h"

namespace dec::runtime {

void Tracer::start() {
  std::lock_guard<std::mutex> lock(mu_);
  origin_ = Clock::now();
  spans_.clear();
}

void Tracer::add(const char* kind, Clock::time_point begin, Clock::time_point end,
                 std::string label) {
  std::lock_guard<std::mutex> lock(mu_);
  auto since = [&](Clock::time_point t) { return std::chrono::duration<double>(t - origin_).count(); };
  spans_.push_back(Span{kind, since(begin), since(end), std::move(label)});
}

std::vector<Span> Tracer::take() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(spans_);
}

}  // namespace dec::runtime
