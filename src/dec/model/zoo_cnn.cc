// The small models: the Fashion-MNIST CNN, LeNet-5 and an MLP. They keep
// LibTorch's default initialisation (PyTorch's), as their reference code does.
#include "dec/model/chain_builder.h"
#include "dec/model/zoo_builders.h"

namespace dec::model {

// conv 1->32 3x3 pad 1 + ReLU + max-pool 2, conv 32->64 likewise,
// fc 64*7*7->128 + ReLU, fc 128->classes (for 1x28x28; the flatten width
// follows the input).
ModelSpec build_fmnist_cnn(const std::string& name, const Shape& input, int64_t classes) {
  ChainBuilder c(name, input, classes);
  c.add("conv1", ConvBlockOptions(c.channels(), 32, 3).padding(1).pool_kernel(2));
  c.add("conv2", ConvBlockOptions(32, 64, 3).padding(1).pool_kernel(2));
  c.add("fc1", DenseOptions(c.features(), 128));
  c.add("fc2", DenseOptions(128, classes).relu(false));
  return std::move(c).finish();
}

// LeNet-5 as commonly trained today: ReLU and max-pool where the 1998 paper
// had scaled tanh and trainable sub-sampling, and a full C3 connection table.
// Inputs narrower than 32 (MNIST's 28x28) get conv1 padding 2, which restores
// the paper's 32x32 geometry (16x5x5 into fc1); 32 and wider are unpadded.
ModelSpec build_lenet5(const std::string& name, const Shape& input, int64_t classes) {
  ChainBuilder c(name, input, classes);
  const int64_t in_channels = c.channels();
  const int64_t padding = (input[1] < 32 || input[2] < 32) ? 2 : 0;
  c.add("conv1", ConvBlockOptions(in_channels, 6, 5).padding(padding).pool_kernel(2));
  c.add("conv2", ConvBlockOptions(6, 16, 5).pool_kernel(2));
  c.add("fc1", DenseOptions(c.features(), 120));
  c.add("fc2", DenseOptions(120, 84));
  c.add("fc3", DenseOptions(84, classes).relu(false));
  return std::move(c).finish();
}

// Flattens any input shape; three ReLU hidden layers, one block each.
ModelSpec build_mlp(const std::string& name, const Shape& input, int64_t classes) {
  ChainBuilder c(name, input, classes);
  c.add("fc1", DenseOptions(c.features(), 512));
  c.add("fc2", DenseOptions(512, 256));
  c.add("fc3", DenseOptions(256, 128));
  c.add("fc4", DenseOptions(128, classes).relu(false));
  return std::move(c).finish();
}

}  // namespace dec::model
