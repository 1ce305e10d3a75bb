#include "dec/model/seeded_generator.h"

#include <ATen/CPUGeneratorImpl.h>

namespace dec::model {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Serialises every SeededDefaultGenerator scope in the process.
std::mutex& scope_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

uint64_t block_seed(uint64_t seed, uint64_t index) {
  return splitmix64(splitmix64(seed) ^ splitmix64(index + 0x6a09e667f3bcc909ULL));
}

SeededDefaultGenerator::SeededDefaultGenerator(uint64_t seed)
    : lock_(scope_mutex()), generator_(at::detail::getDefaultCPUGenerator()) {
  // The generator's own mutex guards its state against concurrent draws, as
  // torch::manual_seed does; it must not be held while modules draw from it.
  std::lock_guard<std::mutex> g(generator_.mutex());
  saved_state_ = generator_.get_state();
  generator_.set_current_seed(seed);
}

SeededDefaultGenerator::~SeededDefaultGenerator() {
  std::lock_guard<std::mutex> g(generator_.mutex());
  generator_.set_state(saved_state_);
}

}  // namespace dec::model
