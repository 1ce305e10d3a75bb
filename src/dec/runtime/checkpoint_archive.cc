#include "dec/runtime/checkpoint_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/core/sha256.h"

namespace dec::runtime {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kBlock = 512;
constexpr const char* kManifest = "manifest.json";

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void write_all(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    DEC_CHECK(w >= 0, IoError, "cannot write file", path, std::strerror(errno));
    data += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads up to n bytes; fewer only at the end of the file.
size_t read_some(int fd, char* data, size_t n, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, data + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    DEC_CHECK(r >= 0, IoError, "cannot read file", path, std::strerror(errno));
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

// Compresses everything written to it into one zstd frame in `fd`.
class ZstdWriter {
 public:
  ZstdWriter(int fd, std::string path, int level)
      : fd_(fd),
        path_(std::move(path)),
        cctx_(ZSTD_createCCtx(), &ZSTD_freeCCtx),
        out_(ZSTD_CStreamOutSize()) {
    DEC_ASSERT(cctx_ != nullptr);
    ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1);
  }
  void write(const char* data, size_t n) { pump(data, n, ZSTD_e_continue); }
  void finish() { pump(nullptr, 0, ZSTD_e_end); }
  uint64_t written() const { return written_; }

 private:
  void pump(const char* data, size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      const size_t left = ZSTD_compressStream2(cctx_.get(), &out, &in, mode);
      DEC_CHECK(!ZSTD_isError(left), IoError, "cannot compress", path_, ZSTD_getErrorName(left));
      write_all(fd_, out_.data(), out.pos, path_);
      written_ += out.pos;
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) break;
    }
  }
  int fd_;
  std::string path_;
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx_;
  std::vector<char> out_;
  uint64_t written_ = 0;
};

// Decompresses a file of zstd frames as a byte stream.
class ZstdReader {
 public:
  explicit ZstdReader(const std::string& path)
      : path_(path),
        fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)),
        dctx_(ZSTD_createDCtx(), &ZSTD_freeDCtx),
        in_(ZSTD_DStreamInSize()) {
    DEC_CHECK(fd_.get() >= 0, IoError, "cannot read file", path, std::strerror(errno));
    DEC_ASSERT(dctx_ != nullptr);
  }
  // Exactly n bytes, or CorruptFile for a truncated archive.
  void read(char* data, size_t n) {
    ZSTD_outBuffer out{data, n, 0};
    while (out.pos < out.size) {
      if (buf_.pos == buf_.size) {
        buf_ = {in_.data(), read_some(fd_.get(), in_.data(), in_.size(), path_), 0};
        DEC_CHECK(buf_.size > 0, CorruptFile, "invalid checkpoint archive", path_,
                  "truncated (the file ends inside the data)");
      }
      last_ = ZSTD_decompressStream(dctx_.get(), &out, &buf_);
      DEC_CHECK(!ZSTD_isError(last_), CorruptFile, "invalid checkpoint archive", path_,
                "zstd: ", ZSTD_getErrorName(last_));
    }
  }
  // After the tar's end: the frame must end there too (its checksum checked), and the file.
  void finish() {
    char extra;
    ZSTD_outBuffer out{&extra, 1, 0};
    while (last_ != 0) {
      if (buf_.pos == buf_.size) {
        buf_ = {in_.data(), read_some(fd_.get(), in_.data(), in_.size(), path_), 0};
        DEC_CHECK(buf_.size > 0, CorruptFile, "invalid checkpoint archive", path_,
                  "truncated (the zstd frame does not end)");
      }
      last_ = ZSTD_decompressStream(dctx_.get(), &out, &buf_);
      DEC_CHECK(!ZSTD_isError(last_) && out.pos == 0, CorruptFile, "invalid checkpoint archive",
                path_, ZSTD_isError(last_) ? ZSTD_getErrorName(last_) : "data after the tar's end");
    }
    DEC_CHECK(buf_.pos == buf_.size && read_some(fd_.get(), &extra, 1, path_) == 0, CorruptFile,
              "invalid checkpoint archive", path_, "data after the zstd frame");
  }

 private:
  std::string path_;
  Fd fd_;
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx_;
  std::vector<char> in_;
  ZSTD_inBuffer buf_{nullptr, 0, 0};
  size_t last_ = 1;
};

