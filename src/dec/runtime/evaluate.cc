#include "dec/runtime/evaluate.h"

namespace dec::runtime {

Accuracy evaluate(torch::nn::Sequential& net, const data::Dataset& test, int64_t batch) {
  torch::NoGradGuard no_grad;
  net->eval();
  Accuracy a;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < test.size(); begin += batch) {
    const int64_t end = std::min(test.size(), begin + batch);
    auto [x, y] = test.rows(begin, end);
    torch::Tensor logits = net->forward(x);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  a.samples = test.size();
  if (a.samples > 0) {
    a.loss = loss_sum / a.samples;
    a.accuracy = static_cast<double>(correct) / a.samples;
  }
  return a;
}

}  // namespace dec::runtime
