// In-memory datasets: images as a float tensor, labels as int64.
//
// Fashion-MNIST is read from the gzip-compressed IDX files that Debian's
// dataset-fashion-mnist installs, decompressed in-process with zlib (no
// temporary files), validated (magic, dimensions, sizes, truncation, gzip CRC)
// and normalised with the dataset's usual mean and std (0.2860, 0.3530).
// A synthetic dataset of any shape and class count serves the benchmarks: its
// classes are separable (a class-dependent pattern plus noise) so that
// training on it reduces the loss, and it is a pure function of its seed.
//
// Thread safety: loaders are reentrant and never touch LibTorch's global
// generator. A Dataset is a value; concurrent const use (batch()) is safe.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dec::data {

enum class Split { kTrain, kTest };

struct Dataset {
  std::string name;
  torch::Tensor images;  // [N, C, H, W] (or [N, ...] for the shape), float32, contiguous
  torch::Tensor labels;  // [N], int64
  int64_t num_classes = 0;
  // Empty, or [C, H, W]: the shape batch() gives each sample, resized from
  // the stored [c, h, w] (bilinear) with its channels repeated when c = 1.
  // Resizing per batch keeps memory at the stored size: Fashion-MNIST at
  // 3x96x96 would take 6.6 GB as one tensor.
  std::vector<int64_t> resize_to;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  // The shape of one sample as batch() returns it.
  std::vector<int64_t> sample_shape() const;
  // Rows `indices` ([K] int64, each in [0, size())) as one batch, freshly
  // allocated and contiguous: {images [K,...], labels [K]}. An index out of
  // range or of another dtype is a caller bug: InternalError.
  std::pair<torch::Tensor, torch::Tensor> batch(const torch::Tensor& indices) const;
  // Rows [begin, end) as batch() gives them.
  std::pair<torch::Tensor, torch::Tensor> rows(int64_t begin, int64_t end) const;
};

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// Pixel statistics of the Fashion-MNIST train split, after scaling to [0, 1].
inline constexpr double kFashionMnistMean = 0.2860;
inline constexpr double kFashionMnistStd = 0.3530;

// A raw IDX array as stored: dims from the header and the unsigned bytes.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads a gzip'd (or plain) IDX file of unsigned bytes (type 0x08).
// Throws IoError if unreadable, CorruptFile (naming the path) on a bad magic,
// unsupported type, absurd dimensions, truncated payload, trailing bytes or a
// damaged gzip stream.
IdxArray read_idx(const std::string& path);
// The same on a file's bytes already in memory; `where` names them in errors.
// A gzip stream may hold several members (read as their concatenation, as
// gunzip does); anything else after the last member is rejected.
IdxArray parse_idx(std::string_view file_bytes, const std::string& where);

// Loads train or test split from `dir` (default: Debian's location). Checks
// that images are 28x28, images and labels agree in count and labels are < 10.
// Pixels become (x/255 - kFashionMnistMean) / kFashionMnistStd.
Dataset load_fashion_mnist(Split split, const std::string& dir = kFashionMnistDir);

// n samples of `shape` in `num_classes` classes, deterministic in seed; the
// test split of the same (shape, classes, seed) is drawn from a different stream.
// Each class has a fixed random prototype (from the seed alone, shared by both
// splits); a sample is its class's prototype plus gaussian noise. Labels are
// balanced (each class n/num_classes times, +-1) in a random order.
// Throws ConfigError on an empty shape, a non-positive size or class count.
Dataset make_synthetic(const std::vector<int64_t>& shape, int64_t num_classes, int64_t n,
                       uint64_t seed, Split split = Split::kTrain);

// By name, as the CLI takes it: "fashion-mnist" or "synthetic" (then the shape,
// classes and size come from the arguments). Throws ConfigError on unknown names.
// For "fashion-mnist" the arguments may be left empty/0; a shape [1 or 3, H, W]
// other than {1, 28, 28} resizes its samples (Dataset::resize_to), so a model
// built for camera-sized inputs trains on real images; another shape, or a
// class count other than 10, is a ConfigError.
// `dir`: where Fashion-MNIST's files are.
Dataset load_dataset(const std::string& name, Split split, const std::vector<int64_t>& shape,
                     int64_t num_classes, int64_t synthetic_size, uint64_t seed,
                     const std::string& dir = kFashionMnistDir);

}  // namespace dec::data
