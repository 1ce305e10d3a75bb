// VGG-11 ("configuration A" of Simonyan & Zisserman) for small images.
//
// Choices, against torchvision's vgg11:
// - Batch norm after every conv (torchvision's vgg11_bn): an 8-conv plain
//   network trains reliably from scratch with it, and DEC's runtime must handle
//   batch-norm buffers anyway. The convs then carry no bias (batch norm's shift
//   makes it redundant).
// - The classifier is 512-512-classes on the flattened 512 x H/32 x W/32 map
//   (the CIFAR convention): torchvision's adaptive pool to 7x7 and 4096-wide
//   layers were sized for 224x224 images and would be ~120M parameters of
//   mostly replicated values at 32x32. Flattening the computed map keeps the
//   spatial information at larger inputs (4608 features at 96x96).
// - No dropout (DEC compares partitioned runs with the whole model exactly).
// - torchvision's initialisation (Init::kTorchvision).
// Five 2x2 max-pools need inputs of at least 32x32.
#include "dec/core/error.h"
#include "dec/model/chain_builder.h"
#include "dec/model/zoo_builders.h"

namespace dec::model {

ModelSpec build_vgg11(const std::string& name, const Shape& input, int64_t classes) {
  // One block per conv, with the max-pool that follows it if any.
  struct Conv {
    int64_t width;
    bool pool;
  };
  static constexpr Conv kConvs[] = {{64, true},   {128, true}, {256, false}, {256, true},
                                    {512, false}, {512, true}, {512, false}, {512, true}};
  constexpr int64_t kHidden = 512;

  ChainBuilder c(name, input, classes);
  int index = 0;
  for (const Conv& conv : kConvs) {
    c.add(str("conv", ++index), ConvBlockOptions(c.channels(), conv.width, 3)
                                    .padding(1)
                                    .bias(false)
                                    .batch_norm(true)
                                    .pool_kernel(conv.pool ? 2 : 0)
                                    .init(Init::kTorchvision));
  }
  c.add("fc1", DenseOptions(c.features(), kHidden).init(Init::kTorchvision));
  c.add("fc2", DenseOptions(kHidden, kHidden).init(Init::kTorchvision));
  c.add("fc3", DenseOptions(kHidden, classes).relu(false).init(Init::kTorchvision));
  return std::move(c).finish();
}

}  // namespace dec::model
