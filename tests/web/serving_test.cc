// How `dec control` serves the dashboard's files (docs/dashboard.md, "Serving"):
// index.html for page paths, hashed assets cached for good, 404 JSON for a
// missing file or an unbuilt dashboard, and /api/ untouched. Over a web_dir
// the test writes itself, so it needs no npm.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "dec/control/server.h"

namespace dec::control {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

class DashboardServing : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dec-dashboard-serving-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    write(dir_ / "web/index.html", "<!doctype html><title>DEC</title>");
    write(dir_ / "web/assets/app-ABC123.js", "console.log(1)");
    write(dir_ / "web/assets/app-ABC123.css", "body{}");
    write(dir_ / "secret.txt", "outside web_dir");
  }
  void TearDown() override {
    if (server_) server_->stop();
    fs::remove_all(dir_);
  }
  void start(const fs::path& web_dir) {
    ServerOptions o;
    o.data_dir = (dir_ / "data").string();
    o.port = 0;
    o.threads = 4;
    o.api.web_dir = web_dir.string();
    server_ = std::make_unique<ControlServer>(o);
    server_->start();
  }
  httplib::Result get(const std::string& path) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(10, 0);
    return c.Get(path);
  }

  fs::path dir_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(DashboardServing, PagePathsAnswerIndexHtml) {
  start(dir_ / "web");
  for (const char* path : {"/", "/approvals", "/equipment", "/people/3", "/apix", "/index.html"}) {
    auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->body, "<!doctype html><title>DEC</title>") << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache") << path;
    EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'self'"),
              std::string::npos)
        << path;
  }
}

TEST_F(DashboardServing, AssetsAreCachedForGood) {
  start(dir_ / "web");
  auto js = get("/assets/app-ABC123.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body, "console.log(1)");
  EXPECT_EQ(js->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(js->get_header_value("X-Content-Type-Options"), "nosniff");
  auto css = get("/assets/app-ABC123.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->get_header_value("Content-Type"), "text/css; charset=utf-8");
}

TEST_F(DashboardServing, MissingFilesAndEscapesAnswer404Json) {
  start(dir_ / "web");
  for (const char* path : {"/assets/app-OLD.js", "/favicon.ico", "/.hidden", "/assets/.x.js",
                           "/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"}) {
    auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_NE(r->body, "outside web_dir") << path;
    if (r->status == 200) {
      EXPECT_EQ(r->body, "<!doctype html><title>DEC</title>") << path;  // a page path, never a file outside
      continue;
    }
    EXPECT_EQ(r->status, 404) << path;
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_EQ(body["error"]["code"], "not_found") << path << ": " << r->body;
  }
}

TEST_F(DashboardServing, ApiRoutesAreUnchanged) {
  start(dir_ / "web");
  auto health = get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  for (const char* path : {"/api/v1/nope", "/api", "/api/", "/api/v2/health"}) {
    auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_EQ(body["error"]["message"], "no such route") << path;
  }
}

TEST_F(DashboardServing, UnbuiltDashboardSaysSoAndTheApiWorks) {
  start(dir_ / "not-built");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("the dashboard was not built"),
            std::string::npos);
  auto health = get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

}  // namespace
}  // namespace dec::control
