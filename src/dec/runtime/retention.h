// Checkpoint retention tiers (docs/checkpoint.md, "Retention"): which checkpoints
// a keeper holds, and in which form, as a pure function of the checkpoints and
// the time. No file is touched here; checkpoint_tiers.h applies the decisions.
//
// The rules, over the complete checkpoints ordered newest first by (completion
// time, step); all calendar arithmetic is UTC:
//   hot      the `hot` newest checkpoints, plus always the newest one and the
//            one `latest` names (what resume and `dec export` open). Uncompressed.
//   warm     the representative of each of the `daily_days` most recent calendar
//            days, today included. Uncompressed.
//   cold     the representative of each of the `weekly_weeks` most recent ISO
//            weeks (Monday to Sunday), this week included, and of every calendar
//            month, for ever. Compressed (zstd).
// A day's, week's or month's representative is its newest complete checkpoint
// (greatest completion time, then greatest step). The newest of a week or month
// is also the newest of its day, so a checkpoint's tier only ever moves down:
// hot, warm, cold, removed. Deciding again on the checkpoints a decision kept
// gives the same decision, and the same as deciding on every checkpoint ever
// made (what was removed is never wanted back).
//
// Incomplete checkpoints (a save in progress or killed) are never counted. One
// is removed only when it is older than the newest complete checkpoint, both by
// step and by time: a later save still being written is left alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dec::runtime {

struct RetentionPolicy {
  int hot = 5;            // newest checkpoints kept uncompressed; >= 1
  int daily_days = 30;    // calendar days with one checkpoint each (warm); >= 0
  int weekly_weeks = 26;  // ISO weeks with one checkpoint each (cold); >= 0
  bool monthly = true;    // one checkpoint per calendar month for ever (cold)
};

// Throws ConfigError naming the field when a policy is out of range.
void validate(const RetentionPolicy& policy);

struct RetentionInput {
  int64_t step = 0;
  int64_t completed_at = 0;  // seconds since the Unix epoch, UTC (an incomplete one's last change)
  bool complete = true;
};

enum class Tier { kHot, kWarm, kCold, kRemove, kInProgress };
const char* tier_name(Tier t);  // "hot", "warm", "cold", "remove", "in progress"

struct RetentionDecision {
  Tier tier = Tier::kRemove;
  // Every rule that keeps it, strongest first: "newest", "latest", "hot 3/5",
  // "day 2026-12-07", "week 2026-W49", "month 2026-12"; empty when removed.
  std::vector<std::string> kept_by;
};

// One decision per input, in the input's order. `latest_step` is the step the
// root's `latest` pointer names, if any. Several complete inputs of one step
// are a caller's error (InternalError).
std::vector<RetentionDecision> decide_retention(const std::vector<RetentionInput>& checkpoints,
                                                int64_t now, const RetentionPolicy& policy,
                                                std::optional<int64_t> latest_step = std::nullopt);

// Calendar helpers (UTC), exposed for listings and tests.
int64_t utc_day(int64_t t);          // days since 1970-01-01
int64_t iso_week(int64_t t);         // weeks since Monday 1969-12-29
int64_t utc_month(int64_t t);        // year * 12 + month - 1
std::string day_label(int64_t t);    // "2026-12-07"
std::string week_label(int64_t t);   // "2026-W49" (ISO week-numbering year)
std::string month_label(int64_t t);  // "2026-12"
std::string time_label(int64_t t);   // "2026-12-07 10:00:00"
// Parses "2026-12-07", "2026-12-07T10:00:00" or "...Z" (UTC); nullopt otherwise.
std::optional<int64_t> parse_utc_time(const std::string& text);

}  // namespace dec::runtime
