#include "dec/runtime/export.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/runtime/checkpoint.h"
#include "dec/runtime/trainer.h"
#include "test_util.h"

namespace dec::runtime {
namespace {

bool python_torch_available() {
  return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

// Runs a command, returns its stdout; fails the test on a non-zero exit.
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << cmd << "\n" << out;
  return out;
}

TEST(Export, PythonTorchLoadOpensAPlainDict) {
  if (!python_torch_available()) GTEST_SKIP() << "python3-torch is not installed (/usr/bin/python3 -c 'import torch' failed)";
  torch::set_num_threads(1);
  testing::TempDir dir("export");
  TrainOptions o;
  o.dataset = "synthetic";
  o.input_shape = {1, 28, 28};
  o.synthetic_size = 64;
  o.batch_size = 32;
  o.max_steps = 2;
  o.evaluate = false;
  o.optimizer.kind = "adam";
  o.optimizer.lr = 1e-3;
  o.checkpoint_dir = dir / "ckpt";
  train(o, nullptr);
  ExportSummary s = export_state_dict(o.checkpoint_dir, dir / "model.pt");
  EXPECT_EQ(s.step, 2);
  EXPECT_EQ(s.tensors, 8u);  // fmnist-cnn: 4 layers x (weight, bias)

  // Python sees a dict whose tensors equal the checkpoint's, with PyTorch's names.
  const std::string script =
      "import torch, sys\n"
      "d = torch.load(sys.argv[1])\n"
      "assert type(d) is dict, type(d)\n"
      "print(len(d), sum(float(t.double().sum()) for t in d.values()))\n"
      "print(' '.join(sorted(d)))\n";
  write_file_atomic(dir / "check.py", script);
  std::string out = run("/usr/bin/python3 " + (dir / "check.py") + " " + (dir / "model.pt"));
  double expected = 0;
  Checkpoint c = open_checkpoint(o.checkpoint_dir);
  for (const auto& b : c.blocks) {
    for (const auto& [name, t] : read_block(c, b).params) {
      expected += t.to(torch::kDouble).sum().item<double>();
    }
  }
  int count = 0;
  double sum = 0;
  ASSERT_EQ(std::sscanf(out.c_str(), "%d %lf", &count, &sum), 2) << out;
  EXPECT_EQ(count, 8);
  EXPECT_NEAR(sum, expected, 1e-6 * std::max(1.0, std::abs(expected)));
  EXPECT_NE(out.find("conv1."), std::string::npos) << out;
}

TEST(Export, RefusesMissingCheckpoint) {
  testing::TempDir dir("export_missing");
  EXPECT_THROW(export_state_dict(dir / "none", dir / "out.pt"), ConfigError);
}

}  // namespace
}  // namespace dec::runtime
