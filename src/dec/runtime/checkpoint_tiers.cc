#include "dec/runtime/checkpoint_tiers.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/runtime/checkpoint_archive.h"

namespace dec::runtime {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kCold = "cold";
constexpr const char* kTrash = ".prune-trash-";
constexpr const char* kRestoring = ".restore-";
constexpr const char* kArchiveSuffix = ".tar.zst";

// "step-<digits><suffix>" -> the step.
std::optional<int64_t> step_of(const std::string& name, const std::string& suffix) {
  if (name.rfind("step-", 0) != 0 || name.size() <= 5 + suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  const std::string digits = name.substr(5, name.size() - 5 - suffix.size());
  if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
    return std::nullopt;
  return std::stoll(digits);
}

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
  return buf;
}

std::string archive_path(const std::string& root, int64_t step) {
  return (fs::path(root) / kCold / (step_name(step) + kArchiveSuffix)).string();
}

int64_t mtime_of(const fs::path& p) {
  struct stat st;
  DEC_CHECK(::stat(p.c_str(), &st) == 0, IoError, "cannot stat", p.string(), std::strerror(errno));
  return st.st_mtim.tv_sec;
}

// Total bytes of the regular files under `dir`, and the newest change there.
std::pair<uint64_t, int64_t> tree_size(const fs::path& dir) {
  uint64_t bytes = 0;
  int64_t newest = mtime_of(dir);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) bytes += it->file_size(ec2);
    struct stat st;
    if (::stat(it->path().c_str(), &st) == 0) newest = std::max<int64_t>(newest, st.st_mtim.tv_sec);
  }
  return {bytes, newest};
}

// The step a manifest states, or why it cannot be read.
std::optional<int64_t> manifest_step(const std::string& text, std::string& problem) {
  try {
    const json m = json::parse(text);
    (void)m.at("files").get<std::map<std::string, std::string>>();
    return m.at("step").get<int64_t>();
  } catch (const json::exception& e) {
    problem = std::string("invalid manifest.json: ") + e.what();
    return std::nullopt;
  }
}

std::optional<int64_t> read_latest(const fs::path& root) {
  const fs::path p = root / "latest";
  if (!fs::exists(p)) return std::nullopt;
  std::string name = read_file(p.string());
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  auto step = step_of(name, "");
  DEC_CHECK(step.has_value(), CorruptFile, "invalid checkpoint pointer", p.string(), "'", name,
            "'");
  return step;
}

StoredCheckpoint scan_directory(const fs::path& p, int64_t step) {
  StoredCheckpoint c;
  c.step = step;
  c.dir = p.string();
  c.dir_bytes = tree_size(p).first;
  const fs::path manifest = p / "manifest.json";
  if (!fs::exists(manifest)) {
    c.form = StoredForm::kDamaged;
    c.problem = "no manifest.json";
    return c;
  }
  c.completed_at = mtime_of(manifest);
  const auto stated = manifest_step(read_file(manifest.string()), c.problem);
  if (!stated || *stated != step) {
    c.form = StoredForm::kDamaged;
    if (stated) c.problem = str("its manifest says step ", *stated);
  }
  return c;
}

StoredCheckpoint scan_archive(const fs::path& p, int64_t step) {
  StoredCheckpoint c;
  c.step = step;
  c.form = StoredForm::kArchive;
  c.archive = p.string();
  c.archive_bytes = fs::file_size(p);
  try {
    const ArchivedManifest m = read_archived_manifest(c.archive);
    c.completed_at = m.mtime;
    const auto stated = manifest_step(m.text, c.problem);
    if (!stated || *stated != step || m.top != step_name(step)) {
      c.form = StoredForm::kDamaged;
      if (stated) c.problem = str("it holds ", m.top, ", step ", *stated);
    }
  } catch (const CorruptFile& e) {
    c.form = StoredForm::kDamaged;
    c.problem = e.why_part();
  }
  return c;
}

// Holds root/.prune.lock for one prune or restore.
class RootLock {
 public:
  explicit RootLock(const std::string& root) {
    const std::string path = (fs::path(root) / ".prune.lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    DEC_CHECK(fd_ >= 0, IoError, "cannot open lock file", path, std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw ConfigError("checkpoints are busy", path,
                        "another `dec checkpoints prune` or `restore` is working on this root");
    }
  }
  ~RootLock() { ::close(fd_); }
  RootLock(const RootLock&) = delete;
  RootLock& operator=(const RootLock&) = delete;

 private:
  int fd_ = -1;
};

// A directory leaves its name in one rename, then is deleted at leisure.
void drop_directory(const std::string& root, const std::string& dir) {
  const std::string trash = (fs::path(root) / (kTrash + fs::path(dir).filename().string() + "-" +
                                               std::to_string(::getpid())))
                                .string();
  std::error_code ec;
  fs::rename(dir, trash, ec);
  DEC_CHECK(!ec, IoError, "cannot remove checkpoint", dir, ec.message());
  fsync_path(root);
  fs::remove_all(trash, ec);
  DEC_CHECK(!ec, IoError, "cannot remove checkpoint", trash, ec.message());
}

