// Retention tiers on disk (runtime/checkpoint_tiers.h, checkpoint_archive.h):
// the zstd archive's round trip, prune and restore on checkpoint directories
// laid out as checkpoint.h writes them, and prunes killed with SIGKILL at
// random moments.
#include "dec/runtime/checkpoint_tiers.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/core/sha256.h"
#include "dec/runtime/checkpoint_archive.h"

namespace dec::runtime {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kHour = 3600, kDay = 86400;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("dec_tiers_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }
  fs::path path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
  return buf;
}

// Bytes that compress about 2:1, different for every (step, file).
std::string content(int64_t step, int file, size_t size) {
  std::mt19937 rng(static_cast<uint32_t>(step * 31 + file));
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng() % 16);
  return out;
}

void set_mtime(const fs::path& p, int64_t t) {
  const struct timespec times[2] = {{t, 0}, {t, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0) << p;
}

int64_t mtime(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mtim.tv_sec;
}

// A complete checkpoint as checkpoint.h lays it out, completed at `t`.
void make_checkpoint(const fs::path& root, int64_t step, int64_t t, size_t size = 4096) {
  const fs::path dir = root / step_name(step);
  fs::create_directories(dir / "blocks");
  nlohmann::json files;
  for (int f = 0; f < 2; ++f) {
    const std::string rel = f == 0 ? "blocks/conv1.pt" : "rng.pt";
    const std::string bytes = content(step, f, f == 0 ? size : 613);
    std::ofstream(dir / rel, std::ios::binary) << bytes;
    files[rel] = sha256_hex(bytes);
    set_mtime(dir / rel, t - 1);
  }
  nlohmann::json m = {
      {"format_version", 1}, {"step", step}, {"blocks", {"conv1"}}, {"files", files}};
  std::ofstream(dir / "manifest.json") << m.dump(2) << "\n";
  set_mtime(dir / "manifest.json", t);
}

void point_latest(const fs::path& root, int64_t step) {
  write_file_atomic((root / "latest").string(), step_name(step) + "\n");
}

// Every file under `dir`, relative path -> bytes.
std::map<std::string, std::string> files_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file())
      out[fs::relative(e.path(), dir).string()] = read_file(e.path().string());
  }
  return out;
}

// Whole: the manifest is there and every listed file has its sha256.
bool whole_directory(const fs::path& dir) {
  if (!fs::exists(dir / "manifest.json")) return false;
  const auto m = nlohmann::json::parse(read_file((dir / "manifest.json").string()));
  for (const auto& [rel, sha] : m.at("files").items()) {
    if (!fs::exists(dir / rel) || sha256_file((dir / rel).string()) != sha.get<std::string>()) {
      return false;
    }
  }
  return true;
}

fs::path archive_of(const fs::path& root, int64_t step) {
  return root / "cold" / (step_name(step) + ".tar.zst");
}

