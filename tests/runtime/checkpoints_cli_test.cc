// `dec checkpoints` as a user runs it: the listing and prune on a checkpoint
// root, and every user error in one line `dec: error: <what> (<where>): <why>`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "dec/core/file.h"
#include "dec/core/sha256.h"

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

const fs::path& scratch() {
  static const fs::path dir =
      fs::temp_directory_path() / ("dec_ckpt_cli_" + std::to_string(::getpid()));
  return dir;
}

Outcome run_dec(const std::string& args) {
  fs::create_directories(scratch());
  const std::string out = (scratch() / "out").string(), err = (scratch() / "err").string();
  const std::string cmd = std::string(DEC_BINARY_DIR) + "/dec " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Outcome o;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = dec::read_file(out);
  o.err = dec::read_file(err);
  return o;
}

// Six checkpoints a day apart, the last at 2026-06-30 11:50 UTC.
fs::path make_root() {
  const fs::path root = scratch() / "ckpt";
  fs::remove_all(root);
  for (int i = 0; i < 6; ++i) {
    const int64_t step = 100 * (i + 1);
    char name[32];
    std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
    fs::create_directories(root / name);
    const std::string bytes(10000 + i, static_cast<char>('a' + i));
    std::ofstream(root / name / "rng.pt") << bytes;
    const nlohmann::json m = {
        {"format_version", 1}, {"step", step}, {"files", {{"rng.pt", dec::sha256_hex(bytes)}}}};
    std::ofstream(root / name / "manifest.json") << m.dump();
    const int64_t t = 1'782'820'800 - 600 - (5 - i) * 86400;
    const struct timespec times[2] = {{t, 0}, {t, 0}};
    ::utimensat(AT_FDCWD, (root / name / "manifest.json").c_str(), times, 0);
    dec::write_file_atomic((root / "latest").string(), std::string(name) + "\n");
  }
  return root;
}

TEST(CheckpointsCli, ListsPrunesAndRestores) {
  const fs::path root = make_root();
  const std::string now = " --now 2026-06-30T12:00:00Z";
  Outcome o = run_dec("checkpoints list " + root.string() + " --hot 2" + now);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("latest step 600; hot 2"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("newest, latest, hot 1/2, day 2026-06-30, week 2026-W27, month 2026-06"),
            std::string::npos)
      << o.out;
  // 06-28 (a Sunday, the newest of 2026-W26) and the days before it: warm.
  EXPECT_NE(o.out.find("warm  day 2026-06-28, week 2026-W26"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("6 checkpoints: 2 hot, 4 warm, 0 cold, 0 pruned by prune"),
            std::string::npos)
      << o.out;

  // A year later, with --hot 1: the newest stays hot, the month's newest goes cold.
  const std::string later = " --now 2027-06-30";
  o = run_dec("checkpoints list " + root.string() + " --hot 1" + later);
  EXPECT_NE(o.out.find("6 checkpoints: 1 hot, 0 warm, 0 cold, 5 pruned by prune"),
            std::string::npos)
      << o.out;
  o = run_dec("checkpoints prune " + root.string() + " --hot 1 --dry-run" + later);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("dry run: 5 actions"), std::string::npos) << o.out;
  EXPECT_TRUE(fs::exists(root / "step-00000100"));
  o = run_dec("checkpoints prune " + root.string() + " --hot 1" + later);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("remove         step 100"), std::string::npos) << o.out;
  EXPECT_FALSE(fs::exists(root / "step-00000100"));
  EXPECT_TRUE(fs::exists(root / "step-00000600"));

  // Two months on: 2026-W26's newest (step 400, Sunday 06-28) is cold, compressed;
  // restore gives it back byte for byte.
  make_root();
  o = run_dec("checkpoints prune " + root.string() + " --hot 1 --now 2026-09-01");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("compress       step 400"), std::string::npos) << o.out;
  EXPECT_TRUE(fs::exists(root / "cold" / "step-00000400.tar.zst"));
  EXPECT_FALSE(fs::exists(root / "step-00000400"));
  o = run_dec("checkpoints list " + root.string() + " --hot 1 --now 2026-09-01");
  EXPECT_NE(o.out.find("zstd            cold  week 2026-W26"), std::string::npos) << o.out;
  o = run_dec("checkpoints restore " + root.string() + " 400");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(dec::read_file((root / "step-00000400" / "rng.pt").string()), std::string(10003, 'd'));
  o = run_dec("checkpoints restore " + root.string() + " 600");
  EXPECT_NE(o.exit_code, 0) << "600 is hot, not archived: " << o.out;
  fs::remove_all(scratch());
}

class UserErrors : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(UserErrors, OneLineAndNonZeroExit) {
  make_root();
  const auto& [args, expected] = GetParam();
  const Outcome o = run_dec(args);
  EXPECT_NE(o.exit_code, 0) << args;
  EXPECT_NE(o.exit_code, 70) << "internal error for a user mistake: " << o.err;
  EXPECT_EQ(o.err.rfind("dec: error: ", 0), 0u) << args << "\nstderr: " << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << args << "\nstderr: " << o.err;
  EXPECT_NE(o.err.find(expected), std::string::npos) << args << "\nstderr: " << o.err;
}

const std::string kRoot = scratch().string() + "/ckpt";

INSTANTIATE_TEST_SUITE_P(
    Checkpoints, UserErrors,
    ::testing::Values(
        std::make_pair("checkpoints", "subcommand"), std::make_pair("checkpoints list", "DIR"),
        std::make_pair("checkpoints list /no/such/dir",
                       "no checkpoint directory (/no/such/dir): no such directory"),
        std::make_pair("checkpoints prune /no/such/dir", "no checkpoint directory (/no/such/dir)"),
        std::make_pair("checkpoints list " + kRoot + " --hot 0",
                       "invalid retention policy (--hot): must be at least 1"),
        std::make_pair(
            "checkpoints prune " + kRoot + " --hot -3",
            "(--hot): must be at least 1 (the newest checkpoint is always kept), got -3"),
        std::make_pair("checkpoints prune " + kRoot + " --hot many", "--hot"),
        std::make_pair("checkpoints prune " + kRoot + " --level 40", "(--level): must be in 1..19"),
        std::make_pair("checkpoints list " + kRoot + " --now yesterday", "invalid time (--now)"),
        std::make_pair("checkpoints restore " + kRoot + " 100",
                       "no archived checkpoint (" + kRoot + "/cold/step-00000100.tar.zst)"),
        std::make_pair("checkpoints restore " + kRoot + " -5", "(STEP): must not be negative")));

}  // namespace
