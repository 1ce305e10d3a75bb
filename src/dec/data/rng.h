// Private random streams for the data module (not part of its API).
//
// Every draw uses a local generator, so loading a dataset or shuffling an
// epoch never disturbs LibTorch's global generator (which models seed).
#pragma once

#include <ATen/CPUGeneratorImpl.h>

#include <cstdint>

namespace dec::data::detail {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A generator for stream (tag, index) of `seed`. The three are hashed, not
// added: LibTorch's mt19937 keeps only the low 32 bits of its seed, and a sum
// such as seed + epoch would make (s, e + 1) and (s + 1, e) the same stream.
inline at::Generator make_generator(uint64_t seed, uint64_t tag, uint64_t index = 0) {
  uint64_t h = splitmix64(splitmix64(splitmix64(seed) ^ tag) ^ index);
  return at::detail::createCPUGenerator(h);
}

}  // namespace dec::data::detail
