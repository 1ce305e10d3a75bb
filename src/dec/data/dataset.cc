// Dataset methods and selection by name.
#include "dec/core/error.h"
#include "dec/data/dataset.h"

namespace dec::data {

std::vector<int64_t> Dataset::sample_shape() const {
  DEC_ASSERT(images.defined(), "dataset ", name, " has no images");
  return resize_to.empty() ? images.sizes().slice(1).vec() : resize_to;
}

namespace {

// Stored samples [K, c, h, w] as `shape` [C, H, W] (see Dataset::resize_to).
torch::Tensor resized(const torch::Tensor& x, const std::vector<int64_t>& shape) {
  if (shape.empty()) return x;
  namespace F = torch::nn::functional;
  torch::Tensor y = F::interpolate(x, F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{shape[1], shape[2]})
                                          .mode(torch::kBilinear)
                                          .align_corners(false));
  if (y.size(1) != shape[0]) y = y.expand({y.size(0), shape[0], shape[1], shape[2]});
  return y.contiguous();
}

}  // namespace

// index_select copies contiguous rows whole and splits large batches across
// intra-op threads; a hand-written memcpy gather was no faster on one thread
// and slower on two (docs/measurements.md, "Gathering a batch"). So the only
// work added here is checking the indices, which turns a bad index into a DEC
// error naming the dataset rather than a c10::Error.
std::pair<torch::Tensor, torch::Tensor> Dataset::batch(const torch::Tensor& indices) const {
  DEC_ASSERT(indices.dim() == 1 && indices.scalar_type() == torch::kLong && indices.is_cpu(),
             "batch indices must be a CPU int64 vector, got ", indices.sizes(), " ",
             indices.scalar_type());
  const torch::Tensor idx = indices.contiguous();
  const int64_t* ix = idx.data_ptr<int64_t>();
  const int64_t n = size();
  for (int64_t j = 0, k = idx.size(0); j < k; ++j)
    DEC_ASSERT(ix[j] >= 0 && ix[j] < n, "batch index ", ix[j], " outside [0, ", n,
               ") of dataset ", name);
  return {resized(images.index_select(0, idx), resize_to), labels.index_select(0, idx)};
}

std::pair<torch::Tensor, torch::Tensor> Dataset::rows(int64_t begin, int64_t end) const {
  DEC_ASSERT(0 <= begin && begin <= end && end <= size(), "rows [", begin, ", ", end,
             ") of dataset ", name, " of ", size());
  return {resized(images.slice(0, begin, end), resize_to), labels.slice(0, begin, end)};
}

Dataset load_dataset(const std::string& name, Split split, const std::vector<int64_t>& shape,
                     int64_t num_classes, int64_t synthetic_size, uint64_t seed, const std::string& dir) {
  if (name == "synthetic") return make_synthetic(shape, num_classes, synthetic_size, seed, split);
  DEC_CHECK(name == "fashion-mnist", ConfigError, "unknown dataset", name,
            "expected \"fashion-mnist\" or \"synthetic\"");
  const std::vector<int64_t> stored{1, 28, 28};
  DEC_CHECK(shape.empty() || (shape.size() == 3 && (shape[0] == 1 || shape[0] == 3) && shape[1] > 0 &&
                              shape[2] > 0),
            ConfigError, "dataset does not fit", name,
            "its samples are [1, 28, 28] and can be resized to [1 or 3, H, W], not ",
            torch::IntArrayRef(shape));
  DEC_CHECK(num_classes == 0 || num_classes == 10, ConfigError, "dataset does not fit", name,
            "it has 10 classes, not ", num_classes);
  Dataset ds = load_fashion_mnist(split, dir);
  if (!shape.empty() && shape != stored) ds.resize_to = shape;
  return ds;
}

}  // namespace dec::data
