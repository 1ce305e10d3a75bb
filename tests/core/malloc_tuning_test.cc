#include "dec/core/malloc_tuning.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace dec {
namespace {

// Tunables read at process start stay in force whatever a test unsets later;
// read before any test runs.
const bool kStartedWithMallocTunables = environment_tunes_malloc();

// Bytes malloc holds in mmap'd blocks while a 48 MiB block is live: above
// glibc's highest dynamic threshold (32 MiB), so mmap'd unless tuned.
size_t mmapped_while_holding_48mib() {
  const size_t before = mallinfo2().hblkhd;
  void* volatile p = std::malloc(48u << 20);  // volatile: the compiler may not elide the pair
  std::memset(p, 1, 4096);
  const size_t during = mallinfo2().hblkhd;
  std::free(p);
  return during - before;
}

TEST(MallocTuning, UserTunablesWin) {
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=4096", 1);
  EXPECT_FALSE(retain_freed_memory());
  ::unsetenv("GLIBC_TUNABLES");
  ::setenv("MALLOC_MMAP_THRESHOLD_", "4096", 1);
  EXPECT_FALSE(retain_freed_memory());
  ::unsetenv("MALLOC_MMAP_THRESHOLD_");
}

TEST(MallocTuning, LargeBlocksComeFromTheHeapOnceTuned) {
  if (kStartedWithMallocTunables) GTEST_SKIP() << "this process was started with malloc tunables of its own";
  EXPECT_GE(mmapped_while_holding_48mib(), 48u << 20);  // glibc's default: mmap'd
  ASSERT_TRUE(retain_freed_memory());
  EXPECT_EQ(mmapped_while_holding_48mib(), 0u);
  // Freed, it stays mapped for the next step (under the 256 MiB trim threshold).
  void* volatile p = std::malloc(48u << 20);
  std::free(p);
  EXPECT_GE(mallinfo2().fordblks, 48u << 20);
}

}  // namespace
}  // namespace dec
