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

ClusterSpec parse_cluster(const std::string& yaml_text, const std::string& file);
ClusterSpec load_cluster(const std::string& path);

}  // namespace dec::cluster
