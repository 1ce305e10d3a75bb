#include "dec/model/chain_builder.h"

#include "dec/core/error.h"

namespace dec::model {

ChainBuilder::ChainBuilder(std::string model, Shape input, int64_t num_classes)
    : model_(std::move(model)),
      input_(input),
      num_classes_(num_classes),
      tracker_(model_, std::move(input)) {}

int64_t ChainBuilder::channels() const {
  tracker_.require_image();
  return shape()[0];
}

int64_t ChainBuilder::features() const {
  int64_t n = 1;
  for (int64_t d : shape()) n *= d;
  return n;
}

ModelSpec ChainBuilder::finish() && {
  DEC_ASSERT(shape() == Shape{num_classes_}, model_, " ends in ", format_shape(shape()), ", not [",
             num_classes_, "] logits");
  return ModelSpec(std::move(model_), std::move(input_), num_classes_, std::move(blocks_),
                   std::move(factories_));
}

}  // namespace dec::model
