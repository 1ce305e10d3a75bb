#include "dec/data/byte_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>

#include "dec/core/error.h"

namespace dec::data::detail {
namespace {

constexpr const char* kInvalid = "invalid gzip file";
// Big enough that read(2) and inflate calls are few, small enough to be cheap.
constexpr size_t kChunkBytes = size_t{1} << 18;
// Deflate cannot expand by more than 1032:1 (a 258-byte match per ~2 bits).
constexpr uint64_t kMaxDeflateRatio = 1032;

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
         static_cast<uint8_t>(bytes[1]) == 0x8b;
}

}  // namespace

struct ByteStream::Inflater {
  z_stream z{};
  bool ended = false;        // the last member's trailer was checked
  int members_ended = 0;

  Inflater() {
    // 16 + MAX_WBITS: gzip wrapper only, so zlib checks the CRC-32 and length.
    const int rc = inflateInit2(&z, 16 + MAX_WBITS);
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    DEC_ASSERT(rc == Z_OK, "inflateInit2 returned ", rc);
  }
  ~Inflater() { inflateEnd(&z); }
};

ByteStream::ByteStream(const std::string& path) : where_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  DEC_CHECK(fd_ >= 0, IoError, "cannot read file", path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw IoError("cannot read file", path, std::strerror(err));
  }
  raw_size_ = static_cast<uint64_t>(st.st_size);
  buffer_.resize(kChunkBytes);
  try {
    fetch();
    start(chunk_);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

ByteStream::ByteStream(std::string_view bytes, std::string where)
    : where_(std::move(where)), raw_size_(bytes.size()), memory_(bytes) {
  fetch();
  start(chunk_);
}

ByteStream::~ByteStream() {
  if (fd_ >= 0) ::close(fd_);
}

void ByteStream::start(std::string_view first) {
  if (is_gzip(first)) inflater_ = std::make_unique<Inflater>();
}

void ByteStream::fetch() {
  if (fd_ < 0) {
    chunk_ = memory_;
    memory_ = {};
    return;
  }
  // Fill the whole buffer (short reads are legal), so that only the last
  // chunk is short and the gzip magic is never split.
  size_t got = 0;
  while (got < buffer_.size()) {
    const ssize_t n = ::read(fd_, buffer_.data() + got, buffer_.size() - got);
    if (n < 0 && errno == EINTR) continue;
    DEC_CHECK(n >= 0, IoError, "cannot read file", where_, std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  chunk_ = std::string_view(buffer_.data(), got);
}

uint64_t ByteStream::max_output() const {
  return gzip() ? raw_size_ * kMaxDeflateRatio : raw_size_ - plain_read_;
}

size_t ByteStream::read(uint8_t* dst, size_t n) {
  size_t done = 0;
  if (!gzip()) {
    while (done < n) {
      if (chunk_.empty()) fetch();
      if (chunk_.empty()) break;
      const size_t k = std::min(n - done, chunk_.size());
      std::memcpy(dst + done, chunk_.data(), k);
      chunk_.remove_prefix(k);
      done += k;
    }
    plain_read_ += done;
    return done;
  }
  while (done < n && !inflater_->ended) done += inflate_some(dst + done, n - done);
  return done;
}

bool ByteStream::feed_inflater() {
  if (chunk_.empty()) fetch();
  if (chunk_.empty()) return false;
  z_stream& z = inflater_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk_.data()));
  z.avail_in = static_cast<uInt>(chunk_.size());  // chunks are far below 4 GiB
  chunk_ = {};
  return true;
}

size_t ByteStream::inflate_some(uint8_t* dst, size_t n) {
  z_stream& z = inflater_->z;
  if (z.avail_in == 0) {
    DEC_CHECK(feed_inflater(), CorruptFile, kInvalid, where_,
              "unexpected end of file: the gzip stream is truncated after ", raw_size_,
              " compressed bytes");
  }
  z.next_out = dst;
  z.avail_out = static_cast<uInt>(std::min<size_t>(n, UINT_MAX));
  const uInt room = z.avail_out;
  const int rc = inflate(&z, Z_NO_FLUSH);
  const size_t produced = room - z.avail_out;
  if (rc == Z_STREAM_END) {
    // Another member may follow (gunzip reads them as one stream); it must
    // start with the gzip magic, which inflate checks after the reset.
    ++inflater_->members_ended;
    if (z.avail_in == 0 && !feed_inflater()) {
      inflater_->ended = true;
    } else {
      const int reset = inflateReset(&z);
      DEC_ASSERT(reset == Z_OK, "inflateReset returned ", reset);
    }
  } else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
    const std::string msg = z.msg ? z.msg : "bad data";
    // Nothing decoded since the last member's end: not a member at all.
    DEC_CHECK(inflater_->members_ended == 0 || z.total_out > 0, CorruptFile, kInvalid, where_,
              "garbage after the end of the gzip stream (", msg, ")");
    // zlib's words: "incorrect data check" (CRC-32), "invalid block type"...
    throw CorruptFile(kInvalid, where_, "damaged gzip stream: " + msg);
  } else if (rc == Z_MEM_ERROR) {
    throw std::bad_alloc();
  } else {
    // Z_BUF_ERROR only means "no progress"; with input and output space
    // available inflate always progresses, so anything else is a bug.
    DEC_ASSERT(rc == Z_OK || rc == Z_BUF_ERROR, "inflate returned ", rc);
  }
  return produced;
}

}  // namespace dec::data::detail
