// Plan JSON: round trip, versions (current, previous, unknown), invariants;
// Plan <-> Structure.
#include "dec/planner/plan.h"

#include <gtest/gtest.h>

#include "dec/core/error.h"
#include "dec/planner/describe.h"
#include "dec/planner/planner.h"
#include "dec/planner/summary.h"
#include "dec/planner/svg.h"
#include "random_instance.h"

namespace dec::planner {
namespace {

Plan some_plan(uint64_t seed) {
  for (;; ++seed) {
    const auto c = testing::random_case(seed);
    PlannerOptions o;
    o.time_limit_s = 10;
    try {
      Plan p = make_plan(c.instance, o);
      p.cluster_sha256 = "abc";
      p.profiles = {{"", "profile.json", "def"}};
      if (p.paths.size() >= 2) return p;
    } catch (const PlanInfeasible&) {
    }
  }
}

TEST(PlanJson, RoundTrips) {
  for (uint64_t seed : {11u, 40u, 77u}) {
    const Plan p = some_plan(seed);
    const std::string text = to_json(p);
    const Plan q = plan_from_json(text, "plan.json");
    EXPECT_EQ(to_json(q), text);
    EXPECT_EQ(q.paths.size(), p.paths.size());
    EXPECT_EQ(q.baselines.size(), p.baselines.size());
    EXPECT_EQ(q.paths[0].ranges, p.paths[0].ranges);
    EXPECT_DOUBLE_EQ(q.prediction.iteration_s, p.prediction.iteration_s);
    EXPECT_EQ(q.solver->status, p.solver->status);
  }
}

TEST(PlanJson, PlanAndStructureRoundTrip) {
  const auto c = testing::random_case(5);
  const Plan p = make_plan(c.instance);
  const Structure s = structure_of(c.instance, p);
  const Plan again = describe(c.instance, s, "dec");
  EXPECT_EQ(to_json(again), to_json([&] {
              Plan x = p;
              x.solver.reset();
              x.baselines.clear();
              return x;
            }()));
}

// `text` with its first `from` replaced by `to`.
std::string edited(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

// `text` with the plan's and every baseline's format_version set to `v`.
std::string with_version(std::string text, const std::string& v) {
  const std::string current = str("\"format_version\": ", kPlanFormatVersion);
  for (size_t at = text.find(current); at != std::string::npos; at = text.find(current, at))
    text.replace(at, current.size(), "\"format_version\": " + v);
  return text;
}

TEST(PlanJson, RejectsBrokenPlans) {
  const std::string good = to_json(some_plan(11));
  auto expect_corrupt = [&](std::string text, const std::string& why) {
    try {
      plan_from_json(text, "p.json");
      FAIL() << why;
    } catch (const CorruptFile& e) {
      EXPECT_EQ(e.where_part(), "p.json");
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  expect_corrupt("{", "not JSON");
  expect_corrupt(edited(good, "\"paths\"", "\"pathz\""), "missing field 'paths'");
  expect_corrupt(edited(good, "\"format_version\"", "\"format_versio\""), "missing field 'format_version'");
}

TEST(PlanJson, WritesTheCurrentVersion) {
  Plan p = some_plan(11);
  p.format_version = 1;  // as read from an older plan: written at the current version all the same
  const std::string text = to_json(p);
  EXPECT_NE(text.find(str("\"format_version\": ", kPlanFormatVersion, ",")), std::string::npos) << text;
  EXPECT_EQ(plan_from_json(text, "p.json").format_version, kPlanFormatVersion);
}

// One line naming the file, the plan's version and the versions this dec reads.
TEST(PlanJson, RefusesAnUnknownVersion) {
  const std::string good = to_json(some_plan(11));
  const std::string reads = str("; this dec reads ", kOldestPlanFormatVersion, " to ", kPlanFormatVersion);
  for (const std::string v : {"9", "0", "-1", "1.5", "\"2\"", "null"}) {
    try {
      plan_from_json(with_version(good, v), "p.json");
      ADD_FAILURE() << "accepted format_version " << v;
    } catch (const CorruptFile& e) {
      EXPECT_EQ(e.what_part(), "unsupported plan format");
      EXPECT_EQ(e.where_part(), "p.json");
      EXPECT_EQ(e.why_part(), "format_version " + v + reads);
    }
  }
}

// Version 1 had no prediction.overlap_s: a plan written before the
// early-backward term still loads, with nothing overlapped. Later version-1
// plans carry it, and version 2 requires it; a value must be a number.
TEST(PlanJson, ReadsThePreviousVersion) {
  Plan p = some_plan(11);
  p.prediction.overlap_s = 0.25;
  const std::string text = to_json(p);
  const std::string overlap = ",\n    \"overlap_s\": 0.25";
  const std::string v1 = with_version(text, "1");
  const Plan old = plan_from_json(edited(v1, overlap, ""), "old.json");
  EXPECT_EQ(old.format_version, 1);
  EXPECT_EQ(old.prediction.overlap_s, 0);
  EXPECT_EQ(old.paths.size(), p.paths.size());
  EXPECT_EQ(old.baselines.size(), p.baselines.size());
  EXPECT_EQ(plan_from_json(v1, "v1.json").prediction.overlap_s, 0.25);
  EXPECT_EQ(plan_from_json(text, "new.json").prediction.overlap_s, 0.25);
  EXPECT_THROW(plan_from_json(edited(text, overlap, ""), "v2.json"), CorruptFile);
  EXPECT_THROW(plan_from_json(edited(text, "\"overlap_s\": 0.25", "\"overlap_s\": \"x\""), "bad.json"),
               CorruptFile);
}

TEST(PlanJson, StructureOfRejectsAForeignPlan) {
  const auto a = testing::random_case(5);
  Plan p = make_plan(a.instance);
  p.paths[0].nodes[0] = "nowhere";
  EXPECT_THROW(structure_of(a.instance, p), Mismatch);
}

TEST(PlanRendering, SummaryAndSvgNameEveryNode) {
  const Plan p = some_plan(23);
  const std::string text = summarize(p), svg = render_svg(p);
  for (const auto& n : p.nodes) {
    EXPECT_NE(text.find(n.name), std::string::npos) << n.name;
  }
  for (const auto& b : p.baselines) EXPECT_NE(text.find(b.kind), std::string::npos) << b.kind;
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find(p.paths[0].source), std::string::npos);
}

}  // namespace
}  // namespace dec::planner
