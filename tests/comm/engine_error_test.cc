#include "dec/comm/engine_error.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "dec/core/error.h"

namespace dec::comm::detail {
namespace {

// Messages as the engine produced them in this repository's tests (see fault_test.cc
// and group_test.cc), plus the store's socket errors.
TEST(EngineError, ClassifiesTheEnginesMessages) {
  EXPECT_EQ(classify("Timed out waiting 1000ms for recv operation to complete"), Failure::kTimeout);
  EXPECT_EQ(classify("Operation timed out!"), Failure::kTimeout);
  EXPECT_EQ(classify("Socket Timeout"), Failure::kTimeout);
  EXPECT_EQ(classify("The client socket has timed out after 1s while trying to connect to "
                     "(127.0.0.1, 4242)."),
            Failure::kTimeout);
  EXPECT_EQ(classify("Connection closed by peer [127.0.0.1]:39636"), Failure::kPeerLost);
  EXPECT_EQ(classify("Connection reset by peer"), Failure::kPeerLost);
  EXPECT_EQ(classify("Broken pipe"), Failure::kPeerLost);
  EXPECT_EQ(classify("Tensors must be contiguous"), Failure::kOther);
}

TEST(EngineError, ConvertsWithoutBacktraceAndKeepsDecErrors) {
  try {
    TORCH_CHECK(false, "Connection reset by peer");
  } catch (...) {
    const auto e = std::current_exception();
    EXPECT_EQ(engine_message(e), "Connection reset by peer");
    try {
      rethrow_as_dec(e, "recv failed", "rank 1 (edge)", "deadline 5 ms");
    } catch (const PeerLost& lost) {
      EXPECT_STREQ(lost.what(), "recv failed (rank 1 (edge)): Connection reset by peer");
    }
  }
  try {
    rethrow_as_dec(std::make_exception_ptr(std::runtime_error("[pair.cc:598] Timed out")),
                   "send failed", "rank 2", "deadline 5 ms");
  } catch (const Timeout& t) {
    EXPECT_STREQ(t.what(), "send failed (rank 2): deadline 5 ms: Timed out");
  }
  EXPECT_THROW(rethrow_as_dec(std::make_exception_ptr(Mismatch("a", "b", "c")), "x", "y"),
               Mismatch);
  EXPECT_THROW(rethrow_as_dec(std::make_exception_ptr(std::logic_error("odd")), "x", "y"),
               dec::Error);
}

}  // namespace
}  // namespace dec::comm::detail
