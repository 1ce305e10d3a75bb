#include "dec/core/file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "dec/core/error.h"
#include "dec/core/sha256.h"

namespace dec {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("dec_file_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

TEST(File, AtomicWriteReplacesAndLeavesNoTemp) {
  fs::path d = temp_dir();
  std::string p = (d / "a.txt").string();
  write_file_atomic(p, "one");
  write_file_atomic(p, "two");
  EXPECT_EQ(read_file(p), "two");
  int entries = 0;
  for (auto& e : fs::directory_iterator(d)) (void)e, ++entries;
  EXPECT_EQ(entries, 1);
  fs::remove_all(d);
}

TEST(File, ReadMissingIsIoErrorNamingPath) {
  try {
    read_file("/nonexistent/dec/x");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_EQ(e.where_part(), "/nonexistent/dec/x");
  }
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  fs::path d = temp_dir();
  std::string p = (d / "h").string();
  write_file_atomic(p, "abc");
  EXPECT_EQ(sha256_file(p), sha256_hex("abc"));
  fs::remove_all(d);
}

}  // namespace
}  // namespace dec
