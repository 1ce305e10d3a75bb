// A checkpoint root's retention tiers on disk (`dec checkpoints list|prune|restore`,
// docs/checkpoint.md "Retention"). The policy is retention.h's; this applies it:
//
//   root/step-N/              hot and warm checkpoints (checkpoint.h's layout)
//   root/step-N.partial/      a save in progress or killed
//   root/cold/step-N.tar.zst  cold checkpoints (checkpoint_archive.h)
//
// A checkpoint's completion time is its manifest.json's modification time
// (whole seconds; the manifest is written last), kept in the archive.
//
// Crash safety: every change to one checkpoint is a single rename or unlink,
// so a prune killed at any moment leaves each checkpoint either as it was or in
// its new form, never half:
//   compress  the archive is written to a hidden temporary in cold/, fsync'd and
//             renamed, then the directory goes as below (between the two, both
//             forms are whole and the next prune finishes the move);
//   remove    a directory is renamed to a hidden root/.prune-trash-* (one rename;
//             root fsync'd) and only then deleted; an archive is unlinked.
// Leftovers of a killed prune (hidden temporaries and trash) are deleted by the
// next prune or restore. Prune never touches what `latest` names, so resume and
// `dec export` open the same checkpoint after it; it only moves checkpoints
// down (directory to archive to nothing) and never decompresses.
//
// One prune or restore at a time per root (root/.prune.lock, flock); a training
// run may save meanwhile: its new checkpoints are not seen by a prune that has
// already listed the root. Thread safety: none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dec/runtime/retention.h"

namespace dec::runtime {

enum class StoredForm {
  kDirectory,  // root/step-N
  kArchive,    // root/cold/step-N.tar.zst
  kBoth,       // both, whole (a restored one, or a prune killed mid-move)
  kPartial,    // root/step-N.partial
  kDamaged,    // a step-N directory or archive whose manifest cannot be read: left alone
};
const char* form_name(StoredForm f);

struct StoredCheckpoint {
  int64_t step = 0;
  int64_t completed_at = 0;  // UTC seconds (a partial one's newest change)
  StoredForm form = StoredForm::kDirectory;
  std::string dir;      // root/step-N or root/step-N.partial, "" if none
  std::string archive;  // root/cold/step-N.tar.zst, "" if none
  uint64_t dir_bytes = 0, archive_bytes = 0;
  std::string problem;  // kDamaged: why
};

struct CheckpointListing {
  std::string root;
  std::optional<int64_t> latest_step;         // what root/latest names
  std::vector<StoredCheckpoint> checkpoints;  // by step, then form
  std::vector<RetentionDecision> decisions;   // one per checkpoint (damaged: kept_by empty)
};

// Lists `root` and decides with `policy` at `now`. ConfigError when root is not a
// directory, CorruptFile for an unreadable `latest`.
CheckpointListing list_checkpoints(const std::string& root, int64_t now,
                                   const RetentionPolicy& policy);

struct PruneOptions {
  RetentionPolicy policy;
  int64_t now = 0;       // UTC seconds
  bool dry_run = false;  // decide and report, change nothing
  int level = 3;         // zstd level of new archives, 1..19
};

struct PruneAction {
  enum Kind { kCompress, kDropDirectory, kDropArchive, kDropPartial } kind;
  int64_t step = 0;
  std::string path;           // what was archived or removed
  uint64_t bytes_before = 0;  // the directory's or archive's size
  uint64_t bytes_after = 0;   // kCompress: the new archive's size (0 in a dry run)
};
const char* action_name(
    PruneAction::Kind k);  // "compress", "remove", "remove archive", "remove partial"

struct PruneReport {
  CheckpointListing before;
  std::vector<PruneAction> actions;  // in the order done
  int leftovers_removed = 0;         // of killed prunes and restores
};

// Applies the decisions: cold directories are archived (and verified) then
// removed, the rest that no rule keeps removed, stale partials removed; an
// archive of a checkpoint kept uncompressed is removed. Refuses (CorruptFile)
// when `latest` names a checkpoint that is not a whole directory here, and
// (ConfigError) when another prune or restore holds the lock. A corrupt
// checkpoint met while compressing ends the prune (CorruptFile naming the file);
// what was done before stays done.
PruneReport prune_checkpoints(const std::string& root, const PruneOptions& options);

// Extracts root/cold/step-N.tar.zst back to root/step-N (verified, then one
// rename) and returns that directory; the archive stays. ConfigError when there
// is no such archive or root/step-N exists. Resume with `--resume root/step-N`;
// the next prune removes the directory again if the checkpoint is still cold.
std::string restore_checkpoint(const std::string& root, int64_t step);

}  // namespace dec::runtime
