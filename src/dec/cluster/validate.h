// The checks every cluster spec passes before anyone uses it.
//
// validate() throws ConfigError on the first problem, with `where` naming the
// file and the field ("s2.yaml: links[2].bandwidth") and `why` the reason with
// values. Checked: non-empty unique node names; positive speed
// (or a profile) and memory; links between known, distinct nodes, each pair at
// most once, positive bandwidth, non-negative latency; the links form a tree
// that reaches every node (DEC's routes are tree routes); data sources on known
// nodes, each once, positive shares summing to 1; batch and micro-batches >= 1.
// The format version is the file's, checked by the reader (load.h).
#pragma once

#include <string>

#include "dec/cluster/spec.h"

namespace dec::cluster {

// `file` prefixes every `where` ("cluster.yaml"); may be empty for specs built in code.
void validate(const ClusterSpec& spec, const std::string& file);

}  // namespace dec::cluster
