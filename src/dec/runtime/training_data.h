// The datasets a training run reads, as the CLI names them: shared by the
// single-node trainer and the distributed job so both see the same samples.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dec/data/dataset.h"
#include "dec/runtime/run_options.h"

namespace dec::runtime {

struct DataOptions {
  std::string dataset = "fashion-mnist";  // or "synthetic"
  std::string data_dir;                   // "" = Debian's Fashion-MNIST location
  std::vector<int64_t> input_shape;       // synthetic: required; fashion-mnist: resized to it
  int64_t num_classes = 0;                // synthetic: 0 = 10
  int64_t synthetic_size = 10000;         // synthetic train samples; test gets a fifth
  uint64_t seed = 0;
};

// The data fields of a run's options.
inline DataOptions data_options_of(const RunOptions& o) {
  return DataOptions{o.dataset, o.data_dir, o.input_shape, o.num_classes, o.synthetic_size, o.seed};
}

// Throws ConfigError naming the flag (--input, --dataset) or the data errors.
data::Dataset load_training_data(const DataOptions& o, data::Split split);

}  // namespace dec::runtime
