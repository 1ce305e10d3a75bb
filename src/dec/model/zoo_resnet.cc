// ResNet-18 (He et al. 2016): a stem, four stages of two basic blocks, a head.
//
// The stem depends on the input: below 64x64 (MNIST, CIFAR) it is the CIFAR
// stem, a 3x3 stride-1 conv without max-pool, because the ImageNet stem would
// shrink a 32x32 image to 8x8 before the first stage and leave layer4 a 1x1
// map; from 64x64 up it is the ImageNet stem, a 7x7 stride-2 conv and a 3x3
// stride-2 max-pool. Widths 64-128-256-512; stages 2-4 halve the map in their
// first block. Convs use torchvision's kaiming-normal initialisation, batch
// norm weight 1 and bias 0, the fc LibTorch's default (as torchvision does).
// Blocks: stem, layer1_0, layer1_1, ..., layer4_1, head (10 in all).
#include "dec/core/error.h"
#include "dec/model/chain_builder.h"
#include "dec/model/zoo_builders.h"

namespace dec::model {

ModelSpec build_resnet18(const std::string& name, const Shape& input, int64_t classes) {
  constexpr int64_t kImageNetStemMinSize = 64;
  constexpr int64_t kWidths[] = {64, 128, 256, 512};

  ChainBuilder c(name, input, classes);
  const int64_t in_channels = c.channels();
  auto stem = ConvBlockOptions(in_channels, kWidths[0], 3)
                  .padding(1)
                  .bias(false)
                  .batch_norm(true)
                  .init(Init::kTorchvision);
  if (input[1] >= kImageNetStemMinSize && input[2] >= kImageNetStemMinSize) {
    stem.kernel_size(7).stride(2).padding(3).pool_kernel(3).pool_stride(2).pool_padding(1);
  }
  c.add("stem", stem);
  for (int stage = 0; stage < 4; ++stage) {
    for (int i = 0; i < 2; ++i) {
      const int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
      c.add(str("layer", stage + 1, "_", i),
            BasicBlockOptions(c.channels(), kWidths[stage]).stride(stride));
    }
  }
  c.add("head", HeadOptions(c.channels(), classes));
  return std::move(c).finish();
}

}  // namespace dec::model
