#include "dec/runtime/retention.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "dec/core/error.h"

namespace dec::runtime {

namespace {

constexpr int64_t kDay = 86400;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Proleptic Gregorian calendar <-> days since 1970-01-01 (H. Hinnant's algorithms).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t year;
  int month, day;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

// Newest first: completion time, then step.
bool newer(const RetentionInput& a, const RetentionInput& b) {
  if (a.completed_at != b.completed_at) return a.completed_at > b.completed_at;
  return a.step > b.step;
}

}  // namespace

void validate(const RetentionPolicy& p) {
  DEC_CHECK(p.hot >= 1, ConfigError, "invalid retention policy", "--hot",
            "must be at least 1 (the newest checkpoint is always kept), got ", p.hot);
  DEC_CHECK(p.daily_days >= 0, ConfigError, "invalid retention policy", "daily_days",
            "must not be negative, got ", p.daily_days);
  DEC_CHECK(p.weekly_weeks >= 0, ConfigError, "invalid retention policy", "weekly_weeks",
            "must not be negative, got ", p.weekly_weeks);
}

const char* tier_name(Tier t) {
  switch (t) {
    case Tier::kHot:
      return "hot";
    case Tier::kWarm:
      return "warm";
    case Tier::kCold:
      return "cold";
    case Tier::kRemove:
      return "remove";
    case Tier::kInProgress:
      return "in progress";
  }
  return "?";
}

int64_t utc_day(int64_t t) { return floor_div(t, kDay); }
int64_t iso_week(int64_t t) { return floor_div(utc_day(t) + 3, 7); }
int64_t utc_month(int64_t t) {
  const Civil c = civil_from_days(utc_day(t));
  return c.year * 12 + c.month - 1;
}

std::string day_label(int64_t t) {
  const Civil c = civil_from_days(utc_day(t));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(c.year), c.month,
                c.day);
  return buf;
}

std::string week_label(int64_t t) {
  // The ISO week-numbering year is the year of the week's Thursday.
  const int64_t thursday = iso_week(t) * 7 - 3 + 3;
  const Civil c = civil_from_days(thursday);
  const int64_t week = (thursday - days_from_civil(c.year, 1, 1)) / 7 + 1;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-W%02lld", static_cast<long long>(c.year),
                static_cast<long long>(week));
  return buf;
}

std::string month_label(int64_t t) { return day_label(t).substr(0, 7); }

std::string time_label(int64_t t) {
  const int64_t s = t - utc_day(t) * kDay;
  char buf[16];
  std::snprintf(buf, sizeof buf, " %02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return day_label(t) + buf;
}

std::optional<int64_t> parse_utc_time(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, n = 0;
  const char* p = text.c_str();
  if (std::sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return std::nullopt;
  p += n;
  if (*p == 'T' || *p == ' ') {
    int m = 0;
    if (std::sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &s, &m) != 3 || m != 8) return std::nullopt;
    p += 1 + m;
  }
  if (*p == 'Z') ++p;
  if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  const int64_t day = days_from_civil(y, mo, d);
  if (civil_from_days(day).day != d) return std::nullopt;  // 2026-02-30
  return day * kDay + h * 3600 + mi * 60 + s;
}

std::vector<RetentionDecision> decide_retention(const std::vector<RetentionInput>& in, int64_t now,
                                                const RetentionPolicy& policy,
                                                std::optional<int64_t> latest_step) {
  validate(policy);
  std::vector<RetentionDecision> out(in.size());
  std::vector<size_t> order;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].complete) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return newer(in[a], in[b]); });
  std::map<int64_t, int> steps;
  for (size_t i : order) {
    DEC_ASSERT(++steps[in[i].step] == 1, "two complete checkpoints of step ", in[i].step);
  }
  // Representatives: the first (newest) of each bucket in `order`.
  std::map<int64_t, size_t> day_rep, week_rep, month_rep;
  for (size_t i : order) {
    day_rep.emplace(utc_day(in[i].completed_at), i);
    week_rep.emplace(iso_week(in[i].completed_at), i);
    month_rep.emplace(utc_month(in[i].completed_at), i);
  }
  const int64_t first_day = utc_day(now) - (policy.daily_days - 1);
  const int64_t first_week = iso_week(now) - (policy.weekly_weeks - 1);
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const RetentionInput& c = in[i];
    auto& kept = out[i].kept_by;
    if (k == 0) kept.push_back("newest");
    if (latest_step && c.step == *latest_step) kept.push_back("latest");
    if (k < static_cast<size_t>(policy.hot)) kept.push_back(str("hot ", k + 1, "/", policy.hot));
    const bool hot = !kept.empty();
    const int64_t day = utc_day(c.completed_at), week = iso_week(c.completed_at);
    const bool warm = policy.daily_days > 0 && day >= first_day && day_rep.at(day) == i;
    if (warm) kept.push_back("day " + day_label(c.completed_at));
    bool cold = false;
    if (policy.weekly_weeks > 0 && week >= first_week && week_rep.at(week) == i) {
      kept.push_back("week " + week_label(c.completed_at));
      cold = true;
    }
    if (policy.monthly && month_rep.at(utc_month(c.completed_at)) == i) {
      kept.push_back("month " + month_label(c.completed_at));
      cold = true;
    }
    out[i].tier = hot ? Tier::kHot : warm ? Tier::kWarm : cold ? Tier::kCold : Tier::kRemove;
  }
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].complete) continue;
    const bool stale = !order.empty() && in[i].step < in[order[0]].step &&
                       in[i].completed_at < in[order[0]].completed_at;
    out[i].tier = stale ? Tier::kRemove : Tier::kInProgress;
  }
  return out;
}

}  // namespace dec::runtime