void put_octal(char* field, size_t width, uint64_t v) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                static_cast<unsigned long long>(v));
}

std::vector<char> tar_header(const std::string& name, uint64_t size, int64_t mtime) {
  std::vector<char> h(kBlock, 0);
  std::string prefix, base = name;
  if (base.size() > 100) {
    const size_t cut = name.rfind('/', 155);
    DEC_CHECK(cut != std::string::npos && name.size() - cut - 1 <= 100, ConfigError,
              "cannot archive checkpoint", name, "path too long for a tar entry");
    prefix = name.substr(0, cut);
    base = name.substr(cut + 1);
  }
  DEC_CHECK(size < (uint64_t{1} << 33), ConfigError, "cannot archive checkpoint", name, "file of ",
            size, " bytes (a tar entry holds under 8 GiB)");
  std::memcpy(&h[0], base.data(), base.size());
  put_octal(&h[100], 8, 0644);
  put_octal(&h[108], 8, 0);
  put_octal(&h[116], 8, 0);
  put_octal(&h[124], 12, size);
  put_octal(&h[136], 12, static_cast<uint64_t>(std::max<int64_t>(mtime, 0)));
  h[156] = '0';
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memcpy(&h[345], prefix.data(), prefix.size());
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

struct Entry {
  std::string name;  // "step-N/blocks/conv1.pt"
  uint64_t size = 0;
  int64_t mtime = 0;
};

uint64_t parse_octal(const char* field, size_t width, const std::string& where) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) v = v * 8 + (field[i] - '0');
  DEC_CHECK(i == width || field[i] == '\0' || field[i] == ' ', CorruptFile,
            "invalid checkpoint archive", where, "bad number in a tar header");
  return v;
}

// The next header, or false at the tar's end (a zero block).
bool next_entry(ZstdReader& r, Entry& e, const std::string& where) {
  char h[kBlock];
  r.read(h, kBlock);
  if (std::all_of(h, h + kBlock, [](char c) { return c == 0; })) return false;
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  }
  DEC_CHECK(parse_octal(&h[148], 8, where) == sum && std::memcmp(&h[257], "ustar", 5) == 0,
            CorruptFile, "invalid checkpoint archive", where, "bad tar header");
  DEC_CHECK(h[156] == '0' || h[156] == '\0', CorruptFile, "invalid checkpoint archive", where,
            "entry of type '", h[156], "' (only regular files are archived)");
  const std::string base(h, strnlen(h, 100)), prefix(&h[345], strnlen(&h[345], 155));
  e.name = prefix.empty() ? base : prefix + "/" + base;
  e.size = parse_octal(&h[124], 12, where);
  e.mtime = static_cast<int64_t>(parse_octal(&h[136], 12, where));
  return true;
}

std::map<std::string, std::string> manifest_files(const std::string& text,
                                                  const std::string& where) {
  try {
    return json::parse(text).at("files").get<std::map<std::string, std::string>>();
  } catch (const json::exception& e) {
    throw CorruptFile("invalid checkpoint manifest", where, e.what());
  }
}

