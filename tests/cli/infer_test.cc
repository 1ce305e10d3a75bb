// `dec infer` against real `dec serve` processes: a lone server in closed and
// open loop (JSON and binary tensors), a device -> edge -> cloud chain whose
// answers say which tier ran which blocks, and the error paths (one line,
// non-zero exit).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class InferCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("dec_infer_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const Outcome o = run("train --model fmnist-cnn --dataset synthetic --input 1x28x28 --synthetic-size 64 "
                          "--steps 2 --batch-size 16 --no-eval --threads 1 --checkpoint-dir " + dir_ + "/ckpt");
    ASSERT_EQ(o.exit_code, 0) << o.err;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  void TearDown() override {
    for (pid_t pid : servers_) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }

  static Outcome run(const std::string& args) {
    const std::string out = dir_ + "/out", err = dir_ + "/err";
    const int status = std::system((std::string(DEC_BINARY_DIR) + "/dec " + args + " >" + out + " 2>" + err).c_str());
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
  }

  // Starts `dec serve` on a free port with these extra arguments; returns its URL.
  std::string serve(const std::string& name, std::vector<std::string> extra) {
    // A log of its own per start: a previous server's would still name its port.
    const std::string log = dir_ + "/" + name + "." + std::to_string(servers_.size()) + "." +
                            std::to_string(++starts_) + ".log";
    std::vector<std::string> args{std::string(DEC_BINARY_DIR) + "/dec", "serve", "--model", "fmnist-cnn",
                                  "--checkpoint", dir_ + "/ckpt", "--listen", "127.0.0.1:0", "--threads", "1",
                                  "--warmup", "1", "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::freopen(log.c_str(), "w", stderr);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    servers_.push_back(pid);
    const std::regex listening("on (http://127\\.0\\.0\\.1:[0-9]+)/v2/models");
    for (int i = 0; i < 300; ++i) {
      std::smatch m;
      const std::string text = slurp(log);
      if (std::regex_search(text, m, listening)) return m[1];
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "dec serve did not start: " << slurp(log);
    return "";
  }

  static json summary(const Outcome& o) {
    EXPECT_EQ(o.exit_code, 0) << o.err;
    return json::parse(o.out);
  }

  static std::string dir_;
  static int starts_;
  std::vector<pid_t> servers_;
};

std::string InferCli::dir_;
int InferCli::starts_ = 0;

TEST_F(InferCli, ClosedLoopAgainstOneServer) {
  const std::string url = serve("lone", {});
  const json s = summary(run("infer --url " + url + " --model fmnist-cnn --requests 20 --concurrency 2 --json"));
  EXPECT_EQ(s["requests"], 20);
  EXPECT_EQ(s["ok"], 20);
  EXPECT_EQ(s["failed"], 0);
  ASSERT_EQ(s["where"]["routes"].size(), 1u) << s.dump();
  EXPECT_EQ(s["where"]["routes"][0]["route"], "lone[0,4)");
  EXPECT_EQ(s["where"]["routes"][0]["requests"], 20);
  EXPECT_GT(s["throughput_rps"].get<double>(), 0);
  EXPECT_LE(s["latency_s"]["p50"].get<double>(), s["latency_s"]["p99"].get<double>());
  if (std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    EXPECT_EQ(s["inputs"], "Fashion-MNIST test set (1000 images)");
    EXPECT_TRUE(s.contains("accuracy"));
  }
  // The text form names the route and the percentiles.
  const Outcome text = run("infer --url " + url + " --model fmnist-cnn --requests 5");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("lone[0,4)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("p95"), std::string::npos) << text.out;
}

TEST_F(InferCli, OpenLoopWithBinaryTensorsAndATrace) {
  const std::string url = serve("lone", {});
  const std::string trace = dir_ + "/trace.jsonl";
  const json s = summary(run("infer --url " + url + " --model fmnist-cnn --rate 200 --arrivals constant "
                             "--requests 20 --connections 2 --binary --rows 2 --json --trace " + trace));
  EXPECT_EQ(s["ok"], 20);
  EXPECT_EQ(s["load"]["open_loop_rate"], 200.0);
  std::ifstream in(trace);
  int lines = 0;
  double last_t = -1;
  for (std::string line; std::getline(in, line); ++lines) {
    const json r = json::parse(line);
    EXPECT_EQ(r["status"], 200);
    EXPECT_GE(r["t"].get<double>(), last_t);  // in order of arrival, 5 ms apart
    last_t = r["t"].get<double>();
  }
  EXPECT_EQ(lines, 20);
  EXPECT_NEAR(last_t, 19 * 0.005, 1e-9);
}

TEST_F(InferCli, SaysWhichTierRanWhichBlocks) {
  const std::string cloud = serve("cloud", {"--tier", "cloud"});
  const std::string edge = serve("edge0", {"--tier", "edge", "--next", cloud});
  const std::string device = serve("dev0", {"--tier", "device", "--next", edge});
  const json s = summary(run("infer --url " + device + " --model fmnist-cnn --requests 6 --split 1,2 --json"));
  EXPECT_EQ(s["ok"], 6);
  ASSERT_EQ(s["where"]["routes"].size(), 1u) << s.dump();
  EXPECT_EQ(s["where"]["routes"][0]["route"], "dev0[0,1) > edge0[1,2) > cloud[2,4)");
  EXPECT_EQ(s["where"]["routes"][0]["split"], json::array({1, 2}));
  EXPECT_EQ(s["where"]["tiers"].size(), 3u);
  // Without a split the device (no profile) runs everything itself.
  const json local = summary(run("infer --url " + device + " --model fmnist-cnn --requests 3 --json"));
  EXPECT_EQ(local["where"]["routes"][0]["route"], "dev0[0,4)");
}

TEST_F(InferCli, ErrorsAreOneLine) {
  const std::string url = serve("lone", {});
  for (const auto& [args, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--url " + url + " --model resnet18", "unknown model 'resnet18'"},
           {"--url " + url + " --model fmnist-cnn --split 1,2 --requests 3", "no request succeeded"},
           {"--url " + url + " --model fmnist-cnn --split 1", "(--split)"},
           {"--url " + url + " --model fmnist-cnn --requests 3 --duration 1", "not both"},
           {"--url ftp://x --model fmnist-cnn", "(--url)"},
           {"--url http://127.0.0.1:1 --model fmnist-cnn --ready-timeout 0.2", "not ready"}}) {
    const Outcome o = run("infer " + args);
    EXPECT_EQ(o.exit_code, 1) << args << "\n" << o.err;
    EXPECT_EQ(o.err.rfind("dec: error: ", 0), 0u) << args << "\n" << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << args << "\n" << o.err;
    EXPECT_NE(o.err.find(expected), std::string::npos) << args << "\n" << o.err;
  }
}

}  // namespace
