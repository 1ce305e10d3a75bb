// Every user error path of the `dec` command prints exactly one line,
// `dec: error: ...`, and exits non-zero (docs/errors.md).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "dec/core/version.h"

namespace {

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

Outcome run_dec(const std::string& args) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("dec_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cmd = std::string(DEC_BINARY_DIR) + "/dec " + args + " >" + dir +
                          "/out 2>" + dir + "/err";
  int status = std::system(cmd.c_str());
  Outcome o;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream out(dir + "/out"), err(dir + "/err");
  o.out.assign(std::istreambuf_iterator<char>(out), {});
  o.err.assign(std::istreambuf_iterator<char>(err), {});
  std::filesystem::remove_all(dir);
  return o;
}

class UserErrors : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(UserErrors, OneLineAndNonZeroExit) {
  const auto& [args, expected] = GetParam();
  Outcome o = run_dec(args);
  EXPECT_NE(o.exit_code, 0) << args;
  EXPECT_NE(o.exit_code, 70) << "internal error for a user mistake: " << o.err;
  EXPECT_EQ(o.err.rfind("dec: error: ", 0), 0u) << args << "\nstderr: " << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << args << "\nstderr: " << o.err;
  EXPECT_NE(o.err.find(expected), std::string::npos) << args << "\nstderr: " << o.err;
}

INSTANTIATE_TEST_SUITE_P(
    Cli, UserErrors,
    ::testing::Values(
        std::make_pair("", "subcommand"),
        std::make_pair("no-such-command", "no-such-command"),
        std::make_pair("train --no-such-flag", "--no-such-flag"),
        std::make_pair("train --batch-size 0", "(--batch-size): must be positive, got 0"),
        std::make_pair("train --epochs 0", "--epochs"),
        std::make_pair("train --optimizer rmsprop", "rmsprop"),
        std::make_pair("train --lr -1", "learning rate"),
        std::make_pair("train --model no-such-model --dataset synthetic --input 1x28x28",
                       "no-such-model"),
        std::make_pair("train --dataset imagenet --input 3x32x32", "imagenet"),
        std::make_pair("train --input 3xx2 --dataset synthetic", "--input"),
        std::make_pair("train --data-dir /nonexistent/dec", "/nonexistent/dec"),
        std::make_pair("train --resume /nonexistent/ckpt", "/nonexistent/ckpt"),
        std::make_pair("train --checkpoint-every 10", "--checkpoint-dir"),
        std::make_pair("profile --model no-such-model", "no-such-model"),
        std::make_pair("profile --micro-batch 0", "--micro-batch"),
        std::make_pair("models --model no-such-model", "no-such-model"),
        std::make_pair("export --out /tmp/x.pt", "--checkpoint"),
        std::make_pair("export --checkpoint /nonexistent/ckpt --out /tmp/x.pt",
                       "/nonexistent/ckpt"),
        std::make_pair("plan --cluster /nonexistent/c.yaml --model mlp", "/nonexistent/c.yaml"),
        std::make_pair("plan --cluster " DEC_SOURCE_DIR "/scenarios/S1.yaml", "--profile"),
        std::make_pair("launch --master-port 70000", "--master-port"),
        std::make_pair("launch --join-timeout 0", "--join-timeout"),
        std::make_pair("worker", "RANK"),
        std::make_pair("launch --emulate --node-name a", "--cluster"),
        std::make_pair("launch --real-links", "--real-links"),
        std::make_pair("launch --emulate --cluster c.yaml --node-name a --threads 2", "--threads"),
        std::make_pair("launch --emulate --cluster c.yaml", "--node-name"),
        std::make_pair("demo --scenario no-such-scenario", "no-such-scenario"),
        std::make_pair("demo --workload W9", "W9"),
        std::make_pair("demo --workloads /nonexistent/w.yaml", "/nonexistent/w.yaml"),
        std::make_pair("demo --epochs 0", "--epochs"),
        std::make_pair("report --metrics /nonexistent/m.jsonl", "/nonexistent/m.jsonl")));

TEST(Cli, HelpOfEveryCommandHasAnExample) {
  for (const char* cmd :
       {"models", "train", "profile", "export", "version", "demo", "plan", "launch", "worker",
        "report", "control", "serve", "infer", "agent", "checkpoints"}) {
    Outcome o = run_dec(std::string(cmd) + " --help");
    EXPECT_EQ(o.exit_code, 0) << cmd;
    EXPECT_NE(o.out.find("Example: dec " + std::string(cmd)), std::string::npos)
        << cmd << "\n" << o.out;
  }
}

TEST(Cli, VersionFlagPrintsTheVersion) {
  Outcome o = run_dec("--version");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, std::string("dec ") + dec::kVersion + "\n");
}

// The last line of stderr.
std::string last_line(const std::string& err) {
  const size_t end = err.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  const size_t begin = err.rfind('\n', end);
  return err.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
}

// A worker that fails ends `dec launch` with the worker's exit code (torchrun's
// convention) and one line of launch's own naming the worker, after the worker's.
TEST(Cli, LaunchEndsWithTheFailedWorkersCode) {
  Outcome o = run_dec(
      "launch --master-port 0 --model no-such-model --dataset synthetic --input 1x28x28 --steps 1");
  EXPECT_EQ(o.exit_code, 1) << o.err;
  EXPECT_LT(o.err.find("dec: error: "), o.err.rfind("dec: error: ")) << o.err;  // the worker's first
  EXPECT_EQ(last_line(o.err).rfind("dec: error: worker failed (local rank 0, rank 0): exit code 1", 0), 0u)
      << o.err;
}

// `dec demo` reads its workloads from the table it is given, and a run that
// fails ends the demo with the run's exit code and one line naming the run.
TEST(Cli, DemoRunsTheWorkloadsOfItsTableAndReportsAFailedRun) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("dec_cli_demo_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/w.yaml")
      << "format_version: 1\n"
         "workloads:\n"
         "  - {id: W7, what: a model that is not in the zoo, model: no-such-model, input: 1x28x28,\n"
         "     classes: 10, batch: 8, micro_batch: 2, dataset: synthetic,\n"
         "     demo: {epochs: 0.01, eval_samples: 0}}\n";
  Outcome o = run_dec("demo --scenario S1 --dataset synthetic --workloads " + dir + "/w.yaml --workload W7 --out " +
                      dir + "/out --timeout 30");
  std::filesystem::remove_all(dir);
  EXPECT_NE(o.out.find("DEC demo: W7 (a model that is not in the zoo)"), std::string::npos) << o.out;
  EXPECT_EQ(o.exit_code, 1) << o.err;
  EXPECT_EQ(last_line(o.err).rfind("dec: error: run failed (training): dec launch ended with exit code 1", 0), 0u)
      << o.err;
}

TEST(Cli, Version) {
  Outcome o = run_dec("version");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out.rfind("dec ", 0), 0u) << o.out;
}

}  // namespace
