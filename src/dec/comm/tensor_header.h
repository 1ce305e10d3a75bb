// Wire format of the header that Group::send_tensor puts before a tensor's bytes,
// so the receiver can allocate exactly the right tensor (Gloo cannot tell a receiver
// how many bytes arrived). Free of LibTorch: group.cc maps dtypes.
//
// The header is kHeaderWords little-endian int64 words, sent as one int64 tensor:
//   [0] kMagic | kWireVersion   [1] dtype (WireDtype)   [2] ndim   [3] payload bytes
//   [4 .. 4+ndim) sizes          the rest zero
// Version 1. Change the layout or the dtype list => bump kWireVersion.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dec::comm {

enum class WireDtype : std::int64_t {
  kFloat32 = 1,
  kFloat64 = 2,
  kFloat16 = 3,
  kBFloat16 = 4,
  kInt8 = 5,
  kUInt8 = 6,
  kInt16 = 7,
  kInt32 = 8,
  kInt64 = 9,
  kBool = 10,
  kEnd  // one past the last; not a dtype
};

constexpr std::int64_t kWireVersion = 1;
static_assert(static_cast<int>(WireDtype::kEnd) == 11,
              "a new WireDtype changes the wire format: bump kWireVersion");
constexpr std::int64_t kMagic = 0x4445435400000000;  // "DECT" in the high bytes
constexpr int kMaxDims = 16;
constexpr int kHeaderWords = 4 + kMaxDims;

using HeaderWords = std::array<std::int64_t, kHeaderWords>;

struct TensorHeader {
  WireDtype dtype = WireDtype::kFloat32;
  std::vector<std::int64_t> sizes;
  std::int64_t nbytes = 0;
};

// Bytes per element of a wire dtype.
int element_size(WireDtype dtype);

// Names the peer in errors; called only when one is thrown (formatting costs more
// than the rest of a small message's path).
using WhereFn = std::function<std::string()>;

// Throws ConfigError (where = where()) if the tensor has more than kMaxDims dims.
HeaderWords encode_header(const TensorHeader& header, const WhereFn& where);
// Throws Mismatch (where = where(), the peer) on a wrong magic, another version,
// an unknown dtype, negative sizes, or a byte count that does not match.
TensorHeader decode_header(const HeaderWords& words, const WhereFn& where);

}  // namespace dec::comm
