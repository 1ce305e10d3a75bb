#include "dec/comm/route.h"

#include <gtest/gtest.h>

namespace dec::comm {
namespace {

TEST(Route, LoopbackMasterIsReachedFromLoopback) {
  EXPECT_EQ(local_address_towards("127.0.0.1", 29500), "127.0.0.1");
  EXPECT_EQ(local_address_towards("127.0.0.1", 0), "127.0.0.1");
}

TEST(Route, UnresolvableHostFallsBackToLoopback) {
  EXPECT_EQ(local_address_towards("no-such-host.invalid", 1), "127.0.0.1");
}

}  // namespace
}  // namespace dec::comm
