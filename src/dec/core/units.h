// Parsing and printing of quantities that users write in files and flags.
//
//   parse_bytes("512MiB") == 536870912, parse_bytes("2GB") == 2e9, a bare number is bytes
//   parse_mbps("18.88Mbit/s") == 18.88, also "100Mbps", "1Gbit/s", "500kbit/s"; bare = Mbit/s
//   parse_seconds("30ms") == 0.03, also "5s", "250us", "1m"; bare = seconds
// Each throws ConfigError(what, where, why) naming `where` (the field) on bad input,
// including negative values, NaN and trailing garbage.
#pragma once

#include <cstdint>
#include <string>

namespace dec {

double parse_bytes(const std::string& text, const std::string& where);
double parse_mbps(const std::string& text, const std::string& where);
double parse_seconds(const std::string& text, const std::string& where);

// Human-readable forms for summaries: "1.5 MiB", "18.9 Mbit/s", "312 ms",
// "1.2M" (a count, in thousands), "8.59 MFLOPs" (the largest unit at or above 1).
std::string format_bytes(double bytes);
std::string format_count(double n);
std::string format_flops(double flops);
std::string format_seconds(double seconds);
std::string format_mbps(double mbps);

}  // namespace dec
