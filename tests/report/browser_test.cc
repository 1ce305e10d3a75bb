// Opens rendered reports in headless Chromium: every chart must draw without a
// script error (the page sets <body data-rendered="ok">). Leaves report.html
// and report.png (1280x2400) in the build directory for people to look at.
// Chromium runs as root here, hence --no-sandbox; every run is bounded by
// `timeout`, which also kills Chromium's helper processes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "dec/core/file.h"
#include "dec/report/report.h"
#include "fixture.h"

namespace dec::report {
namespace {

namespace fs = std::filesystem;

constexpr const char* kChromium = "/usr/bin/chromium";

const fs::path& out_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::path(DEC_BINARY_DIR) / "report_browser_out";
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// Runs Chromium on `page` with `args`, stdout to `out`; true if it exited 0.
bool chromium(const fs::path& page, const std::string& args, const fs::path& out) {
  const fs::path profile = out_dir() / "chromium-profile";
  fs::remove_all(profile);
  const std::string cmd =
      std::string("timeout -k 5 60 ") + kChromium +
      " --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
      " --disable-extensions --hide-scrollbars --user-data-dir=" +
      profile.string() + " " + args + " file://" + page.string() + " >" + out.string() + " 2>" +
      (out_dir() / "chromium.log").string();
  const int status = std::system(cmd.c_str());
  fs::remove_all(profile);
  return status == 0;
}

// The DOM after the page's scripts ran.
std::string rendered_dom(const fs::path& page) {
  const fs::path dom = out_dir() / (page.stem().string() + ".dom.html");
  EXPECT_TRUE(chromium(page, "--dump-dom", dom))
      << "chromium failed or timed out; see " << (out_dir() / "chromium.log");
  return fs::exists(dom) ? read_file(dom.string()) : "";
}

// The body's data-rendered value and the text of #report-errors.
std::pair<std::string, std::string> outcome(const std::string& dom) {
  std::smatch m;
  std::string state, errors;
  if (std::regex_search(dom, m, std::regex("<body[^>]*data-rendered=\"([a-z]*)\""))) state = m[1];
  if (std::regex_search(dom, m, std::regex("<div id=\"report-errors\"[^>]*>([^<]*)</div>")))
    errors = m[1];
  return {state, errors};
}

class Browser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kChromium, X_OK) != 0) {
      GTEST_SKIP() << kChromium
                   << " is missing: install the Debian package chromium to run the browser test";
    }
  }
};

TEST_F(Browser, DemoReportRendersWithoutErrors) {
  const fs::path page = fs::path(DEC_BINARY_DIR) / "report.html";
  write_report(page.string(), read_metrics(testing::demo_metrics_path()));
  const auto [state, errors] = outcome(rendered_dom(page));
  EXPECT_EQ(state, "ok") << errors;
  EXPECT_EQ(errors, "");

  const fs::path png = fs::path(DEC_BINARY_DIR) / "report.png";
  fs::remove(png);
  EXPECT_TRUE(chromium(page, "--screenshot=" + png.string() + " --window-size=1280,2400",
                       out_dir() / "screenshot.out"));
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 20000u);
  std::printf("report: %s\nscreenshot: %s\n", page.c_str(), png.c_str());
}

TEST_F(Browser, ReportsWithMissingSectionsRender) {
  const fs::path empty = out_dir() / "empty.html";
  write_report(empty.string(), parse_metrics("", "empty.jsonl"));
  EXPECT_EQ(outcome(rendered_dom(empty)), std::make_pair(std::string("ok"), std::string()));

  const fs::path train = out_dir() / "train.html";
  write_report(train.string(),
               parse_metrics(R"({"event":"step","step":1,"epoch":0,"loss":2.3,"step_s":0.05}
{"event":"step","step":2,"epoch":0,"loss":2.0,"step_s":0.04}
{"event":"epoch","epoch":0,"step":2,"train_loss":2.1,"test_loss":1.9,"test_accuracy":0.5}
)",
                             "train.jsonl"));
  EXPECT_EQ(outcome(rendered_dom(train)), std::make_pair(std::string("ok"), std::string()));
}

// The check itself: a failing script marks the page and shows the error.
TEST_F(Browser, ScriptErrorsAreShown) {
  std::string html = render_report(read_metrics(testing::demo_metrics_path()));
  const std::string hook = "Chart.defaults.animation = false;";
  const size_t at = html.find(hook);
  ASSERT_NE(at, std::string::npos);
  html.insert(at + hook.size(), " decNoSuchFunction();");
  const fs::path page = out_dir() / "broken.html";
  write_file_atomic(page.string(), html);
  const auto [state, errors] = outcome(rendered_dom(page));
  EXPECT_EQ(state, "error");
  EXPECT_NE(errors.find("decNoSuchFunction"), std::string::npos) << errors;
}

}  // namespace
}  // namespace dec::report
