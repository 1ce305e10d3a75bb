// Reading metrics files: every event kind, missing parts, and corrupt lines.
#include "dec/report/run_record.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dec/core/error.h"
#include "fixture.h"

namespace dec::report {
namespace {

// Expects parse_metrics(text) to throw CorruptFile at "m.jsonl:<line>" with
// `why` in the message, on one line.
void expect_corrupt(const std::string& text, int line, const std::string& why) {
  try {
    parse_metrics(text, "m.jsonl");
    ADD_FAILURE() << "no error for: " << text;
  } catch (const CorruptFile& e) {
    EXPECT_EQ(e.where_part(), "m.jsonl:" + std::to_string(line)) << e.what();
    EXPECT_NE(e.why_part().find(why), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(RunRecord, ReadsTheDemoRun) {
  const RunRecord r = read_metrics(testing::demo_metrics_path());
  EXPECT_EQ(r.source, testing::demo_metrics_path());
  EXPECT_EQ(r.lines, 31);
  EXPECT_EQ(r.format_version, 1);  // recorded before the start event existed
  EXPECT_EQ(r.ignored, 1);  // the checkpoint event
  EXPECT_FALSE(r.single_node);
  ASSERT_TRUE(r.plan.has_value());
  EXPECT_EQ(r.plan->cluster, "S2-fast");
  EXPECT_EQ(r.plan->paths.size(), 2u);
  EXPECT_EQ(r.plan->baselines.size(), 6u);
  EXPECT_NEAR(r.plan->prediction.iteration_s, 0.33366, 1e-5);

  ASSERT_EQ(r.iterations.size(), 20u);
  const Iteration& first = r.iterations.front();
  EXPECT_EQ(first.step, 1);
  EXPECT_EQ(first.epoch, 0);
  EXPECT_DOUBLE_EQ(first.measured_s, 1.214);  // warm-up
  EXPECT_DOUBLE_EQ(first.predicted_s, r.plan->prediction.iteration_s);
  ASSERT_EQ(first.nodes.size(), 3u);
  EXPECT_EQ(first.nodes.at("edge0").loss_samples, 55);
  EXPECT_GT(first.nodes.at("cloud").sync_wait_s, 0);
  EXPECT_EQ(first.bytes_sent.at("dev0->edge0"), 201216);
  EXPECT_EQ(r.iterations.back().step, 20);
  EXPECT_EQ(r.iterations.back().epoch, 1);

  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_EQ(r.epochs[1].epoch, 1);
  EXPECT_EQ(r.epochs[1].step, 20);
  EXPECT_DOUBLE_EQ(r.epochs[1].test_accuracy, 0.7139);
  EXPECT_TRUE(std::isnan(r.epochs[1].train_loss));  // a distributed job does not record it

  ASSERT_TRUE(r.trace.has_value());
  EXPECT_EQ(r.trace->step, 5);
  ASSERT_EQ(r.trace->nodes.size(), 3u);
  EXPECT_EQ(r.trace->nodes[0].first, "dev0");  // file order, not sorted
  EXPECT_EQ(r.trace->nodes[0].second.front().kind, "send");
  EXPECT_EQ(r.trace->nodes[0].second.front().label, "fwd p0 mb0 input -> edge0");

  ASSERT_EQ(r.baselines.size(), 5u);
  EXPECT_EQ(r.baselines[0].kind, "device-only");
  EXPECT_EQ(r.baselines[0].iterations, 3);
  EXPECT_DOUBLE_EQ(r.baselines[0].measured_s, 1.121);

  ASSERT_GE(r.summary.size(), 3u);
  EXPECT_EQ(r.summary[0], std::make_pair(std::string("scenario"), std::string("S2-fast")));
  EXPECT_EQ(r.summary[1].first, "workload");
  bool saw_batch = false, saw_emulated = false;
  for (const auto& [k, v] : r.summary) {
    if (k == "batch") saw_batch = v == "64";
    if (k == "emulated") saw_emulated = v == "true";
    EXPECT_NE(k, "event");
    EXPECT_NE(k, "time");
  }
  EXPECT_TRUE(saw_batch);
  EXPECT_TRUE(saw_emulated);
  EXPECT_DOUBLE_EQ(r.first_time, 1732262400.0);
  EXPECT_GT(r.last_time, r.first_time + 10);
}

TEST(RunRecord, ReadsTheCurrentVersion) {
  // `dec train` as it writes today, a later run appended (its own start event).
  const RunRecord r = parse_metrics(
      R"({"event":"start","time":1,"format_version":2,"dec_version":"0.1.0"}
{"event":"iteration","time":2,"step":1,"epoch":0,"loss":2.3,"measured_s":0.05,"predicted_s":null,"batch":64}
{"event":"iteration","time":3,"step":2,"epoch":0,"loss":2.1,"measured_s":0.04,"predicted_s":null,"batch":64}
{"event":"epoch","time":4,"epoch":0,"step":2,"train_loss":2.2,"test_loss":2.0,"test_accuracy":0.4,"seconds":0.09}
{"event":"start","time":5,"format_version":2,"dec_version":"0.1.0"}
{"event":"iteration","time":6,"step":3,"epoch":0,"loss":2.0,"measured_s":0.06,"predicted_s":null,"batch":64}
)",
      "train.jsonl");
  EXPECT_EQ(r.format_version, 2);
  EXPECT_EQ(r.lines, 6);
  EXPECT_EQ(r.ignored, 0);
  EXPECT_TRUE(r.single_node);
  ASSERT_EQ(r.iterations.size(), 3u);
  EXPECT_DOUBLE_EQ(r.iterations[1].measured_s, 0.04);
  EXPECT_TRUE(std::isnan(r.iterations[1].predicted_s));
  EXPECT_EQ(r.iterations[2].step, 3);
  ASSERT_EQ(r.epochs.size(), 1u);
  EXPECT_DOUBLE_EQ(r.epochs[0].train_loss, 2.2);
  // A job's iterations carry a prediction: not a single-node run.
  EXPECT_FALSE(parse_metrics(R"({"event":"start","format_version":2}
{"event":"iteration","step":1,"measured_s":0.5,"predicted_s":0.4}
)",
                             "m.jsonl")
                   .single_node);
}

TEST(RunRecord, RefusesAnUnknownVersionInOneLine) {
  auto message = [](const std::string& text) {
    try {
      parse_metrics(text, "m.jsonl");
    } catch (const CorruptFile& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("{\"event\":\"start\",\"format_version\":9}\n{\"event\":\"x\",\"y\":[}\n"),
            "unsupported metrics format (m.jsonl:1): format_version 9; this dec reads 1 to 2");
  // A later writer's lines in a version this dec does not read, appended to a known one.
  EXPECT_EQ(message("{\"event\":\"start\",\"format_version\":2}\n"
                    "{\"event\":\"iteration\",\"step\":1}\n"
                    "{\"event\":\"start\",\"format_version\":3}\n"),
            "unsupported metrics format (m.jsonl:3): format_version 3; this dec reads 1 to 2");
  EXPECT_EQ(message("{\"event\":\"start\",\"format_version\":0}\n"),
            "unsupported metrics format (m.jsonl:1): format_version 0; this dec reads 1 to 2");
  expect_corrupt("{\"event\":\"start\"}\n", 1, "missing field 'format_version'");
}

TEST(RunRecord, ReadsThePreviousVersionsTrainSteps) {
  const RunRecord r = parse_metrics(
      R"({"event":"step","time":1,"step":1,"epoch":0,"loss":2.3,"batch":64,"step_s":0.05,"samples_per_s":1280}
{"event":"step","time":2,"step":2,"epoch":0,"loss":2.1,"batch":64,"step_s":0.04,"samples_per_s":1400}
{"event":"epoch","time":3,"epoch":0,"step":2,"train_loss":2.2,"test_loss":2.0,"test_accuracy":0.4,"seconds":0.09}
)",
      "train.jsonl");
  EXPECT_EQ(r.format_version, 1);  // `dec train` before the start event: step events
  EXPECT_TRUE(r.single_node);
  ASSERT_EQ(r.iterations.size(), 2u);
  EXPECT_DOUBLE_EQ(r.iterations[1].loss, 2.1);
  EXPECT_DOUBLE_EQ(r.iterations[1].measured_s, 0.04);
  EXPECT_TRUE(std::isnan(r.iterations[1].predicted_s));
  ASSERT_EQ(r.epochs.size(), 1u);
  EXPECT_DOUBLE_EQ(r.epochs[0].train_loss, 2.2);
  EXPECT_FALSE(r.plan.has_value());
  EXPECT_FALSE(r.trace.has_value());
  EXPECT_TRUE(r.baselines.empty());
  EXPECT_TRUE(r.summary.empty());
}

TEST(RunRecord, EmptyFileAndUnknownEvents) {
  const RunRecord empty = parse_metrics("", "m.jsonl");
  EXPECT_EQ(empty.lines, 0);
  EXPECT_EQ(empty.format_version, 0);
  EXPECT_TRUE(std::isnan(empty.first_time));
  const RunRecord other = parse_metrics(
      "{\"event\":\"checkpoint\",\"path\":\"x\"}\n\n  \n{\"event\":\"x\"}", "m.jsonl");
  EXPECT_EQ(other.lines, 2);
  EXPECT_EQ(other.ignored, 2);
  EXPECT_TRUE(other.iterations.empty());
}

TEST(RunRecord, MissingAndNullNumbersReadAsNaN) {
  const RunRecord r = parse_metrics(
      R"({"event":"iteration","step":3,"loss":null}
{"event":"baseline","kind":"cloud-only","predicted_s":0.5,"measured_s":null,"iterations":0,"note":"not run"}
{"event":"epoch","epoch":0}
)",
      "m.jsonl");
  ASSERT_EQ(r.iterations.size(), 1u);
  EXPECT_TRUE(std::isnan(r.iterations[0].loss));
  EXPECT_TRUE(std::isnan(r.iterations[0].measured_s));
  EXPECT_TRUE(r.iterations[0].nodes.empty());
  ASSERT_EQ(r.baselines.size(), 1u);
  EXPECT_TRUE(std::isnan(r.baselines[0].measured_s));
  EXPECT_EQ(r.baselines[0].note, "not run");
  EXPECT_TRUE(std::isnan(r.epochs[0].test_accuracy));
}

TEST(RunRecord, LaterRecordsReplaceEarlierOnes) {
  const RunRecord r = parse_metrics(
      R"({"event":"baseline","kind":"cloud-only","predicted_s":0.5,"measured_s":0.7}
{"event":"baseline","kind":"edge-only","predicted_s":0.4,"measured_s":0.6}
{"event":"baseline","kind":"cloud-only","predicted_s":0.5,"measured_s":0.65}
{"event":"summary","scenario":"S1","workload":"W1"}
{"event":"summary","scenario":"S2","seed":3}
{"event":"trace","step":1,"nodes":{"a":[]}}
{"event":"trace","step":9,"nodes":{"b":[{"kind":"compute","start_s":0,"end_s":1}]}}
)",
      "m.jsonl");
  ASSERT_EQ(r.baselines.size(), 2u);
  EXPECT_EQ(r.baselines[0].kind, "cloud-only");
  EXPECT_DOUBLE_EQ(r.baselines[0].measured_s, 0.65);
  const std::vector<std::pair<std::string, std::string>> summary = {
      {"scenario", "S2"}, {"workload", "W1"}, {"seed", "3"}};
  EXPECT_EQ(r.summary, summary);
  ASSERT_TRUE(r.trace.has_value());
  EXPECT_EQ(r.trace->step, 9);
  EXPECT_EQ(r.trace->nodes[0].second[0].label, "");
}

TEST(RunRecord, CorruptLinesNameFileAndLine) {
  const std::string ok = "{\"event\":\"iteration\",\"step\":1,\"loss\":2}\n";
  expect_corrupt(ok + "\n" + "{\"event\":\"iteration\",\"step\":2,\"lo", 3, "not JSON");
  expect_corrupt(ok + "[1, 2]\n", 2, "must be a JSON object");
  expect_corrupt(ok + "{\"step\":2}\n", 2, "missing field 'event'");
  expect_corrupt("{\"event\":7}\n", 1, "field 'event' must be a string");
  expect_corrupt("{\"event\":\"iteration\",\"loss\":2}\n", 1, "missing field 'step'");
  expect_corrupt("{\"event\":\"iteration\",\"step\":1.5}\n", 1, "field 'step' must be an integer");
  expect_corrupt("{\"event\":\"iteration\",\"step\":1,\"loss\":\"low\"}\n", 1,
                 "field 'loss' must be a number");
  expect_corrupt("{\"event\":\"iteration\",\"step\":1,\"nodes\":{\"cloud\":{\"wall_s\":\"x\"}}}\n",
                 1, "field 'nodes.cloud.wall_s' must be a number");
  expect_corrupt("{\"event\":\"iteration\",\"step\":1,\"bytes_sent\":[1]}\n", 1,
                 "field 'bytes_sent' must be an object");
  expect_corrupt("{\"event\":\"epoch\",\"epoch\":0,\"test_accuracy\":true}\n", 1,
                 "'test_accuracy' must be a number");
  expect_corrupt("{\"event\":\"trace\",\"step\":1,\"nodes\":{\"a\":{}}}\n", 1,
                 "must be an array of spans");
  expect_corrupt(
      "{\"event\":\"trace\",\"nodes\":{\"a\":[{\"kind\":\"send\",\"start_s\":2,\"end_s\":1}]}}\n",
      1, "needs start_s <= end_s");
  expect_corrupt("{\"event\":\"trace\",\"nodes\":{\"a\":[{\"start_s\":0,\"end_s\":1}]}}\n", 1,
                 "missing field 'nodes.a[0].kind'");
  expect_corrupt("{\"event\":\"baseline\",\"measured_s\":1}\n", 1, "missing field 'kind'");
  expect_corrupt("{\"event\":\"plan\",\"plan\":3}\n", 1, "field 'plan' must be an object");
  // The plan's own reader checks the plan and names the same line.
  expect_corrupt(ok + ok + "{\"event\":\"plan\",\"plan\":{\"format_version\":9}}\n", 3,
                 "format_version 9");
}

TEST(RunRecord, MissingFileIsAnIoError) {
  EXPECT_THROW(read_metrics("/nonexistent/metrics.jsonl"), IoError);
}

}  // namespace
}  // namespace dec::report
