// The servers of support/services.h: each starts, answers, restarts, stops,
// and leaves no process and no directory behind.
#include "support/services.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace dec::test {
namespace {

// The output of a shell command (for the servers' own command-line clients).
std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  ::pclose(f);
  return out;
}

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// Processes whose command line or environment mentions `dir` (a check only:
// servers are always stopped by their PID).
int processes_using(const std::string& dir) {
  int count = 0;
  DIR* d = ::opendir("/proc");
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    for (const char* file : {"/cmdline", "/environ"}) {
      std::ifstream in(std::string("/proc/") + e->d_name + file, std::ios::binary);
      std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (s.find(dir) != std::string::npos) {
        ++count;
        break;
      }
    }
  }
  if (d) ::closedir(d);
  return count;
}

std::string redis_ping(const RedisServer& s) {
  return run("redis-cli -h 127.0.0.1 -p " + std::to_string(s.port()) + " ping");
}

TEST(Services, RedisStartsAnswersRestartsAndStops) {
  std::string dir;
  pid_t first = -1;
  {
    RedisServer s;
    dir = s.dir();
    first = s.pid();
    EXPECT_EQ(s.url(), "redis://127.0.0.1:" + std::to_string(s.port()));
    EXPECT_LT(s.port(), 32768);
    EXPECT_EQ(redis_ping(s), "PONG\n");
    s.restart();
    EXPECT_NE(s.pid(), first);
    EXPECT_FALSE(alive(first));
    EXPECT_EQ(redis_ping(s), "PONG\n");
    pid_t second = s.pid();
    s.kill9();
    EXPECT_FALSE(s.running());
    EXPECT_FALSE(alive(second));
    EXPECT_NE(redis_ping(s), "PONG\n");
    s.start();
    EXPECT_EQ(redis_ping(s), "PONG\n");
    first = s.pid();
  }
  EXPECT_FALSE(alive(first));
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(processes_using(dir), 0);
}

TEST(Services, PostgresStartsAnswersRestartsAndStops) {
  std::string dir;
  pid_t pid = -1;
  {
    PostgresServer s;
    dir = s.dir();
    std::string psql = "psql -X -A -t '" + s.url() + "' -c ";
    EXPECT_EQ(run(psql + "'select 40 + 2'"), "42\n");
    run(psql + "'create table t (x int); insert into t values (7)'");
    s.restart();
    EXPECT_EQ(run(psql + "'select x from t'"), "7\n");
    pid_t old = s.pid();
    s.kill9();
    EXPECT_FALSE(alive(old));
    s.start();  // crash recovery; waits for the old backends to go
    EXPECT_EQ(run(psql + "'select x from t'"), "7\n");
    pid = s.pid();
  }
  EXPECT_FALSE(alive(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(processes_using(dir), 0);
}

TEST(Services, RabbitMqStartsAnswersRestartsAndStops) {
  std::string dir;
  pid_t pid = -1;
  {
    RabbitMqServer s;
    dir = s.dir();
    EXPECT_EQ(s.url(), "amqp://guest:guest@127.0.0.1:" + std::to_string(s.port()) + "/");
    EXPECT_GT(processes_using(dir), 0);
    pid_t old = s.pid();
    s.kill9();
    EXPECT_FALSE(alive(old));
    s.start();  // answers again: the constructor's and start()'s ready check is the AMQP handshake
    EXPECT_TRUE(s.running());
    pid = s.pid();
  }
  EXPECT_FALSE(alive(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(processes_using(dir), 0);
}

TEST(Services, SharedIsOnePerBinary) {
  EXPECT_EQ(&RedisServer::shared(), &RedisServer::shared());
  EXPECT_EQ(redis_ping(RedisServer::shared()), "PONG\n");
}

}  // namespace
}  // namespace dec::test
