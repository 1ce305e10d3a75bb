// MobileNetV2 (Sandler et al. 2018), width multiplier 1.0, as torchvision
// builds it minus the classifier's dropout: a 3x3 stride-2 stem, 17 inverted
// residual blocks, a 1x1 conv to 1280 channels, global average pool + fc.
// The strides are ImageNet's (32x downsampling in all), also for small inputs:
// 96x96 ends in a 3x3 map, 32x32 in 1x1. torchvision's initialisation.
// Blocks: stem, ir1 ... ir17, last_conv, head (20 in all).
#include "dec/core/error.h"
#include "dec/model/chain_builder.h"
#include "dec/model/zoo_builders.h"

namespace dec::model {

ModelSpec build_mobilenetv2(const std::string& name, const Shape& input, int64_t classes) {
  // expand ratio t, output channels c, repeats n, stride of the first repeat s.
  struct Stage {
    int64_t t, c, n, s;
  };
  static constexpr Stage kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                      {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  constexpr int64_t kStemWidth = 32;
  constexpr int64_t kLastWidth = 1280;

  ChainBuilder c(name, input, classes);
  auto bn_conv = [](int64_t in, int64_t out, int64_t kernel) {
    return ConvBlockOptions(in, out, kernel)
        .padding(kernel / 2)
        .bias(false)
        .batch_norm(true)
        .activation(Activation::kReLU6)
        .init(Init::kTorchvision);
  };
  c.add("stem", bn_conv(c.channels(), kStemWidth, 3).stride(2));
  int index = 0;
  for (const Stage& st : kStages) {
    for (int64_t i = 0; i < st.n; ++i) {
      c.add(
          str("ir", ++index),
          InvertedResidualOptions(c.channels(), st.c).stride(i == 0 ? st.s : 1).expand_ratio(st.t));
    }
  }
  c.add("last_conv", bn_conv(c.channels(), kLastWidth, 1));
  c.add("head", HeadOptions(kLastWidth, classes).init(Init::kTorchvision));
  return std::move(c).finish();
}

}  // namespace dec::model
