// SHA-256 digests, as lowercase hex. Used for checkpoint manifests, model
// hashes and plan hashes so that two processes can compare what they hold.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace dec {

// A digest computed piece by piece: update() any number of times, then
// hex() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t n);
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

std::string sha256_hex(std::string_view bytes);
// Streams the file; throws IoError if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace dec
