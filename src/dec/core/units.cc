#include "dec/core/units.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "dec/core/error.h"

namespace dec {
namespace {

// Splits "12.5MiB" into 12.5 and "MiB"; throws on a missing or bad number.
double split_number(const std::string& text, const std::string& where, std::string* unit) {
  const char* begin = text.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  DEC_CHECK(end != begin, ConfigError, "invalid quantity", where,
            "expected a number with an optional unit, got '", text, "'");
  std::string rest(end);
  while (!rest.empty() && rest.front() == ' ') rest.erase(rest.begin());
  *unit = rest;
  DEC_CHECK(std::isfinite(v) && v >= 0, ConfigError, "invalid quantity", where,
            "must be a non-negative finite number, got '", text, "'");
  return v;
}

double scaled(const std::string& text, const std::string& where,
              const std::map<std::string, double>& units, const char* expected) {
  std::string unit;
  double v = split_number(text, where, &unit);
  auto it = units.find(unit);
  DEC_CHECK(it != units.end(), ConfigError, "invalid quantity", where, "unknown unit '", unit,
            "' in '", text, "' (expected ", expected, ")");
  return v * it->second;
}

}  // namespace

double parse_bytes(const std::string& text, const std::string& where) {
  static const std::map<std::string, double> kUnits = {
      {"", 1},     {"B", 1},     {"kB", 1e3},           {"KB", 1e3},
      {"MB", 1e6}, {"GB", 1e9},  {"TB", 1e12},          {"KiB", 1024.0},
      {"MiB", 1048576.0},        {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
  return scaled(text, where, kUnits, "B, kB, MB, GB, KiB, MiB, GiB");
}

double parse_mbps(const std::string& text, const std::string& where) {
  static const std::map<std::string, double> kUnits = {
      {"", 1},          {"Mbit/s", 1},   {"Mbps", 1},       {"Mb/s", 1},
      {"kbit/s", 1e-3}, {"kbps", 1e-3},  {"Gbit/s", 1e3},   {"Gbps", 1e3},
      {"bit/s", 1e-6},  {"MB/s", 8},     {"GB/s", 8e3},     {"kB/s", 8e-3}};
  return scaled(text, where, kUnits, "Mbit/s, kbit/s, Gbit/s, MB/s");
}

double parse_seconds(const std::string& text, const std::string& where) {
  static const std::map<std::string, double> kUnits = {
      {"", 1}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"m", 60}, {"min", 60}, {"h", 3600}};
  return scaled(text, where, kUnits, "s, ms, us, min, h");
}

namespace {

// `v` in the largest of five units, each `base` times the one before, that
// keeps it at or above 1: a whole number in the first unit, `precision`
// decimals in the others, then `separator` and the unit's name.
std::string format_scaled(double v, double base, const char* const (&units)[5], int precision,
                          const char* separator) {
  int i = 0;
  while (std::abs(v) >= base && i < 4) {
    v /= base;
    ++i;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f%s%s", i == 0 ? 0 : precision, v, separator, units[i]);
  return buf;
}

}  // namespace

std::string format_bytes(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  return format_scaled(bytes, 1024, kUnits, 1, " ");
}

std::string format_count(double n) {
  static const char* const kSuffix[] = {"", "K", "M", "G", "T"};
  return format_scaled(n, 1000, kSuffix, 1, "");
}

std::string format_flops(double flops) {
  static const char* const kUnits[] = {"FLOPs", "kFLOPs", "MFLOPs", "GFLOPs", "TFLOPs"};
  return format_scaled(flops, 1000, kUnits, 2, " ");
}

std::string format_seconds(double s) {
  char buf[32];
  if (s >= 1) std::snprintf(buf, sizeof buf, "%.2f s", s);
  else if (s >= 1e-3) std::snprintf(buf, sizeof buf, "%.1f ms", s * 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f us", s * 1e6);
  return buf;
}

std::string format_mbps(double mbps) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g Mbit/s", mbps);
  return buf;
}

}  // namespace dec
