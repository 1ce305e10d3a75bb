#include "dec/data/sampler.h"

#include <algorithm>

#include "dec/core/error.h"
#include "dec/data/rng.h"

namespace dec::data {
namespace {
constexpr uint64_t kSamplerStream = 0x73616d706c6572ULL;  // "sampler"
}  // namespace

EpochSampler::EpochSampler(int64_t n, uint64_t seed, bool shuffle)
    : n_(n), seed_(seed), shuffle_(shuffle) {
  DEC_ASSERT(n >= 0, "sampler over ", n, " samples");
  set_epoch(0);
}

void EpochSampler::set_epoch(int64_t epoch) {
  DEC_ASSERT(epoch >= 0, "epoch ", epoch, " is negative");
  if (epoch == epoch_) return;
  epoch_ = epoch;
  if (!shuffle_) {
    if (!order_.defined()) order_ = torch::arange(n_, torch::kLong);
    return;
  }
  at::Generator gen = detail::make_generator(seed_, kSamplerStream, static_cast<uint64_t>(epoch));
  order_ = torch::randperm(n_, gen, torch::kLong);
}

int64_t EpochSampler::num_batches(int64_t batch, bool drop_last) const {
  DEC_CHECK(batch > 0, ConfigError, "invalid batch size", "sampler", "batch size ", batch,
            " is not positive");
  return drop_last ? n_ / batch : (n_ + batch - 1) / batch;
}

torch::Tensor EpochSampler::batch_indices(int64_t index, int64_t batch) const {
  const int64_t count = num_batches(batch, /*drop_last=*/false);
  DEC_ASSERT(index >= 0 && index < count, "batch ", index, " of ", count, " (batch size ",
             batch, ", ", n_, " samples)");
  const int64_t begin = index * batch;
  return order_.slice(0, begin, std::min(n_, begin + batch));
}

}  // namespace dec::data