TEST(CheckpointArchive, RoundTripIsByteIdenticalWithTimes) {
  TempDir tmp;
  make_checkpoint(tmp.path(), 700, 1'700'000'000, 300'000);
  const fs::path dir = tmp.path() / step_name(700);
  const auto before = files_of(dir);
  fs::create_directories(tmp.path() / "cold");
  const ArchiveStats s =
      write_checkpoint_archive(dir.string(), archive_of(tmp.path(), 700).string(), 3);
  EXPECT_EQ(s.files, 3u);
  EXPECT_LT(s.bytes_out, s.bytes_in);
  EXPECT_EQ(s.bytes_out, fs::file_size(archive_of(tmp.path(), 700)));
  EXPECT_EQ(verify_checkpoint_archive(archive_of(tmp.path(), 700).string()).bytes_in, s.bytes_in);
  const ArchivedManifest m = read_archived_manifest(archive_of(tmp.path(), 700).string());
  EXPECT_EQ(m.top, step_name(700));
  EXPECT_EQ(m.mtime, 1'700'000'000);
  EXPECT_EQ(m.text, before.at("manifest.json"));

  fs::create_directories(tmp.path() / "out");
  const std::string top = extract_checkpoint_archive(archive_of(tmp.path(), 700).string(),
                                                     (tmp.path() / "out").string());
  EXPECT_EQ(top, (tmp.path() / "out" / step_name(700)).string());
  EXPECT_EQ(files_of(top), before);
  EXPECT_EQ(mtime(fs::path(top) / "manifest.json"), 1'700'000'000);
  EXPECT_EQ(mtime(fs::path(top) / "rng.pt"), 1'700'000'000 - 1);
  for (const auto& e : fs::directory_iterator(tmp.path() / "cold")) {
    EXPECT_EQ(e.path().filename(), step_name(700) + ".tar.zst") << "a temporary was left";
  }
}

// Debian's zstd and tar read the archive as they read any .tar.zst.
TEST(CheckpointArchive, StandardToolsReadIt) {
  if (std::system("command -v zstd >/dev/null && command -v tar >/dev/null") != 0) {
    GTEST_SKIP() << "zstd or tar not installed";
  }
  TempDir tmp;
  make_checkpoint(tmp.path(), 5, 1'700'000'000);
  const std::string archive = (tmp.path() / "a.tar.zst").string();
  write_checkpoint_archive((tmp.path() / step_name(5)).string(), archive, 1);
  fs::create_directories(tmp.path() / "x");
  ASSERT_EQ(
      std::system(("zstd -qdc " + archive + " | tar -x -C " + (tmp.path() / "x").string()).c_str()),
      0);
  EXPECT_EQ(files_of(tmp.path() / "x" / step_name(5)), files_of(tmp.path() / step_name(5)));
}

TEST(CheckpointArchive, RefusesCorruptionOnEveryPath) {
  TempDir tmp;
  make_checkpoint(tmp.path(), 9, 1'700'000'000, 100'000);
  const fs::path dir = tmp.path() / step_name(9);
  const std::string archive = (tmp.path() / "9.tar.zst").string();
  write_checkpoint_archive(dir.string(), archive, 3);
  std::string bytes = read_file(archive);

  // A flipped byte in the middle, and a truncated file.
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  write_file_atomic(archive, flipped);
  EXPECT_THROW(verify_checkpoint_archive(archive), CorruptFile);
  write_file_atomic(archive, bytes.substr(0, bytes.size() - 7));
  EXPECT_THROW(verify_checkpoint_archive(archive), CorruptFile);
  write_file_atomic(archive, bytes + "x");
  EXPECT_THROW(verify_checkpoint_archive(archive), CorruptFile);
  fs::create_directories(tmp.path() / "out");
  EXPECT_THROW(extract_checkpoint_archive(archive, (tmp.path() / "out").string()), CorruptFile);

  // A checkpoint file that no longer matches its manifest is not archived.
  std::ofstream(dir / "rng.pt", std::ios::app) << "x";
  try {
    write_checkpoint_archive(dir.string(), (tmp.path() / "bad.tar.zst").string(), 3);
    FAIL() << "a corrupt checkpoint was archived";
  } catch (const CorruptFile& e) {
    EXPECT_EQ(e.where_part(), (dir / "rng.pt").string());
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "bad.tar.zst"));
  for (const auto& e : fs::directory_iterator(tmp.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
  EXPECT_THROW(write_checkpoint_archive(dir.string(), archive, 0), ConfigError);
}

// 40 checkpoints, one every 18 hours up to now (2026-06-30 12:00).
struct Fixture {
  TempDir tmp;
  int64_t now = 0;
  std::vector<int64_t> steps;
  explicit Fixture(size_t size = 4096) {
    now = 1'782'820'800;  // 2026-06-30 12:00:00 UTC
    for (int i = 0; i < 40; ++i) {
      steps.push_back(100 * (i + 1));
      make_checkpoint(tmp.path(), steps.back(), now - (39 - i) * 18 * kHour - 600, size);
    }
    point_latest(tmp.path(), steps.back());
  }
  std::string root() const { return tmp.str(); }
};

std::map<int64_t, Tier> expected_tiers(const Fixture& f, const RetentionPolicy& p) {
  const CheckpointListing l = list_checkpoints(f.root(), f.now, p);
  std::map<int64_t, Tier> out;
  for (size_t i = 0; i < l.checkpoints.size(); ++i)
    out[l.checkpoints[i].step] = l.decisions[i].tier;
  return out;
}

// What prune leaves: hot and warm as directories, cold as archives, the rest
// gone, and no hidden leftovers.
void expect_final_state(const Fixture& f, const std::map<int64_t, Tier>& tiers) {
  for (const auto& [step, tier] : tiers) {
    const fs::path dir = f.tmp.path() / step_name(step);
    const bool uncompressed = tier == Tier::kHot || tier == Tier::kWarm;
    EXPECT_EQ(fs::exists(dir), uncompressed) << step << " " << tier_name(tier);
    EXPECT_EQ(fs::exists(archive_of(f.tmp.path(), step)), tier == Tier::kCold) << step;
    if (uncompressed) EXPECT_TRUE(whole_directory(dir)) << step;
  }
  for (const auto& e : fs::directory_iterator(f.tmp.path())) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "latest" || name == "cold" || name == ".prune.lock" ||
                name.rfind("step-", 0) == 0)
        << name;
  }
}

TEST(CheckpointTiers, PruneThenListAndPruneAgainChangeNothing) {
  Fixture f;
  const RetentionPolicy p;
  const auto tiers = expected_tiers(f, p);
  std::map<Tier, int> count;
  for (const auto& [step, t] : tiers) ++count[t];
  // 40 checkpoints 18 hours apart span 29 days: the 5 newest are hot, every
  // other day's newest is warm, a day's earlier ones are removed; nothing is
  // old enough to be cold.
  EXPECT_EQ(count[Tier::kHot], 5);
  EXPECT_GT(count[Tier::kWarm], 0);
  EXPECT_GT(count[Tier::kRemove], 0);
  EXPECT_EQ(count[Tier::kCold], 0);

  PruneOptions o;
  o.now = f.now;
  o.dry_run = true;
  const PruneReport dry = prune_checkpoints(f.root(), o);
  EXPECT_FALSE(dry.actions.empty());
  EXPECT_EQ(expected_tiers(f, p), tiers) << "a dry run changed something";
  for (int64_t s : f.steps) EXPECT_TRUE(fs::exists(f.tmp.path() / step_name(s)));

  o.dry_run = false;
  const PruneReport r = prune_checkpoints(f.root(), o);
  EXPECT_EQ(r.actions.size(), dry.actions.size());
  expect_final_state(f, tiers);
  EXPECT_EQ(read_file((f.tmp.path() / "latest").string()), step_name(f.steps.back()) + "\n");

  // Stable: the same decisions on what is left, and nothing more to do.
  EXPECT_EQ(expected_tiers(f, p).size(), tiers.size() - count[Tier::kRemove]);
  for (const auto& [step, t] : expected_tiers(f, p)) EXPECT_EQ(t, tiers.at(step)) << step;
  EXPECT_TRUE(prune_checkpoints(f.root(), o).actions.empty());
}

// Cold tiers appear once time passes: two months later, with a new checkpoint.
TEST(CheckpointTiers, OldCheckpointsGoColdAndRestoreByteForByte) {
  Fixture f;
  std::map<int64_t, std::map<std::string, std::string>> original;
  for (int64_t s : f.steps) original[s] = files_of(f.tmp.path() / step_name(s));
  make_checkpoint(f.tmp.path(), 9000, f.now + 60 * kDay);
  point_latest(f.tmp.path(), 9000);
  f.now += 60 * kDay + kHour;
  const auto tiers = expected_tiers(f, RetentionPolicy{});
  int64_t target = -1;
  for (const auto& [step, t] : tiers) {
    if (t == Tier::kCold) target = step;
  }
  PruneOptions o;
  o.now = f.now;
  const PruneReport r = prune_checkpoints(f.root(), o);
  expect_final_state(f, tiers);
  for (const auto& a : r.actions) {
    if (a.kind == PruneAction::kCompress) EXPECT_GT(a.bytes_after, 0u);
  }

  // A cold archive restores to the same bytes and times.
  ASSERT_GE(target, 0);
  const auto before = expected_tiers(f, RetentionPolicy{});
  const std::string dir = restore_checkpoint(f.root(), target);
  EXPECT_EQ(dir, (f.tmp.path() / step_name(target)).string());
  EXPECT_EQ(files_of(dir), original.at(target));
  EXPECT_TRUE(whole_directory(dir));
  EXPECT_TRUE(fs::exists(archive_of(f.tmp.path(), target)));
  EXPECT_EQ(expected_tiers(f, RetentionPolicy{}), before) << "a restore changed a decision";
  EXPECT_THROW(restore_checkpoint(f.root(), target), ConfigError);
  EXPECT_THROW(restore_checkpoint(f.root(), 12345), ConfigError);
  // The next prune drops the restored directory again: the archive stays.
  prune_checkpoints(f.root(), o);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::exists(archive_of(f.tmp.path(), target)));
}

TEST(CheckpointTiers, PartialsGoOnlyWhenOlderThanTheNewestComplete) {
  Fixture f;
  const fs::path stale = f.tmp.path() / (step_name(150) + ".partial");
  const fs::path live = f.tmp.path() / (step_name(99999) + ".partial");
  fs::create_directories(stale / "blocks");
  fs::create_directories(live / "blocks");
  set_mtime(stale / "blocks", f.now - 30 * kDay);
  set_mtime(stale, f.now - 30 * kDay);
  PruneOptions o;
  o.now = f.now;
  prune_checkpoints(f.root(), o);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
}

TEST(CheckpointTiers, RefusesALatestThatIsNotAWholeDirectoryAndAMissingRoot) {
  Fixture f;
  point_latest(f.tmp.path(), 4242);
  PruneOptions o;
  o.now = f.now;
  try {
    prune_checkpoints(f.root(), o);
    FAIL() << "pruned with a dangling latest";
  } catch (const CorruptFile& e) {
    EXPECT_NE(e.why_part().find("step-00004242"), std::string::npos) << e.why_part();
  }
  for (int64_t s : f.steps) EXPECT_TRUE(fs::exists(f.tmp.path() / step_name(s)));
  EXPECT_THROW(list_checkpoints(f.root() + "/nowhere", 0, RetentionPolicy{}), ConfigError);
  EXPECT_THROW(prune_checkpoints(f.root() + "/nowhere", o), ConfigError);
  write_file_atomic((f.tmp.path() / "latest").string(), "../etc\n");
  EXPECT_THROW(list_checkpoints(f.root(), 0, RetentionPolicy{}), CorruptFile);
}

TEST(CheckpointTiers, ADamagedDirectoryIsListedAndLeftAlone) {
  Fixture f;
  fs::create_directories(f.tmp.path() / step_name(55));
  const CheckpointListing l = list_checkpoints(f.root(), f.now, RetentionPolicy{});
  bool seen = false;
  for (const auto& c : l.checkpoints) {
    if (c.step == 55) {
      seen = true;
      EXPECT_EQ(c.form, StoredForm::kDamaged);
      EXPECT_EQ(c.problem, "no manifest.json");
    }
  }
  EXPECT_TRUE(seen);
  PruneOptions o;
  o.now = f.now;
  prune_checkpoints(f.root(), o);
  EXPECT_TRUE(fs::exists(f.tmp.path() / step_name(55)));
}

// A prune killed with SIGKILL at a random moment, many times: every checkpoint
// is whole in its old form or its new one (both are allowed mid-move), none a
// rule keeps is lost, `latest` is untouched; the next prune finishes the job.
TEST(CheckpointTiers, SurvivesSigkillAtAnyMoment) {
  std::mt19937 rng(12345);
  double full_us = 0;
  int mid_way = 0;
  const int kRuns = 40;
  for (int run = 0; run < kRuns; ++run) {
    Fixture f(64 * 1024);
    make_checkpoint(f.tmp.path(), 9000, f.now + 60 * kDay);  // so that some go cold
    point_latest(f.tmp.path(), 9000);
    f.now += 60 * kDay + kHour;
    const auto tiers = expected_tiers(f, RetentionPolicy{});
    PruneOptions o;
    o.now = f.now;
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        prune_checkpoints(f.root(), o);
      } catch (...) {
        ::_exit(1);  // the parent sees the exit code
      }
      ::_exit(0);
    }
    if (run > 0) {
      // The first run measures a whole prune; the others are killed within it.
      std::uniform_real_distribution<double> when(0, full_us);
      ::usleep(static_cast<useconds_t>(when(rng)));
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (run == 0) {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      full_us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    }
    ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "prune failed in run " << run;

    bool changed = false, finished = true;
    for (const auto& [step, tier] : tiers) {
      const fs::path dir = f.tmp.path() / step_name(step);
      const fs::path archive = archive_of(f.tmp.path(), step);
      const bool has_dir = fs::exists(dir), has_archive = fs::exists(archive);
      if (has_dir) EXPECT_TRUE(whole_directory(dir)) << "run " << run << " step " << step;
      if (has_archive)
        EXPECT_NO_THROW(verify_checkpoint_archive(archive.string())) << "run " << run;
      if (tier != Tier::kRemove) EXPECT_TRUE(has_dir || has_archive) << "lost step " << step;
      if (tier == Tier::kHot || tier == Tier::kWarm) EXPECT_TRUE(has_dir) << step;
      changed |= !has_dir || has_archive;
      finished &= has_dir == (tier == Tier::kHot || tier == Tier::kWarm) &&
                  has_archive == (tier == Tier::kCold);
    }
    mid_way += changed && !finished;
    EXPECT_EQ(read_file((f.tmp.path() / "latest").string()), step_name(9000) + "\n");
    prune_checkpoints(f.root(), o);
    expect_final_state(f, tiers);
    if (::testing::Test::HasFailure()) break;
  }
  std::printf("%d of %d prunes were killed mid-way (a whole prune took %.0f us)\n", mid_way,
              kRuns - 1, full_us);
}

}  // namespace
}  // namespace dec::runtime
