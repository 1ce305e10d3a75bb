#include "dec/runtime/training_data.h"

#include <algorithm>

#include "dec/core/error.h"

namespace dec::runtime {

data::Dataset load_training_data(const DataOptions& o, data::Split split) {
  DEC_CHECK(o.dataset != "synthetic" || !o.input_shape.empty(), ConfigError, "invalid flag",
            "--input", "a synthetic dataset needs a sample shape, e.g. --input 3x32x32");
  const int64_t n = split == data::Split::kTrain ? o.synthetic_size
                                                 : std::max<int64_t>(1, o.synthetic_size / 5);
  return data::load_dataset(o.dataset, split, o.input_shape, o.num_classes > 0 ? o.num_classes : 10,
                            n, o.seed, o.data_dir.empty() ? data::kFashionMnistDir : o.data_dir);
}

}  // namespace dec::runtime
