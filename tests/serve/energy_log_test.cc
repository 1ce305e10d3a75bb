// The measured energy's pieces (the clock's sources, the process's CPU time,
// the model's arithmetic) and the access log's lines.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dec/core/error.h"
#include "dec/serve/access_log.h"
#include "dec/serve/energy.h"

namespace dec::serve {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("dec-energy-" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel) << text;
  }

 private:
  fs::path path_;
};

TEST(Energy, TheClockComesFromCpufreqThenCpuinfoThenTheFallback) {
  TempDir d;
  const std::string sys = (d.path() / "sys").string(), info = (d.path() / "cpuinfo").string();
  EXPECT_EQ(read_cpu_clock(2.0, sys, info).source, "assumed");
  EXPECT_DOUBLE_EQ(read_cpu_clock(2.0, sys, info).ghz, 2.0);
  d.write("cpuinfo", "processor\t: 0\ncpu MHz\t\t: 2000.000\nprocessor\t: 1\ncpu MHz\t\t: 3000.000\n");
  ClockReading r = read_cpu_clock(2.0, sys, info);
  EXPECT_EQ(r.source, "cpuinfo");
  EXPECT_NEAR(r.ghz, 2.5, 1e-9);
  d.write("sys/cpu0/cpufreq/scaling_cur_freq", "1200000\n");
  r = read_cpu_clock(2.0, sys, info);
  EXPECT_EQ(r.source, "cpufreq");
  if (online_cores() == 1) EXPECT_NEAR(r.ghz, 1.2, 1e-9);  // else the mean over the cores that have one
  EXPECT_GT(r.ghz, 0);
}

TEST(Energy, AMeasurementFollowsTheModel) {
  EnergyMeter meter;
  // Busy for a while: the process's CPU time grows.
  volatile double x = 0;
  for (int i = 0; i < 20000000; ++i) x = x + 1e-9 * i;
  const EnergyModel model;  // 2.1 W + 0.8 W/GHz x util x GHz, 0.3 J/MB
  const MeasuredEnergy m = meter.finish(model, {2.0, "assumed"}, 2e6);
  EXPECT_GT(m.wall_s, 0);
  EXPECT_GT(m.cpu_s, 0);
  EXPECT_GE(m.cpu_util, 0);
  EXPECT_LE(m.cpu_util, 1);
  EXPECT_NEAR(m.joules, 2.1 * m.wall_s + 0.8 * m.cpu_util * 2.0 * m.wall_s + 0.3 * 2, 1e-12);
  EXPECT_EQ(m.ghz_source, "assumed");
}

AccessRecord record() {
  AccessRecord r;
  r.id = "r 1";
  r.model = "fmnist-cnn";
  r.node = "dev0";
  r.status = 200;
  r.seconds = 0.0123;
  r.split = {1, 4};
  r.chosen_by = "latency";
  r.tiers = json::array({{{"node", "dev0"}, {"tier", 0}, {"blocks", {0, 1}}, {"queue_s", 0.0}, {"compute_s", 0.002}},
                         {{"node", "edge0"}, {"tier", 1}, {"blocks", {1, 4}}, {"queue_s", 0.001}, {"compute_s", 0.003}}});
  r.bytes_in = 3200;
  r.bytes_out = 200;
  r.hop_bytes = 5000;
  r.device_j = 0.03;
  r.cpu_util = 0.5;
  return r;
}

TEST(AccessLog, JsonLinesCarryTheRequestsFields) {
  TempDir d;
  const std::string path = (d.path() / "access.log").string();
  {
    AccessLog log(path, "json");
    log.write(record());
    AccessRecord failed;
    failed.status = 504;
    failed.error = "the request's deadline passed";
    log.write(failed);
  }
  std::ifstream f(path);
  std::string a, b, c;
  ASSERT_TRUE(std::getline(f, a) && std::getline(f, b));
  EXPECT_FALSE(std::getline(f, c));
  const json j = json::parse(a);
  EXPECT_EQ(j["id"], "r 1");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["split"], json::array({1, 4}));
  EXPECT_EQ(j["tiers"][1]["node"], "edge0");
  EXPECT_EQ(j["hop_bytes"], 5000);
  EXPECT_EQ(j["device_j"], 0.03);
  EXPECT_EQ(j["ts"].get<std::string>().back(), 'Z');
  EXPECT_EQ(json::parse(b)["error"], "the request's deadline passed");
}

TEST(AccessLog, TextLinesAreKeyValuePairs) {
  TempDir d;
  AccessLog log((d.path() / "a.log").string(), "text");
  const std::string l = log.line(record());
  EXPECT_NE(l.find(" id=\"r 1\" "), std::string::npos) << l;
  EXPECT_NE(l.find(" split=1,4 "), std::string::npos) << l;
  EXPECT_NE(l.find(" tiers=dev0:0-1:0:0.002,edge0:1-4:0.001:0.003 "), std::string::npos) << l;
  EXPECT_NE(l.find(" device_j=0.03"), std::string::npos) << l;
  EXPECT_THROW(AccessLog("-", "xml"), ConfigError);
  EXPECT_THROW(AccessLog((d.path() / "no" / "such" / "dir" / "a.log").string(), "json"), IoError);
}

}  // namespace
}  // namespace dec::serve
