// Plan JSON: round trip, versioning, invariants; Plan <-> Structure.
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
  std::string v2 = good;
  v2.replace(v2.find("\"format_version\": 1"), 19, "\"format_version\": 9");
  expect_corrupt(v2, "format_version 9");
  std::string no_paths = good;
  no_paths.replace(no_paths.find("\"paths\""), 7, "\"pathz\"");
  expect_corrupt(no_paths, "missing field 'paths'");
}

// Plans written before the early-backward term have no prediction.overlap_s:
// nothing was overlapped then. A value that is there must still be a number.
TEST(PlanJson, ReadsAMissingOverlapAsNone) {
  Plan p = some_plan(11);
  p.prediction.overlap_s = 0.25;
  const std::string text = to_json(p);
  const size_t at = text.find(",\n    \"overlap_s\": 0.25");
  ASSERT_NE(at, std::string::npos) << text;
  std::string old = text;
  old.erase(at, std::string(",\n    \"overlap_s\": 0.25").size());
  EXPECT_EQ(plan_from_json(old, "old.json").prediction.overlap_s, 0);
  EXPECT_EQ(plan_from_json(text, "new.json").prediction.overlap_s, 0.25);
  std::string bad = text;
  bad.replace(bad.find("\"overlap_s\": 0.25"), 17, "\"overlap_s\": \"x\"");
  EXPECT_THROW(plan_from_json(bad, "bad.json"), CorruptFile);
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