void drop_archive(const std::string& archive) {
  DEC_CHECK(::unlink(archive.c_str()) == 0, IoError, "cannot remove archive", archive,
            std::strerror(errno));
  fsync_path(fs::path(archive).parent_path().string());
}

// Hidden leftovers of killed prunes and restores; the caller holds the lock.
int remove_leftovers(const std::string& root) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kTrash, 0) == 0 || name.rfind(kRestoring, 0) == 0) {
      fs::remove_all(e.path());
      ++n;
    }
  }
  const fs::path cold = fs::path(root) / kCold;
  if (fs::is_directory(cold)) {
    for (const auto& e : fs::directory_iterator(cold)) {
      const std::string name = e.path().filename().string();
      if (name[0] == '.' && name.find(".tmp.") != std::string::npos) {
        fs::remove(e.path());
        ++n;
      }
    }
  }
  return n;
}

}  // namespace

const char* form_name(StoredForm f) {
  switch (f) {
    case StoredForm::kDirectory:
      return "directory";
    case StoredForm::kArchive:
      return "zstd";
    case StoredForm::kBoth:
      return "directory+zstd";
    case StoredForm::kPartial:
      return "partial";
    case StoredForm::kDamaged:
      return "damaged";
  }
  return "?";
}

const char* action_name(PruneAction::Kind k) {
  switch (k) {
    case PruneAction::kCompress:
      return "compress";
    case PruneAction::kDropDirectory:
      return "remove";
    case PruneAction::kDropArchive:
      return "remove archive";
    case PruneAction::kDropPartial:
      return "remove partial";
  }
  return "?";
}

CheckpointListing list_checkpoints(const std::string& root, int64_t now,
                                   const RetentionPolicy& policy) {
  DEC_CHECK(fs::is_directory(root), ConfigError, "no checkpoint directory", root,
            fs::exists(root) ? "not a directory" : "no such directory");
  CheckpointListing out;
  out.root = root;
  out.latest_step = read_latest(root);
  std::map<int64_t, StoredCheckpoint> whole;  // by step: directory, archive or both
  std::vector<StoredCheckpoint> others;       // partial and damaged
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory()) continue;
    if (auto step = step_of(name, ".partial")) {
      StoredCheckpoint c;
      c.step = *step;
      c.form = StoredForm::kPartial;
      c.dir = e.path().string();
      std::tie(c.dir_bytes, c.completed_at) = tree_size(e.path());
      others.push_back(c);
    } else if (auto step = step_of(name, "")) {
      StoredCheckpoint c = scan_directory(e.path(), *step);
      if (c.form == StoredForm::kDamaged) {
        others.push_back(c);
      } else {
        whole[*step] = c;
      }
    }
  }
  const fs::path cold = fs::path(root) / kCold;
  if (fs::is_directory(cold)) {
    for (const auto& e : fs::directory_iterator(cold)) {
      auto step = step_of(e.path().filename().string(), kArchiveSuffix);
      if (!step || !e.is_regular_file()) continue;
      StoredCheckpoint c = scan_archive(e.path(), *step);
      auto it = whole.find(*step);
      if (c.form == StoredForm::kDamaged) {
        others.push_back(c);
      } else if (it == whole.end()) {
        whole[*step] = c;
      } else {
        it->second.form = StoredForm::kBoth;
        it->second.archive = c.archive;
        it->second.archive_bytes = c.archive_bytes;
      }
    }
  }
  for (auto& [step, c] : whole) out.checkpoints.push_back(c);
  out.checkpoints.insert(out.checkpoints.end(), others.begin(), others.end());
  std::stable_sort(
      out.checkpoints.begin(), out.checkpoints.end(),
      [](const StoredCheckpoint& a, const StoredCheckpoint& b) { return a.step < b.step; });
  std::vector<RetentionInput> inputs;
  std::vector<size_t> index;  // inputs[k] is checkpoints[index[k]]
  for (size_t i = 0; i < out.checkpoints.size(); ++i) {
    const StoredCheckpoint& c = out.checkpoints[i];
    if (c.form == StoredForm::kDamaged) continue;
    inputs.push_back({c.step, c.completed_at, c.form != StoredForm::kPartial});
    index.push_back(i);
  }
  const auto decided = decide_retention(inputs, now, policy, out.latest_step);
  out.decisions.resize(out.checkpoints.size());
  for (size_t k = 0; k < index.size(); ++k) out.decisions[index[k]] = decided[k];
  return out;
}

