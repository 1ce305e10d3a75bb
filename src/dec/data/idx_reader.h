// Streaming IDX reading (private to dec_data): the header is parsed and
// validated first, then the payload is handed out in pieces, so a loader can
// reject a file by its dimensions before decompressing it and convert the
// payload without holding it all in memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dec/data/byte_stream.h"

namespace dec::data::detail {

class IdxReader {
 public:
  // Throws IoError if the file is unreadable, CorruptFile (naming it) if its
  // header is invalid; see read_idx() in dataset.h for the checks.
  explicit IdxReader(const std::string& path);
  IdxReader(std::string_view bytes, std::string where);

  const std::string& where() const { return in_.where(); }
  const std::vector<int64_t>& dims() const { return dims_; }
  uint64_t payload_bytes() const { return payload_; }
  // The next min(n, bytes left) payload bytes; CorruptFile if the data ends first.
  size_t read(uint8_t* dst, size_t n);
  // REQUIRES: the whole payload was read. Checks that nothing follows it and,
  // for gzip, the CRC-32: until finish() returns, the payload is unverified.
  void finish();

 private:
  void read_header();

  ByteStream in_;
  std::vector<int64_t> dims_;
  uint64_t payload_ = 0;
  uint64_t read_ = 0;
};

}  // namespace dec::data::detail