// Streams the archive's entries to `sink(entry, chunk, n)` (n == 0 marks an
// entry's end), checking names and the manifest's hashes.
template <typename Sink>
ArchiveStats read_archive(const std::string& archive, Sink&& sink) {
  ZstdReader r(archive);
  ArchiveStats stats;
  std::map<std::string, std::string> expected;
  std::string top;
  std::vector<char> buf(1 << 16);
  Entry e;
  while (next_entry(r, e, archive)) {
    const size_t slash = e.name.find('/');
    if (top.empty() && slash != std::string::npos) top = e.name.substr(0, slash);
    const std::string rel = slash == std::string::npos ? "" : e.name.substr(slash + 1);
    DEC_CHECK(!top.empty() && e.name.substr(0, slash) == top && !rel.empty() &&
                  rel.find("..") == std::string::npos && rel[0] != '/',
              CorruptFile, "invalid checkpoint archive", archive, "bad entry name '", e.name, "'");
    DEC_CHECK(stats.files > 0 || rel == kManifest, CorruptFile, "invalid checkpoint archive",
              archive, "the first entry is '", e.name, "', not the manifest");
    Sha256 sha;
    std::string manifest;
    for (uint64_t left = e.size; left > 0;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      r.read(buf.data(), n);
      sha.update(buf.data(), n);
      if (stats.files == 0) manifest.append(buf.data(), n);
      sink(e, buf.data(), n);
      left -= n;
    }
    if (e.size % kBlock) r.read(buf.data(), kBlock - e.size % kBlock);
    sink(e, nullptr, 0);
    if (stats.files == 0) expected = manifest_files(manifest, archive + ":" + e.name);
    auto it = expected.find(rel);
    if (it != expected.end()) {
      const std::string actual = sha.hex();
      DEC_CHECK(actual == it->second, CorruptFile, "checkpoint archive is corrupt",
                archive + ":" + e.name, "sha256 is ", actual.substr(0, 12), "..., manifest says ",
                it->second.substr(0, 12), "...");
      expected.erase(it);
    }
    ++stats.files;
    stats.bytes_in += e.size;
  }
  r.read(buf.data(), kBlock);  // the second zero block
  r.finish();
  DEC_CHECK(stats.files > 0, CorruptFile, "invalid checkpoint archive", archive, "empty");
  DEC_CHECK(expected.empty(), CorruptFile, "incomplete checkpoint archive", archive,
            "listed file missing: ", expected.begin()->first);
  stats.bytes_out = fs::file_size(archive);
  return stats;
}

}  // namespace

ArchiveStats write_checkpoint_archive(const std::string& step_dir, const std::string& out,
                                      int level) {
  DEC_CHECK(level >= 1 && level <= kMaxArchiveLevel, ConfigError, "invalid compression level",
            "--level", "must be in 1..", kMaxArchiveLevel, ", got ", level);
  fs::path dir = fs::path(step_dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  const std::string top = dir.filename().string();
  const std::string manifest_path = (dir / kManifest).string();
  auto expected = manifest_files(read_file(manifest_path), manifest_path);
  std::vector<std::string> files{kManifest};
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_directory()) continue;
    DEC_CHECK(e.is_regular_file(), CorruptFile, "cannot archive checkpoint", e.path().string(),
              "not a regular file");
    const std::string rel = fs::relative(e.path(), dir).string();
    if (rel != kManifest) files.push_back(rel);
  }
  std::sort(files.begin() + 1, files.end());

  const fs::path target(out);
  const std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".tmp." +
                                                   std::to_string(::getpid())))
                              .string();
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  DEC_CHECK(fd.get() >= 0, IoError, "cannot write file", tmp, std::strerror(errno));
  ArchiveStats stats;
  try {
    ZstdWriter z(fd.get(), tmp, level);
    std::vector<char> buf(1 << 20);
    for (const auto& rel : files) {
      const std::string path = (dir / rel).string();
      Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      DEC_CHECK(in.get() >= 0, IoError, "cannot read file", path, std::strerror(errno));
      struct stat st;
      DEC_CHECK(::fstat(in.get(), &st) == 0, IoError, "cannot stat", path, std::strerror(errno));
      const uint64_t size = static_cast<uint64_t>(st.st_size);
      const auto h = tar_header(top + "/" + rel, size, st.st_mtim.tv_sec);
      z.write(h.data(), h.size());
      Sha256 sha;
      uint64_t done = 0;
      while (done < size) {
        const size_t n =
            read_some(in.get(), buf.data(), std::min<uint64_t>(buf.size(), size - done), path);
        DEC_CHECK(n > 0, IoError, "cannot read file", path, "it shrank while being archived");
        sha.update(buf.data(), n);
        z.write(buf.data(), n);
        done += n;
      }
      static const char kZeros[kBlock] = {};
      if (size % kBlock) z.write(kZeros, kBlock - size % kBlock);
      auto it = expected.find(rel);
      if (it != expected.end()) {
        const std::string actual = sha.hex();
        DEC_CHECK(actual == it->second, CorruptFile, "checkpoint file is corrupt", path,
                  "sha256 is ", actual.substr(0, 12), "..., manifest says ",
                  it->second.substr(0, 12), "...");
        expected.erase(it);
      }
      ++stats.files;
      stats.bytes_in += size;
    }
    DEC_CHECK(expected.empty(), CorruptFile, "incomplete checkpoint", step_dir,
              "listed file missing: ", expected.begin()->first);
    static const char kEnd[2 * kBlock] = {};
    z.write(kEnd, sizeof kEnd);
    z.finish();
    stats.bytes_out = z.written();
    DEC_CHECK(::fsync(fd.get()) == 0, IoError, "fsync failed", tmp, std::strerror(errno));
    DEC_CHECK(::rename(tmp.c_str(), out.c_str()) == 0, IoError, "cannot rename file",
              tmp + " -> " + out, std::strerror(errno));
  } catch (...) {
    ::unlink(tmp.c_str());  // rethrown: the temporary is no one's
    throw;
  }
  fsync_path(target.parent_path().empty() ? "." : target.parent_path().string());
  return stats;
}

