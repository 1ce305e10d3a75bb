#include "dec/core/process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>

#include "dec/core/error.h"

namespace dec {
namespace {

Child shell(const std::string& script, const Environment& env = {}) {
  return Child::spawn("/bin/sh", {"-c", script, "sh", "a", "b", "c"}, env, "test shell");
}

TEST(Process, ReportsTheExitCode) {
  EXPECT_EQ(shell("exit 0").wait().code, 0);
  const ExitStatus s = shell("exit 3").wait();
  EXPECT_EQ(s.code, 3);
  EXPECT_EQ(s.signal, 0);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.describe(), "exit code 3");
}

TEST(Process, PassesTheArguments) {
  EXPECT_EQ(shell("exit $#").wait().code, 3);
  EXPECT_EQ(shell("test \"$2\" = b").wait().code, 0);
}

TEST(Process, SetsTheEnvironmentOnTopOfTheParents) {
  ::setenv("DEC_PROCESS_TEST_INHERITED", "kept", 1);
  ::setenv("DEC_PROCESS_TEST", "parent", 1);
  EXPECT_EQ(shell("test \"$DEC_PROCESS_TEST\" = child && test \"$DEC_PROCESS_TEST_INHERITED\" = kept",
                  {{"DEC_PROCESS_TEST", "child"}})
                .wait()
                .code,
            0);
  EXPECT_EQ(shell("test \"$DEC_PROCESS_TEST\" = parent").wait().code, 0);
}

TEST(Process, KilledChildReportsTheSignal) {
  Child c = shell("exec sleep 30");
  EXPECT_TRUE(c.running());
  EXPECT_FALSE(c.poll().has_value());
  c.kill(SIGTERM);
  const ExitStatus s = c.wait();
  EXPECT_EQ(s.signal, SIGTERM);
  EXPECT_EQ(s.code, 128 + SIGTERM);
  EXPECT_EQ(s.describe().rfind("killed by signal 15", 0), 0u) << s.describe();
  EXPECT_FALSE(c.running());
  EXPECT_EQ(c.poll()->code, 128 + SIGTERM);  // the status stays once reaped
  c.kill(SIGTERM);                           // a reaped child is not signalled again
}

TEST(Process, AProgramThatCannotRunIsAnErrorInTheParent) {
  try {
    Child::spawn("/nonexistent/dec", {}, {}, "worker (local rank 1)");
    FAIL() << "no throw";
  } catch (const IoError& e) {
    EXPECT_EQ(e.where_part(), "worker (local rank 1)");
    EXPECT_NE(e.why_part().find("/nonexistent/dec"), std::string::npos) << e.what();
  }
}

TEST(Process, DestroyingARunningChildEndsIt) {
  pid_t pid = 0;
  {
    Child c = shell("exec sleep 30");
    pid = c.pid();
    Child moved = std::move(c);  // ownership moves; the moved-from one ends nothing
    EXPECT_TRUE(moved.running());
    EXPECT_FALSE(c.running());
  }
  EXPECT_EQ(::kill(pid, 0), -1);  // killed and reaped: the pid is gone
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace
}  // namespace dec
