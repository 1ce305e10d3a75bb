#include "dec/comm/init_method.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "dec/core/error.h"

namespace dec::comm {
namespace {

// Strict integer parsing: the whole text must be a base-10 integer in [lo, hi].
long long parse_int(const std::string& text, const std::string& where, long long lo, long long hi) {
  DEC_CHECK(!text.empty(), ConfigError, "invalid value", where, "empty, expected an integer");
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  DEC_CHECK(errno == 0 && end && *end == '\0', ConfigError, "invalid value", where, "'", text,
            "' is not an integer");
  DEC_CHECK(v >= lo && v <= hi, ConfigError, "invalid value", where, v, " is out of range [", lo,
            ", ", hi, "]");
  return v;
}

std::string required(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  DEC_CHECK(v.has_value() && !v->empty(), ConfigError, "missing environment variable", name,
            "env:// needs MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE");
  return *v;
}

int optional_int(const EnvLookup& env, const std::string& name, int fallback) {
  auto v = env(name);
  if (!v.has_value() || v->empty()) return fallback;
  return static_cast<int>(parse_int(*v, name, 0, std::numeric_limits<int>::max()));
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

InitOptions parse_init_method(const std::string& url, const InitOptions& base, const EnvLookup& env,
                              const std::string& flag) {
  if (url == "env://") return init_from_env(env);
  const std::string scheme = "tcp://";
  DEC_CHECK(url.rfind(scheme, 0) == 0, ConfigError, "invalid init method", flag, "'", url,
            "': expected tcp://host:port or env://");
  const std::string rest = url.substr(scheme.size());
  std::string host, port;
  if (!rest.empty() && rest[0] == '[') {  // [v6 literal]:port
    const auto close = rest.find(']');
    DEC_CHECK(close != std::string::npos && close + 1 < rest.size() && rest[close + 1] == ':',
              ConfigError, "invalid init method", flag, "'", url, "': expected tcp://[ipv6]:port");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    DEC_CHECK(colon != std::string::npos && rest.find(':') == colon, ConfigError,
              "invalid init method", flag, "'", url, "': expected tcp://host:port");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  DEC_CHECK(!host.empty(), ConfigError, "invalid init method", flag, "'", url, "': empty host");
  DEC_CHECK(port.find('/') == std::string::npos, ConfigError, "invalid init method", flag, "'", url,
            "': unexpected path after the port");
  InitOptions out = base;
  out.master_addr = host;
  out.master_port = static_cast<std::uint16_t>(parse_int(port, flag + " (port)", 0, 65535));
  return out;
}

InitOptions init_from_env(const EnvLookup& env) {
  InitOptions out;
  out.master_addr = required(env, "MASTER_ADDR");
  out.master_port =
      static_cast<std::uint16_t>(parse_int(required(env, "MASTER_PORT"), "MASTER_PORT", 0, 65535));
  out.world_size = static_cast<int>(
      parse_int(required(env, "WORLD_SIZE"), "WORLD_SIZE", 1, std::numeric_limits<int>::max()));
  out.rank = static_cast<int>(parse_int(required(env, "RANK"), "RANK", 0, out.world_size - 1));
  out.local_rank = optional_int(env, "LOCAL_RANK", 0);
  out.node_rank = optional_int(env, "NODE_RANK", 0);
  validate(out, "environment");
  return out;
}

InitOptions layout_ranks(InitOptions base, int nnodes, int nproc_per_node, int node_rank,
                         int local_rank) {
  DEC_CHECK(nnodes >= 1, ConfigError, "invalid value", "--nnodes", nnodes, " must be >= 1");
  DEC_CHECK(nproc_per_node >= 1, ConfigError, "invalid value", "--nproc-per-node", nproc_per_node,
            " must be >= 1");
  DEC_CHECK(node_rank >= 0 && node_rank < nnodes, ConfigError, "invalid value", "--node-rank",
            node_rank, " is out of range [0, ", nnodes - 1, "]");
  DEC_CHECK(local_rank >= 0 && local_rank < nproc_per_node, ConfigError, "invalid value",
            "--local-rank", local_rank, " is out of range [0, ", nproc_per_node - 1, "]");
  base.world_size = nnodes * nproc_per_node;
  base.node_rank = node_rank;
  base.local_rank = local_rank;
  base.rank = node_rank * nproc_per_node + local_rank;
  return base;
}

void validate(const InitOptions& o, const std::string& where) {
  DEC_CHECK(!o.master_addr.empty(), ConfigError, "invalid init options", where,
            "empty master address");
  DEC_CHECK(o.world_size >= 1, ConfigError, "invalid init options", where, "world size ",
            o.world_size, " must be >= 1");
  DEC_CHECK(o.rank >= 0 && o.rank < o.world_size, ConfigError, "invalid init options", where,
            "rank ", o.rank, " is out of range [0, ", o.world_size - 1, "]");
  DEC_CHECK(o.local_rank >= 0 && o.node_rank >= 0, ConfigError, "invalid init options", where,
            "negative local rank ", o.local_rank, " or node rank ", o.node_rank);
}

}  // namespace dec::comm
