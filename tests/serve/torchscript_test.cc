// TorchScript files saved by Python's torch.jit.save, served by ServedModel:
// an nn.Sequential is a chain of its children and every split of it equals
// Python's own output; another module is one block; the refusals. The files
// are written at test time by Debian's python3-torch (skipped without it).
#include "dec/serve/torchscript.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../runtime/test_util.h"
#include "dec/core/error.h"
#include "dec/serve/served_model.h"
#include "serve_testing.h"

namespace dec::serve {
namespace {

using testing::max_abs_diff;

const char* kScript = R"(
import struct, sys, torch
torch.manual_seed(0)
out = sys.argv[1]

class NotSequential(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(784, 32)
        self.b = torch.nn.Linear(32, 10)
    def forward(self, x):
        h = x.flatten(1)
        return self.b(torch.relu(self.a(h))) + h[:, :10]

seq = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                          torch.nn.Flatten(), torch.nn.Linear(4 * 14 * 14, 10))
x = torch.randn(3, 1, 28, 28)

def write(path, t):
    v = t.detach().flatten().tolist()
    open(path, "wb").write(struct.pack("<%df" % len(v), *v))

write(out + "/x.bin", x)
for name, m in (("seq", seq), ("whole", NotSequential())):
    m.eval()
    torch.jit.script(m).save(out + "/" + name + ".pt")
    with torch.no_grad():
        write(out + "/" + name + ".out", m(x))
)";

bool python_torch_available() {
  return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

class TorchScript : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!python_torch_available()) return;
    dir_ = new dec::testing::TempDir("torchscript");
    std::ofstream(*dir_ / "make.py") << kScript;
    ok_ = std::system(("/usr/bin/python3 " + (*dir_ / "make.py") + " " + dir_->str()).c_str()) == 0;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!python_torch_available()) GTEST_SKIP() << "python3-torch is not installed (/usr/bin/python3 -c 'import torch' failed)";
    ASSERT_TRUE(ok_) << "the Python script that writes the TorchScript files failed";
  }
  static ServedModelOptions options(const std::string& file) {
    ServedModelOptions o{"tiny", {1, 28, 28}, 0, "", 0};
    o.torchscript = *dir_ / file;
    return o;
  }
  static inline dec::testing::TempDir* dir_ = nullptr;
  static inline bool ok_ = false;
};

TEST_F(TorchScript, ASequentialIsAChainOfItsChildrenAndEverySplitEqualsPython) {
  const auto m = ServedModel::load(options("seq.pt"));
  EXPECT_EQ(m->name(), "tiny");
  EXPECT_EQ(m->hash().size(), 64u);
  ASSERT_EQ(m->num_blocks(), 5u);
  EXPECT_EQ(m->block_names(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(m->boundary_shape(1), (std::vector<int64_t>{4, 28, 28}));
  EXPECT_EQ(m->boundary_shape(3), (std::vector<int64_t>{4, 14, 14}));
  EXPECT_EQ(m->boundary_shape(4), (std::vector<int64_t>{784}));
  EXPECT_EQ(m->boundary_shape(5), (std::vector<int64_t>{10}));
  const std::vector<float> x = read_floats(*dir_ / "x.bin"), expected = read_floats(*dir_ / "seq.out");
  ASSERT_EQ(expected.size(), 30u);
  EXPECT_LE(max_abs_diff(m->run(x, 3, 0, 5), expected), 1e-5);
  for (size_t s1 = 0; s1 <= 5; ++s1) {
    const std::vector<float> device = m->run(x, 3, 0, s1);
    for (size_t s2 = s1; s2 <= 5; ++s2) {
      const std::vector<float> edge = m->run(device, 3, s1, s2);
      EXPECT_LE(max_abs_diff(m->run(edge, 3, s2, 5), expected), 1e-5) << "split (" << s1 << ", " << s2 << ")";
    }
  }
}

TEST_F(TorchScript, AnotherModuleIsServedWhole) {
  const auto m = ServedModel::load(options("whole.pt"));
  ASSERT_EQ(m->num_blocks(), 1u);
  EXPECT_EQ(m->block_names(), (std::vector<std::string>{"model"}));
  EXPECT_EQ(m->boundary_shape(1), (std::vector<int64_t>{10}));
  EXPECT_LE(max_abs_diff(m->run(read_floats(*dir_ / "x.bin"), 3, 0, 1), read_floats(*dir_ / "whole.out")), 1e-5);
}

TEST_F(TorchScript, Refusals) {
  EXPECT_THROW(ServedModel::load(options("nothing.pt")), IoError);
  std::ofstream(*dir_ / "garbage.pt") << "not a zip archive";
  EXPECT_THROW(ServedModel::load(options("garbage.pt")), CorruptFile);
  ServedModelOptions o = options("seq.pt");
  o.input = {3, 28, 28};  // the first conv takes one channel
  EXPECT_THROW(ServedModel::load(o), ConfigError);
  o.input = {};
  EXPECT_THROW(ServedModel::load(o), ConfigError);
  o = options("seq.pt");
  o.int8 = true;
  EXPECT_THROW(ServedModel::load(o), ConfigError);
  o = options("seq.pt");
  o.checkpoint = *dir_ / "ckpt";
  EXPECT_THROW(ServedModel::load(o), ConfigError);
}

}  // namespace
}  // namespace dec::serve
