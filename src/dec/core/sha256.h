// SHA-256 digests, as lowercase hex. Used for checkpoint manifests, model
// hashes and plan hashes so that two processes can compare what they hold.
#pragma once

#include <string>
#include <string_view>

namespace dec {

std::string sha256_hex(std::string_view bytes);
// Streams the file; throws IoError if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace dec
