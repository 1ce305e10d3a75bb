// Synthetic classification data for benchmarks and tests.
//
// Separability: prototypes have unit variance per element, scaled by
// kSignal, and noise has std kNoise. Two prototypes differ by about
// kSignal * sqrt(2 * D) in L2 while noise projected on that direction has std
// kNoise, so even for D = 10 a linear model separates classes well; samples
// stay near zero mean and unit-ish variance, like normalised images.
#include <numeric>

#include "dec/core/error.h"
#include "dec/data/dataset.h"
#include "dec/data/rng.h"

namespace dec::data {
namespace {

constexpr double kSignal = 0.5;
constexpr double kNoise = 1.0;
// Stream tags: prototypes are shared by both splits; samples are not.
constexpr uint64_t kPrototypeStream = 0x70726f746fULL;  // "proto"
constexpr uint64_t kTrainStream = 0x747261696eULL;      // "train"
constexpr uint64_t kTestStream = 0x74657374ULL;         // "test"
// Keeps n * D within a tensor's int64 element count with room to spare.
constexpr int64_t kMaxElements = int64_t{1} << 40;

}  // namespace

Dataset make_synthetic(const std::vector<int64_t>& shape, int64_t num_classes, int64_t n,
                       uint64_t seed, Split split) {
  const char* where = "synthetic dataset";
  DEC_CHECK(!shape.empty(), ConfigError, "invalid synthetic dataset", where,
            "the sample shape is empty");
  int64_t dim = 1;
  for (int64_t s : shape) {
    DEC_CHECK(s > 0 && s <= kMaxElements / dim, ConfigError, "invalid synthetic dataset", where,
              "bad sample shape ", torch::IntArrayRef(shape));
    dim *= s;
  }
  DEC_CHECK(num_classes >= 1, ConfigError, "invalid synthetic dataset", where,
            "class count ", num_classes, " is not positive");
  DEC_CHECK(n >= 1 && n <= kMaxElements / dim, ConfigError, "invalid synthetic dataset", where,
            "size ", n, " is not in [1, ", kMaxElements / dim, "] for shape ",
            torch::IntArrayRef(shape));

  at::Generator proto_gen = detail::make_generator(seed, kPrototypeStream);
  const torch::Tensor prototypes =
      torch::randn({num_classes, dim}, proto_gen, torch::kFloat).mul_(kSignal);

  at::Generator gen =
      detail::make_generator(seed, split == Split::kTrain ? kTrainStream : kTestStream);
  Dataset ds;
  ds.name = "synthetic";
  ds.num_classes = num_classes;
  // A permutation mod num_classes: balanced classes, in random order.
  ds.labels = torch::randperm(n, gen, torch::kLong).remainder_(num_classes);
  std::vector<int64_t> sizes{n};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  const torch::Tensor noise = torch::randn({n, dim}, gen, torch::kFloat);
  ds.images = prototypes.index_select(0, ds.labels).add_(noise, kNoise).view(sizes);
  return ds;
}

}  // namespace dec::data