PruneReport prune_checkpoints(const std::string& root, const PruneOptions& o) {
  validate(o.policy);
  DEC_CHECK(o.level >= 1 && o.level <= kMaxArchiveLevel, ConfigError, "invalid compression level",
            "--level", "must be in 1..", kMaxArchiveLevel, ", got ", o.level);
  DEC_CHECK(fs::is_directory(root), ConfigError, "no checkpoint directory", root,
            fs::exists(root) ? "not a directory" : "no such directory");
  std::optional<RootLock> lock;
  PruneReport r;
  if (!o.dry_run) {
    lock.emplace(root);
    r.leftovers_removed = remove_leftovers(root);
  }
  r.before = list_checkpoints(root, o.now, o.policy);
  const auto& cps = r.before.checkpoints;
  if (r.before.latest_step) {
    const int64_t latest = *r.before.latest_step;
    const bool whole = std::any_of(cps.begin(), cps.end(), [&](const StoredCheckpoint& c) {
      return c.step == latest && (c.form == StoredForm::kDirectory || c.form == StoredForm::kBoth);
    });
    DEC_CHECK(whole, CorruptFile, "cannot prune", (fs::path(root) / "latest").string(), "it names ",
              step_name(latest), ", which is not a whole checkpoint directory here",
              " (restore it first, or point `latest` at one)");
  }
  for (size_t i = 0; i < cps.size(); ++i) {
    const StoredCheckpoint& c = cps[i];
    const Tier tier = r.before.decisions[i].tier;
    const bool has_dir = c.form == StoredForm::kDirectory || c.form == StoredForm::kBoth;
    const bool has_archive = c.form == StoredForm::kArchive || c.form == StoredForm::kBoth;
    std::vector<PruneAction> todo;
    if (c.form == StoredForm::kPartial && tier == Tier::kRemove) {
      todo.push_back({PruneAction::kDropPartial, c.step, c.dir, c.dir_bytes, 0});
    } else if (c.form == StoredForm::kDamaged || c.form == StoredForm::kPartial) {
      continue;
    } else if (tier == Tier::kCold && has_dir) {
      if (!has_archive) todo.push_back({PruneAction::kCompress, c.step, c.dir, c.dir_bytes, 0});
      todo.push_back({PruneAction::kDropDirectory, c.step, c.dir, c.dir_bytes, 0});
    } else if ((tier == Tier::kHot || tier == Tier::kWarm) && has_dir && has_archive) {
      todo.push_back({PruneAction::kDropArchive, c.step, c.archive, c.archive_bytes, 0});
    } else if (tier == Tier::kRemove) {
      if (has_dir) todo.push_back({PruneAction::kDropDirectory, c.step, c.dir, c.dir_bytes, 0});
      if (has_archive)
        todo.push_back({PruneAction::kDropArchive, c.step, c.archive, c.archive_bytes, 0});
    }
    for (PruneAction& a : todo) {
      DEC_ASSERT(a.kind == PruneAction::kDropArchive || a.kind == PruneAction::kCompress ||
                     !r.before.latest_step || c.step != *r.before.latest_step,
                 "prune would remove the checkpoint `latest` names");
      if (!o.dry_run) {
        if (a.kind == PruneAction::kCompress) {
          fs::create_directories(fs::path(root) / kCold);
          fsync_path(root);
          const std::string out = archive_path(root, c.step);
          write_checkpoint_archive(c.dir, out, o.level);
          a.bytes_after = verify_checkpoint_archive(out).bytes_out;
        } else if (a.kind == PruneAction::kDropArchive) {
          drop_archive(a.path);
        } else {
          drop_directory(root, a.path);
        }
      }
      r.actions.push_back(a);
    }
  }
  return r;
}

std::string restore_checkpoint(const std::string& root, int64_t step) {
  DEC_CHECK(fs::is_directory(root), ConfigError, "no checkpoint directory", root,
            fs::exists(root) ? "not a directory" : "no such directory");
  RootLock lock(root);
  remove_leftovers(root);
  const std::string archive = archive_path(root, step);
  DEC_CHECK(fs::exists(archive), ConfigError, "no archived checkpoint", archive,
            "`dec checkpoints list ", root, "` shows which steps are compressed");
  const std::string final_dir = (fs::path(root) / step_name(step)).string();
  DEC_CHECK(!fs::exists(final_dir), ConfigError, "checkpoint is already a directory", final_dir,
            "nothing to restore");
  const std::string tmp =
      (fs::path(root) / (kRestoring + step_name(step) + "-" + std::to_string(::getpid()))).string();
  fs::create_directories(tmp);
  try {
    const std::string top = extract_checkpoint_archive(archive, tmp);
    DEC_CHECK(fs::path(top).filename() == step_name(step), CorruptFile,
              "invalid checkpoint archive", archive, "it holds ",
              fs::path(top).filename().string());
    std::error_code ec;
    fs::rename(top, final_dir, ec);
    DEC_CHECK(!ec, IoError, "cannot restore checkpoint", final_dir, ec.message());
    fsync_path(root);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);  // rethrown: the half-extracted copy is no one's
    throw;
  }
  fs::remove_all(tmp);
  return final_dir;
}

}  // namespace dec::runtime
