// Reading a cluster spec from YAML (docs/cluster.md).
//
// Both functions validate (validate.h) before returning, and throw ConfigError
// naming the file and field on any problem: a YAML syntax error (with its line),
// a missing or unknown key, a value of the wrong type or unit, or a failed check.
// A format_version other than kClusterFormatVersion is refused first, in one line:
//   unsupported cluster spec format (<file>): format_version 2; this dec reads 1
// load_cluster() also resolves relative node profile paths against the folder
// of the spec file and throws IoError when the file cannot be read.
#pragma once

#include <string>

#include "dec/cluster/spec.h"

namespace dec::cluster {

// Data shares are weights: both normalise them to sum to 1 (each over their
// sum as written, kept in written_share_sum).
ClusterSpec parse_cluster(const std::string& yaml_text, const std::string& file);
ClusterSpec load_cluster(const std::string& path);

// Shares written to a few decimals sum to 1 within rounding (256 equal shares
// to six decimals: 0.999936); beyond this margin the file likely says
// something else than meant.
inline constexpr double kShareSumMargin = 0.01;

// "" when the written shares summed to 1 within kShareSumMargin; else the
// reason to warn, e.g. "the shares sum to 0.9; each is taken as a weight, its
// fraction of the batch share / 0.9".
std::string share_warning(const ClusterSpec& spec);

}  // namespace dec::cluster
