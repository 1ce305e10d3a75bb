// The HTML page: inlined Chart.js, embedded data, escaping, missing sections,
// and writing it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/report/embedded.h"
#include "dec/report/html.h"
#include "dec/report/report.h"
#include "fixture.h"

namespace dec::report {
namespace {

using nlohmann::json;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++n;
  return n;
}

// The JSON inside <script type="application/json" id="report-data">.
json page_data(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"report-data\">";
  const size_t begin = page.find(open);
  EXPECT_NE(begin, std::string::npos);
  const size_t end = page.find("</script>", begin);
  return json::parse(page.substr(begin + open.size(), end - begin - open.size()));
}

TEST(Html, ScriptJsonCannotCloseTheScript) {
  const json value = {{"label", "</script><script>alert(1)</script> <!-- & >"}};
  const std::string text = script_json(value);
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  EXPECT_EQ(json::parse(text), value);  // JSON.parse reads the same
  EXPECT_EQ(script_json(json(std::nan(""))), "null");
  EXPECT_EQ(escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(Render, InlinesChartJsAndTheData) {
  const RunRecord run = read_metrics(testing::demo_metrics_path());
  const std::string page = render_report(run);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_GT(embedded::chart_js().size(), 150000u);
  EXPECT_NE(page.find(std::string(embedded::chart_js())), std::string::npos);
  EXPECT_NE(page.find("Chart.js v3."), std::string::npos);
  EXPECT_NE(page.find(std::string(embedded::report_js())), std::string::npos);
  EXPECT_NE(page.find(std::string(embedded::report_css())), std::string::npos);
  // Nothing is fetched: no external scripts, styles or images.
  EXPECT_EQ(page.find("<script src"), std::string::npos);
  EXPECT_EQ(page.find("<link "), std::string::npos);
  EXPECT_EQ(page.find("<img "), std::string::npos);
  EXPECT_NE(page.find("<body data-rendered=\"pending\">"), std::string::npos);
  EXPECT_NE(page.find("id=\"report-errors\""), std::string::npos);
  EXPECT_NE(page.find("<title>DEC run report: S2-fast, W1</title>"), std::string::npos);

  const json data = page_data(page);
  EXPECT_EQ(data["timeline"]["step"], 5);
  EXPECT_EQ(data["timeline"]["nodes"], json({"dev0", "edge0", "cloud"}));
  EXPECT_GT(data["timeline"]["spans"].size(), 20u);
  EXPECT_EQ(data["loss"]["train"].size(), 20u);
  EXPECT_EQ(data["loss"]["test"].size(), 2u);
  EXPECT_EQ(data["accuracy"]["labels"], json({"epoch 1", "epoch 2"}));
  EXPECT_DOUBLE_EQ(data["accuracy"]["accuracy"][1].get<double>(), 71.39);
  EXPECT_EQ(data["times"]["labels"].size(), 7u);
  EXPECT_TRUE(data["times"]["measured"][4].is_null());  // data-parallel was not run
  EXPECT_EQ(data["per_step"]["measured"].size(), 20u);
  EXPECT_EQ(data["breakdown"]["nodes"].size(), 3u);

  // Sections drawn from every event.
  EXPECT_NE(page.find("<svg xmlns"), std::string::npos);  // the plan, inline
  for (const char* id : {"timeline-chart", "loss-chart", "accuracy-chart", "times-chart",
                         "per-step-chart", "breakdown-chart"}) {
    EXPECT_NE(page.find(std::string("<canvas id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_NE(page.find("<b>data-parallel</b>"), std::string::npos);
  EXPECT_NE(page.find("not run"), std::string::npos);
  EXPECT_EQ(page.find("class=\"missing\""), std::string::npos)
      << "nothing is missing in the demo run";
  EXPECT_EQ(render_report(run), page);  // deterministic
}

TEST(Render, EscapesStringsFromTheFile) {
  const std::string evil = "</script><script>alert(1)</script>";
  const RunRecord run = parse_metrics(
      json({{"event", "summary"}, {"scenario", evil}}).dump() + "\n" +
          json({{"event", "trace"},
                {"step", 1},
                {"nodes",
                 {{evil, {{{"kind", "compute"}, {"start_s", 0}, {"end_s", 1}, {"label", evil}}}}}}})
              .dump() +
          "\n",
      "m.jsonl");
  const std::string page = render_report(run);
  // Only the page's own four scripts close: error hook, data, Chart.js, report.js.
  EXPECT_EQ(count(page, "</script>"), 4u);
  EXPECT_EQ(count(page, "<script>alert"), 0u);
  EXPECT_NE(page.find("\\u003c/script\\u003e"), std::string::npos);
  EXPECT_NE(page.find("&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(page_data(page)["timeline"]["spans"][0]["label"], evil);
}

TEST(Render, SaysWhatIsMissing) {
  const std::string page = render_report(parse_metrics("", "empty.jsonl"));
  EXPECT_NE(page.find("No <code>plan</code> event"), std::string::npos);
  EXPECT_NE(page.find("No <code>trace</code> event"), std::string::npos);
  EXPECT_NE(page.find("No <code>summary</code> event"), std::string::npos);
  EXPECT_NE(page.find("no loss curve"), std::string::npos);
  EXPECT_NE(page.find("no accuracy curve"), std::string::npos);
  EXPECT_NE(page.find("nothing to compare"), std::string::npos);
  EXPECT_EQ(page.find("<canvas"), std::string::npos);
  const json data = page_data(page);
  for (const char* key : {"timeline", "loss", "accuracy", "times", "per_step", "breakdown"}) {
    EXPECT_TRUE(data[key].is_null()) << key;
  }
  EXPECT_NE(page.find("<title>DEC run report</title>"), std::string::npos);
}

TEST(Render, SingleNodeTrainRun) {
  // `dec train`'s lines as it writes them (version 2) and as it wrote them (version 1).
  const std::string v2 = R"({"event":"start","format_version":2}
{"event":"iteration","step":1,"epoch":0,"loss":2.3,"measured_s":0.05,"predicted_s":null}
{"event":"iteration","step":2,"epoch":0,"loss":2.0,"measured_s":0.04,"predicted_s":null}
{"event":"epoch","epoch":0,"step":2,"train_loss":2.1,"test_loss":1.9,"test_accuracy":0.5}
)";
  const std::string v1 = R"({"event":"step","step":1,"epoch":0,"loss":2.3,"step_s":0.05}
{"event":"step","step":2,"epoch":0,"loss":2.0,"step_s":0.04}
{"event":"epoch","epoch":0,"step":2,"train_loss":2.1,"test_loss":1.9,"test_accuracy":0.5}
)";
  ReportOptions o;
  o.title = "fmnist <cnn>";
  const std::string page = render_report(parse_metrics(v2, "train.jsonl"), o);
  EXPECT_NE(page.find("<title>fmnist &lt;cnn&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("<canvas id=\"loss-chart\""), std::string::npos);
  EXPECT_NE(page.find("<canvas id=\"accuracy-chart\""), std::string::npos);
  EXPECT_NE(page.find("<canvas id=\"per-step-chart\""), std::string::npos);
  EXPECT_NE(page.find("A single-node run"), std::string::npos);
  EXPECT_EQ(page.find("<canvas id=\"times-chart\""), std::string::npos);
  EXPECT_EQ(render_report(parse_metrics(v1, "train.jsonl"), o), page);
}

TEST(Render, LongRunsAreAveragedToMaxPoints) {
  std::string text;
  for (int s = 1; s <= 5000; ++s) {
    text +=
        json({{"event", "step"}, {"step", s}, {"loss", 1.0 / s}, {"step_s", 0.01}}).dump() + "\n";
  }
  ReportOptions o;
  o.max_points = 100;
  const json data = page_data(render_report(parse_metrics(text, "m"), o));
  EXPECT_EQ(data["loss"]["train"].size(), 100u);
  EXPECT_EQ(data["loss"]["bucket"], 50);
  EXPECT_EQ(data["loss"]["train"][0]["x"], 50);
  EXPECT_NEAR(data["loss"]["train"][99]["y"].get<double>(), 1.0 / 4975, 1e-5);
  o.max_points = 1;
  EXPECT_THROW(render_report(parse_metrics(text, "m"), o), ConfigError);
}

TEST(WriteReport, WritesAtomically) {
  const std::filesystem::path dir = std::filesystem::path(DEC_BINARY_DIR) / "report_test_out";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const RunRecord run = read_metrics(testing::demo_metrics_path());
  const std::string path = (dir / "report.html").string();
  write_report(path, run);
  EXPECT_EQ(read_file(path), render_report(run));
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1u) << "no temp file left behind";
  EXPECT_THROW(write_report((dir / "missing" / "report.html").string(), run), IoError);
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
}

}  // namespace
}  // namespace dec::report