ArchiveStats verify_checkpoint_archive(const std::string& archive) {
  return read_archive(archive, [](const Entry&, const char*, size_t) {});
}

ArchivedManifest read_archived_manifest(const std::string& archive) {
  ZstdReader r(archive);
  Entry e;
  DEC_CHECK(next_entry(r, e, archive), CorruptFile, "invalid checkpoint archive", archive, "empty");
  const size_t slash = e.name.find('/');
  DEC_CHECK(
      slash != std::string::npos && e.name.substr(slash + 1) == kManifest && e.size < (1 << 26),
      CorruptFile, "invalid checkpoint archive", archive, "the first entry is '", e.name,
      "', not the manifest");
  ArchivedManifest m;
  m.top = e.name.substr(0, slash);
  m.text.resize(e.size);
  r.read(m.text.data(), m.text.size());
  m.mtime = e.mtime;
  return m;
}

std::string extract_checkpoint_archive(const std::string& archive, const std::string& dest) {
  std::unique_ptr<Fd> out;
  std::string path, top;
  read_archive(archive, [&](const Entry& e, const char* data, size_t n) {
    if (!out) {
      path = (fs::path(dest) / e.name).string();
      if (top.empty()) {
        top = (fs::path(dest) / e.name.substr(0, e.name.find('/'))).string();
        DEC_CHECK(!fs::exists(top), IoError, "cannot extract checkpoint archive", top,
                  "already exists");
      }
      fs::create_directories(fs::path(path).parent_path());
      out =
          std::make_unique<Fd>(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      DEC_CHECK(out->get() >= 0, IoError, "cannot write file", path, std::strerror(errno));
    }
    if (n > 0) {
      write_all(out->get(), data, n, path);
      return;
    }
    DEC_CHECK(::fsync(out->get()) == 0, IoError, "fsync failed", path, std::strerror(errno));
    const struct timespec times[2] = {{e.mtime, 0}, {e.mtime, 0}};
    DEC_CHECK(::futimens(out->get(), times) == 0, IoError, "cannot set the time of", path,
              std::strerror(errno));
    out.reset();
  });
  // The new directories' entries, deepest first.
  std::vector<std::string> dirs{top};
  for (const auto& d : fs::recursive_directory_iterator(top)) {
    if (d.is_directory()) dirs.push_back(d.path().string());
  }
  std::sort(dirs.begin(), dirs.end());
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) fsync_path(*it);
  return top;
}

}  // namespace dec::runtime
