// Sequential reading of a file's bytes, inflated with zlib if they are gzip
// (private to dec_data).
//
// The raw bytes come from a file, read in fixed-size chunks so that memory
// stays bounded whatever the file's size, or from memory (the seam tests and
// in-memory sources use). A gzip file may hold several members, read as their
// concatenation as gunzip does; anything else after the last member, a
// truncated stream or a failed CRC-32/length check is a CorruptFile naming
// where(). Not thread-safe; one reader per stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dec::data::detail {

class ByteStream {
 public:
  // Opens `path`; throws IoError naming it if it cannot be opened or read.
  explicit ByteStream(const std::string& path);
  // Reads `bytes`, which must outlive the stream; `where` names them in errors.
  ByteStream(std::string_view bytes, std::string where);
  ~ByteStream();
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  const std::string& where() const { return where_; }
  bool gzip() const { return inflater_ != nullptr; }
  // An upper bound of the bytes read() can still yield: exact for plain data,
  // the most deflate can expand the whole file to for gzip.
  uint64_t max_output() const;
  // Fills dst with up to n bytes; fewer only at the end of the data. Reaching
  // the end of a gzip stream verifies its trailer (CRC-32 and length).
  size_t read(uint8_t* dst, size_t n);

 private:
  struct Inflater;
  // Makes chunk_ the next raw bytes; leaves it empty at the end of the input.
  void fetch();
  // Hands chunk_ (fetching one if empty) to zlib; false at the end of the input.
  bool feed_inflater();
  size_t inflate_some(uint8_t* dst, size_t n);
  void start(std::string_view first);

  std::string where_;
  int fd_ = -1;                 // the file, or -1 when reading memory
  uint64_t raw_size_ = 0;       // bytes in the file or in memory
  uint64_t plain_read_ = 0;     // plain bytes handed out so far
  std::string_view memory_;     // memory not yet fetched
  std::vector<char> buffer_;    // file chunk storage
  std::string_view chunk_;      // fetched bytes not yet copied or handed to zlib
  std::unique_ptr<Inflater> inflater_;  // set iff the data is gzip
};

}  // namespace dec::data::detail
