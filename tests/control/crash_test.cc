// kill -9 of the control plane while clients write: the SQLite database opens
// afterwards, passes PRAGMA integrity_check, and holds every write that was
// acknowledged. The server runs in a forked child (the same ControlServer that
// `dec control` runs), started before this process has any other thread.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "api_fixture.h"

namespace dec::control::testing {
namespace {

TEST(ControlCrash, KillDuringWritesLeavesAConsistentDatabase) {
  TempDir dir;
  int ports[2];
  ASSERT_EQ(::pipe(ports), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ports[0]);
    ServerOptions o;
    o.data_dir = dir.path();
    o.port = 0;
    o.admin = "admin@example.org";
    o.threads = 4;
    ControlServer server(o);
    int port = server.port();
    if (::write(ports[1], &port, sizeof port) != sizeof port) ::_exit(3);
    server.run();
    ::_exit(0);
  }
  ::close(ports[1]);
  int port = 0;
  ASSERT_EQ(::read(ports[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ::close(ports[0]);

  auto post = [&](const std::string& path, const std::string& token, const nlohmann::json& body) {
    httplib::Client c("127.0.0.1", port);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto r = c.Post(path, h, body.dump(), "application/json");
    return r ? std::make_pair(r->status, nlohmann::json::parse(r->body, nullptr, false))
             : std::make_pair(0, nlohmann::json());
  };
  post("/api/v1/auth/code", "", {{"address", "admin@example.org"}});
  auto session = post("/api/v1/auth/session", "",
                      {{"address", "admin@example.org"},
                       {"code", last_code_in(dir.file("login-codes.txt"), "admin@example.org")}});
  ASSERT_EQ(session.first, 201);
  std::string token = session.second["token"];
  ASSERT_EQ(post("/api/v1/departments", token, {{"name", "lab"}}).first, 201);

  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        auto filed = post("/api/v1/requests", token, enrol_body(str("w", w, "-", i)));
        if (filed.first != 201) break;  // the server is gone
        ++acknowledged;
        auto id = filed.second["id"].get<int64_t>();
        if (post(str("/api/v1/requests/", id, "/approve"), token, nlohmann::json::object()).first != 200) break;
      }
    });
  }
  while (acknowledged < 60) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_TRUE(WIFSIGNALED(status));

  auto db = open_sqlite(dir.file("control.db"));
  Rows check = db->query("PRAGMA integrity_check");
  ASSERT_EQ(check.size(), 1u);
  EXPECT_EQ(check[0].text("integrity_check"), "ok");
  int64_t requests = scalar(*db, "SELECT COUNT(*) FROM requests");
  EXPECT_GE(requests, acknowledged.load());
  // Every request has its audit event and outbox row (one transaction).
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM audit_events WHERE action = 'request.filed'"), requests);
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM outbox WHERE topic = 'request.filed'"), requests);
  std::printf("killed after %d acknowledged requests; %lld in the database; integrity ok\n",
              acknowledged.load(), static_cast<long long>(requests));
}

}  // namespace
}  // namespace dec::control::testing
