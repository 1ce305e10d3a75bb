// The retention policy (runtime/retention.h) on a fake clock: two simulated
// years of checkpoints every 6 hours, pruned every day, against counts worked
// out by hand, and its properties at every prune.
#include "dec/runtime/retention.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "dec/core/error.h"

namespace dec::runtime {
namespace {

constexpr int64_t kHour = 3600, kDay = 86400;

int64_t at(const char* text) {
  auto t = parse_utc_time(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(0);
}

TEST(Retention, CalendarLabels) {
  EXPECT_EQ(time_label(0), "1970-01-01 00:00:00");
  EXPECT_EQ(time_label(at("2026-12-07T10:11:12Z")), "2026-12-07 10:11:12");
  EXPECT_EQ(day_label(at("2024-02-29T23:59:59")), "2024-02-29");
  EXPECT_EQ(month_label(at("2026-12-31")), "2026-12");
  // ISO weeks: 2026 has 53; 2025-12-29 (a Monday) begins 2026-W01.
  EXPECT_EQ(week_label(at("2026-12-31")), "2026-W53");
  EXPECT_EQ(week_label(at("2027-01-03T23:59:59")), "2026-W53");
  EXPECT_EQ(week_label(at("2027-01-04")), "2027-W01");
  EXPECT_EQ(week_label(at("2025-12-29")), "2026-W01");
  EXPECT_EQ(week_label(at("2025-12-28")), "2025-W52");
  EXPECT_EQ(week_label(at("1970-01-01")), "1970-W01");
  EXPECT_EQ(iso_week(at("2026-12-07")), iso_week(at("2026-12-13T23:59:59")));
  EXPECT_EQ(iso_week(at("2026-12-07")), iso_week(at("2026-12-06T23:59:59")) + 1);
  EXPECT_EQ(utc_month(at("2026-12-01")) - utc_month(at("2025-12-31")), 12);
  EXPECT_EQ(utc_day(-1), -1);  // before the epoch: floor, not truncation
}

TEST(Retention, ParsesUtcTimesAndRefusesOthers) {
  EXPECT_EQ(parse_utc_time("1970-01-02"), kDay);
  EXPECT_EQ(parse_utc_time("1970-01-01T01:00:00Z"), kHour);
  EXPECT_EQ(parse_utc_time("1970-01-01 00:00:30"), 30);
  for (const char* bad : {"", "2026-13-01", "2026-02-30", "2026-12-07T25:00:00", "yesterday",
                          "2026-12-07T10:00", "2026-12-07Zx"}) {
    EXPECT_FALSE(parse_utc_time(bad).has_value()) << bad;
  }
}

TEST(Retention, RefusesAPolicyWithoutHotCheckpoints) {
  RetentionPolicy p;
  p.hot = 0;
  try {
    decide_retention({}, 0, p);
    FAIL() << "hot 0 accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where_part(), "--hot");
  }
  EXPECT_THROW(decide_retention({{1, 0}, {1, 5}}, 10, RetentionPolicy{}), InternalError);
}

TEST(Retention, LatestAndNewestAreKeptAndPartialsOnlyWhenStale) {
  RetentionPolicy p;
  p.hot = 1;
  p.daily_days = 0;
  p.weekly_weeks = 0;
  p.monthly = false;
  const int64_t t0 = at("2026-01-10");
  // Steps 100..400 an hour apart; `latest` names 200 (a run resumed from it).
  std::vector<RetentionInput> in = {
      {100, t0},
      {200, t0 + kHour},
      {300, t0 + 2 * kHour},
      {400, t0 + 3 * kHour},
      {250, t0 + 90 * 60, false},     // killed save, older: removed
      {500, t0 + 4 * kHour, false},   // save in progress: left alone
      {350, t0 + 5 * kHour, false}};  // lower step but newer: left alone
  const auto d = decide_retention(in, t0 + 6 * kHour, p, 200);
  EXPECT_EQ(d[0].tier, Tier::kRemove);
  EXPECT_EQ(d[1].tier, Tier::kHot);
  EXPECT_EQ(d[1].kept_by, std::vector<std::string>{"latest"});
  EXPECT_EQ(d[2].tier, Tier::kRemove);
  EXPECT_EQ(d[3].tier, Tier::kHot);
  EXPECT_EQ(d[3].kept_by, (std::vector<std::string>{"newest", "hot 1/1"}));
  EXPECT_EQ(d[4].tier, Tier::kRemove);
  EXPECT_TRUE(d[4].kept_by.empty());
  EXPECT_EQ(d[5].tier, Tier::kInProgress);
  EXPECT_EQ(d[6].tier, Tier::kInProgress);
}

TEST(Retention, ARepresentativeIsTheNewestOfItsDayWeekAndMonth) {
  const int64_t t = at("2026-12-06T10:00:00");  // a Sunday
  std::vector<RetentionInput> in = {{10, t},
                                    {20, t + kHour},
                                    {30, t + 2 * kHour},
                                    {40, t + 15 * kDay}};  // ... and one two weeks later
  RetentionPolicy p;
  p.hot = 1;
  const auto d = decide_retention(in, t + 16 * kDay, p);
  EXPECT_EQ(d[2].tier, Tier::kWarm);
  EXPECT_EQ(d[2].kept_by, (std::vector<std::string>{"day 2026-12-06", "week 2026-W49"}));
  EXPECT_EQ(d[0].tier, Tier::kRemove);
  EXPECT_EQ(d[1].tier, Tier::kRemove);
  EXPECT_EQ(d[3].kept_by, (std::vector<std::string>{"newest", "hot 1/1", "day 2026-12-21",
                                                    "week 2026-W52", "month 2026-12"}));
  // A year later the Sunday's is neither a recent day nor a recent week, nor its
  // month's newest: it goes; the month's newest stays, cold.
  const auto later = decide_retention(in, t + 365 * kDay, p);
  EXPECT_EQ(later[2].tier, Tier::kRemove);
  EXPECT_EQ(later[3].tier, Tier::kHot);
}

// Two years, 2025-01-01 to 2026-12-31 (730 days), a checkpoint at 00, 06, 12
// and 18 UTC each day, a prune at 23:00 each day that drops what the policy
// removes. At every prune:
//   - the newest checkpoint is kept, and hot;
//   - deciding again on what was kept keeps everything, with the same tiers;
//   - the decision equals the one on every checkpoint ever made, so nothing
//     removed is ever wanted back (a removed step can only stay removed);
//   - a checkpoint's tier only moves down: hot, warm, cold, removed.
// At the end (Thursday 2026-12-31 23:00, ISO 2026-W53), by hand:
//   hot  5  12-31 at 18, 12, 06, 00 and 12-30 18:00;
//   warm 28 the days 12-02..12-31 (30 days) at 18:00, less 12-30 and 12-31 (hot);
//   cold 44 = 21 weeks + 23 months:
//        26 weeks W28..W53 of 2026: W53's is the newest (hot), the Sundays of
//        W49..W52 (12-06..12-27) are warm days, W28..W48 (Sundays 07-12..11-29)
//        are cold: 21;
//        24 months: December 2026's is the newest (hot), the 23 others' last
//        days at 18:00 are cold; none of them is a Sunday of W28..W48 (07-31 is
//        a Friday, 08-31 a Monday, 09-30 a Wednesday, 10-31 a Saturday, 11-30 a
//        Monday), so none is counted twice: 23.
TEST(Retention, TwoYearsOnAFakeClock) {
  const RetentionPolicy policy;  // hot 5, 30 days, 26 weeks, every month
  const int64_t start = at("2025-01-01");
  std::vector<RetentionInput> all, kept;
  std::map<int64_t, int> tier_of;  // step -> the lowest tier it has had
  std::set<int64_t> removed;
  int64_t step = 0;
  for (int day = 0; day < 730; ++day) {
    for (int h = 0; h < 24; h += 6) {
      step += 100;
      all.push_back({step, start + day * kDay + h * kHour});
      kept.push_back(all.back());
    }
    const int64_t now = start + day * kDay + 23 * kHour;
    const auto d = decide_retention(kept, now, policy);
    std::map<int64_t, Tier> by_step;
    for (size_t i = 0; i < kept.size(); ++i) by_step[kept[i].step] = d[i].tier;
    ASSERT_EQ(by_step[step], Tier::kHot) << "day " << day;
    if (day % 7 == 0 || day == 729) {  // every checkpoint ever made: quadratic, so weekly
      const auto full = decide_retention(all, now, policy);
      for (size_t i = 0; i < all.size(); ++i) {
        const auto it = by_step.find(all[i].step);
        ASSERT_EQ(it == by_step.end() ? Tier::kRemove : it->second, full[i].tier)
            << "step " << all[i].step << " day " << day;
      }
    }
    std::vector<RetentionInput> next;
    for (size_t i = 0; i < kept.size(); ++i) {
      const int t = static_cast<int>(d[i].tier);
      auto [it, fresh] = tier_of.emplace(kept[i].step, t);
      ASSERT_GE(t, it->second) << "step " << kept[i].step << " moved up a tier on day " << day;
      it->second = t;
      if (d[i].tier == Tier::kRemove) {
        ASSERT_TRUE(removed.insert(kept[i].step).second);
      } else {
        next.push_back(kept[i]);
      }
    }
    kept = next;
    const auto again = decide_retention(kept, now, policy);
    for (size_t i = 0; i < kept.size(); ++i) {
      ASSERT_EQ(again[i].tier, by_step[kept[i].step]) << "unstable: step " << kept[i].step;
    }
  }
  for (const auto& c : kept) ASSERT_EQ(removed.count(c.step), 0u);
  const auto d = decide_retention(kept, start + 729 * kDay + 23 * kHour, policy);
  std::map<Tier, int> count;
  for (const auto& x : d) ++count[x.tier];
  EXPECT_EQ(count[Tier::kHot], 5);
  EXPECT_EQ(count[Tier::kWarm], 28);
  EXPECT_EQ(count[Tier::kCold], 44);
  EXPECT_EQ(count[Tier::kRemove], 0);
  EXPECT_EQ(kept.size(), 77u);
  int weekly = 0, monthly = 0;
  for (const auto& x : d) {
    if (x.tier != Tier::kCold) continue;
    for (const auto& why : x.kept_by) {
      weekly += why.rfind("week ", 0) == 0;
      monthly += why.rfind("month ", 0) == 0;
    }
  }
  EXPECT_EQ(weekly, 21);
  EXPECT_EQ(monthly, 23);
}

}  // namespace
}  // namespace dec::runtime
