// The zoo's model families (internal to dec_model; the public entry point is
// make_model() in model.h). Each builds the spec of its model for an input
// shape and class count that make_model() has already checked for positivity,
// and throws ConfigError naming `name` when the shape does not suit the model.
#pragma once

#include <cstdint>
#include <string>

#include "dec/model/model.h"

namespace dec::model {

// zoo_cnn.cc
ModelSpec build_fmnist_cnn(const std::string& name, const Shape& input, int64_t classes);
ModelSpec build_lenet5(const std::string& name, const Shape& input, int64_t classes);
ModelSpec build_mlp(const std::string& name, const Shape& input, int64_t classes);
// zoo_vgg.cc
ModelSpec build_vgg11(const std::string& name, const Shape& input, int64_t classes);
// zoo_resnet.cc
ModelSpec build_resnet18(const std::string& name, const Shape& input, int64_t classes);
// zoo_mobilenet.cc
ModelSpec build_mobilenetv2(const std::string& name, const Shape& input, int64_t classes);

}  // namespace dec::model
