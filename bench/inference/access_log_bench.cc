// The cost of one access-log line (serve/access_log.h): AccessLog::write of a
// typical two-tier record, in each format, to a file in a temporary directory.
// Prints microseconds per line; the reference is the other format in the same run.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "dec/serve/access_log.h"

int main(int argc, char** argv) {
  using dec::serve::AccessLog;
  using dec::serve::AccessRecord;
  const int lines = argc > 1 ? std::stoi(argv[1]) : 100000;
  AccessRecord r;
  r.id = "1";
  r.model = "fmnist-cnn";
  r.node = "dev0";
  r.status = 200;
  r.seconds = 0.0036;
  r.split = {0, 4};
  r.chosen_by = "latency";
  r.tiers = nlohmann::json::array(
      {{{"node", "dev0"}, {"tier", 0}, {"blocks", {0, 0}}, {"queue_s", 0.0}, {"compute_s", 1e-6}},
       {{"node", "edge0"}, {"tier", 1}, {"blocks", {0, 4}}, {"queue_s", 1e-6}, {"compute_s", 0.00078}}});
  r.bytes_in = 3299;
  r.bytes_out = 241;
  r.hop_bytes = 3300;
  r.predicted_s = 0.0049;
  r.device_j = 0.0118;
  r.cpu_util = 0.21;
  char pattern[] = "/tmp/dec-access-log-bench-XXXXXX";
  const std::filesystem::path dir = mkdtemp(pattern);
  double us[2] = {0, 0};
  const char* formats[2] = {"json", "text"};
  for (int f = 0; f < 2; ++f) {
    AccessLog log((dir / (std::string(formats[f]) + ".log")).string(), formats[f]);
    for (int i = 0; i < 1000; ++i) log.write(r);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < lines; ++i) log.write(r);
    us[f] = 1e6 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / lines;
    std::printf("%s: %.2f us per line (%d lines)\n", formats[f], us[f], lines);
  }
  std::printf("json/text: %.2f\n", us[0] / us[1]);
  std::filesystem::remove_all(dir);
}
