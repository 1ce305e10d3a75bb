// A checkpoint directory as one zstd-compressed POSIX tar (ustar), the form of
// the cold tier (docs/checkpoint.md, "Retention"). Standard tools read it:
//   zstd -dc step-00000500.tar.zst | tar x
// gives back step-00000500/ with every file byte for byte.
//
// Entries are "step-N/manifest.json" first (so a listing decompresses only the
// start), then every other regular file of the directory in name order, each
// with its modification time (whole seconds); no directory entries. Frames carry
// zstd's content checksum, and every file listed in the manifest is checked
// against its sha256 when it is archived, verified and extracted.
//
// Failure: CorruptFile naming the file for a checkpoint or archive whose content
// is wrong (sha256, truncation, zstd error, an entry outside step-N/ or not a
// regular file), IoError for what the operating system refuses. Thread safety:
// none needed; every call works on its own files.
#pragma once

#include <cstdint>
#include <string>

namespace dec::runtime {

// zstd levels accepted for archives (above 19, zstd's "ultra" levels need far more memory).
inline constexpr int kMaxArchiveLevel = 19;

struct ArchiveStats {
  uint64_t files = 0;
  uint64_t bytes_in = 0;   // the files' bytes, uncompressed
  uint64_t bytes_out = 0;  // the archive's size
};

// Writes the checkpoint directory `step_dir` (…/step-N, complete) as `out`:
// to a hidden temporary beside it, fsync'd, renamed to `out`, directory
// fsync'd, so `out` is either absent or complete. `level`: zstd's, 1..19.
ArchiveStats write_checkpoint_archive(const std::string& step_dir, const std::string& out,
                                      int level);

// Reads `archive` through, checking its frames and every entry against the
// manifest it carries, and writes nothing.
ArchiveStats verify_checkpoint_archive(const std::string& archive);

struct ArchivedManifest {
  std::string top;    // "step-00000500", the directory the archive holds
  std::string text;   // manifest.json
  int64_t mtime = 0;  // manifest.json's modification time: the save's completion
};
// The archive's first entry, decompressing only the start.
ArchivedManifest read_archived_manifest(const std::string& archive);

// Extracts into the existing directory `dest` (dest/step-N/…, which must not
// exist): files fsync'd, modification times restored, each listed file checked
// against the manifest. Returns dest/step-N. On failure what was written stays
// in dest for the caller to remove.
std::string extract_checkpoint_archive(const std::string& archive, const std::string& dest);

}  // namespace dec::runtime
