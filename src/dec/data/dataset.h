// In-memory datasets: images as a float tensor, labels as int64.
//
// Fashion-MNIST is read from the gzip-compressed IDX files that Debian's
// dataset-fashion-mnist installs, decompressed in-process with zlib (no
// temporary files), validated (magic, dimensions, sizes, truncation, gzip CRC)
// and normalised with the dataset's usual mean and std (0.2860, 0.3530).
// A synthetic dataset of any shape and class count serves the benchmarks: its
// classes are separable (a class-dependent pattern plus noise) so that
// training on it reduces the loss, and it is a pure function of its seed.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dec::data {

enum class Split { kTrain, kTest };

struct Dataset {
  std::string name;
  torch::Tensor images;  // [N, C, H, W] (or [N, ...] for the shape), float32, contiguous
  torch::Tensor labels;  // [N], int64
  int64_t num_classes = 0;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  std::vector<int64_t> sample_shape() const;
  // Rows `indices` ([K] int64) as one batch: {images [K,...], labels [K]}.
  std::pair<torch::Tensor, torch::Tensor> batch(const torch::Tensor& indices) const;
};

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

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

// Loads train or test split from `dir` (default: Debian's location). Checks
// that images and labels agree in count and labels are < 10.
Dataset load_fashion_mnist(Split split, const std::string& dir = kFashionMnistDir);

// n samples of `shape` in `num_classes` classes, deterministic in seed; the
// test split of the same (shape, classes, seed) is drawn from a different stream.
Dataset make_synthetic(const std::vector<int64_t>& shape, int64_t num_classes, int64_t n,
                       uint64_t seed, Split split = Split::kTrain);

// By name, as the CLI takes it: "fashion-mnist" or "synthetic" (then the shape,
// classes and size come from the arguments). Throws ConfigError on unknown names.
Dataset load_dataset(const std::string& name, Split split, const std::vector<int64_t>& shape,
                     int64_t num_classes, int64_t synthetic_size, uint64_t seed);

}  // namespace dec::data
