// Deterministic parameter initialisation through torch's default generator.
//
// LibTorch's modules initialise their parameters in their constructors from
// the default CPU generator, with no way to pass another one. To make a block's
// initial values a function of (seed, block index) alone, build() constructs
// each block inside a SeededDefaultGenerator scope, which
//   - holds a process-wide mutex, so concurrent build() calls do not interleave,
//   - saves the default generator's state and seeds it with block_seed(),
//   - restores the saved state on exit (also when construction throws),
// so a caller's random stream continues as if build() had not run.
// Limitation: code on another thread that draws from the default generator
// while a scope is open, without going through this class, would both perturb
// and be perturbed by the initialisation; DEC draws its randomness (sampling,
// shuffling) from explicit generators for that reason.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <mutex>

namespace dec::model {

// The seed of block `index` of a model built with `seed`: splitmix64 over both,
// so neighbouring seeds and neighbouring blocks get unrelated values. Torch's
// CPU generator (mt19937) keeps only the low 32 bits of what it is seeded with.
uint64_t block_seed(uint64_t seed, uint64_t index);

class SeededDefaultGenerator {
 public:
  explicit SeededDefaultGenerator(uint64_t seed);
  ~SeededDefaultGenerator();
  SeededDefaultGenerator(const SeededDefaultGenerator&) = delete;
  SeededDefaultGenerator& operator=(const SeededDefaultGenerator&) = delete;

 private:
  std::unique_lock<std::mutex> lock_;
  at::Generator generator_;
  at::Tensor saved_state_;
};

}  // namespace dec::model
