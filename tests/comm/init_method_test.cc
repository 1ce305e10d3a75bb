#include "dec/comm/init_method.h"

#include <gtest/gtest.h>

#include <map>

#include "dec/core/error.h"

namespace dec::comm {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string config_error_where(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.where_part();
  }
  return "(no ConfigError)";
}

TEST(InitMethod, ParsesTcpUrl) {
  InitOptions base;
  base.rank = 2;
  base.world_size = 3;
  const auto o = parse_init_method("tcp://10.0.0.1:1234", base, fake_env({}));
  EXPECT_EQ(o.master_addr, "10.0.0.1");
  EXPECT_EQ(o.master_port, 1234);
  EXPECT_EQ(o.rank, 2);
  EXPECT_EQ(o.world_size, 3);
  const auto v6 = parse_init_method("tcp://[::1]:29500", base, fake_env({}));
  EXPECT_EQ(v6.master_addr, "::1");
  EXPECT_EQ(v6.master_port, 29500);
  EXPECT_EQ(parse_init_method("tcp://cloud.local:0", base, fake_env({})).master_port, 0);
}

TEST(InitMethod, RejectsMalformedUrlsNamingTheFlag) {
  const InitOptions base;
  for (const char* url : {"tcp://host", "tcp://:80", "http://h:1", "tcp://h:99999", "tcp://h:12x",
                          "tcp://h:1/x", "tcp://[::1]80", "tcp://a:b:1", ""}) {
    EXPECT_EQ(config_error_where([&] {
                parse_init_method(url, base, fake_env({}));
              }).rfind("--init-method", 0),
              0u)
        << url;
  }
}

TEST(InitMethod, ReadsEnvironment) {
  const auto o = parse_init_method("env://", InitOptions{},
                                   fake_env({{"MASTER_ADDR", "edge0"},
                                             {"MASTER_PORT", "29400"},
                                             {"RANK", "3"},
                                             {"WORLD_SIZE", "4"},
                                             {"LOCAL_RANK", "1"},
                                             {"NODE_RANK", "1"}}));
  EXPECT_EQ(o.master_addr, "edge0");
  EXPECT_EQ(o.master_port, 29400);
  EXPECT_EQ(o.rank, 3);
  EXPECT_EQ(o.world_size, 4);
  EXPECT_EQ(o.local_rank, 1);
  EXPECT_EQ(o.node_rank, 1);
}

TEST(InitMethod, EnvironmentErrorsNameTheVariable) {
  std::map<std::string, std::string> good = {
      {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}, {"RANK", "0"}, {"WORLD_SIZE", "2"}};
  for (const char* var : {"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"}) {
    auto env = good;
    env.erase(var);
    EXPECT_EQ(config_error_where([&] { init_from_env(fake_env(env)); }), var);
  }
  auto bad = [&](const char* var, const char* value) {
    auto env = good;
    env[var] = value;
    return config_error_where([&] { init_from_env(fake_env(env)); });
  };
  EXPECT_EQ(bad("RANK", "2"), "RANK");  // >= WORLD_SIZE
  EXPECT_EQ(bad("RANK", "-1"), "RANK");
  EXPECT_EQ(bad("WORLD_SIZE", "0"), "WORLD_SIZE");
  EXPECT_EQ(bad("MASTER_PORT", "70000"), "MASTER_PORT");
  EXPECT_EQ(bad("LOCAL_RANK", "x"), "LOCAL_RANK");
  EXPECT_EQ(bad("NODE_RANK", "1.5"), "NODE_RANK");
}

TEST(InitMethod, LayoutIsTorchrunNumbering) {
  const auto o = layout_ranks(InitOptions{}, 3, 2, 2, 1);
  EXPECT_EQ(o.world_size, 6);
  EXPECT_EQ(o.rank, 5);
  EXPECT_EQ(o.node_rank, 2);
  EXPECT_EQ(o.local_rank, 1);
  EXPECT_EQ(config_error_where([] { layout_ranks(InitOptions{}, 2, 2, 2, 0); }), "--node-rank");
  EXPECT_EQ(config_error_where([] { layout_ranks(InitOptions{}, 2, 2, 0, 2); }), "--local-rank");
}

}  // namespace
}  // namespace dec::comm
