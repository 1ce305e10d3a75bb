#include "dec/comm/tensor_header.h"

#include "dec/core/error.h"

namespace dec::comm {

int element_size(WireDtype dtype) {
  switch (dtype) {
    case WireDtype::kFloat64:
    case WireDtype::kInt64:
      return 8;
    case WireDtype::kFloat32:
    case WireDtype::kInt32:
      return 4;
    case WireDtype::kFloat16:
    case WireDtype::kBFloat16:
    case WireDtype::kInt16:
      return 2;
    case WireDtype::kInt8:
    case WireDtype::kUInt8:
    case WireDtype::kBool:
      return 1;
    case WireDtype::kEnd:
      break;
  }
  DEC_ASSERT(false, "unknown wire dtype ", static_cast<std::int64_t>(dtype));
  return 0;
}

HeaderWords encode_header(const TensorHeader& h, const WhereFn& where) {
  DEC_CHECK(h.sizes.size() <= static_cast<size_t>(kMaxDims), ConfigError, "cannot send tensor",
            where(), h.sizes.size(), " dimensions, at most ", kMaxDims);
  HeaderWords w{};
  w[0] = kMagic | kWireVersion;
  w[1] = static_cast<std::int64_t>(h.dtype);
  w[2] = static_cast<std::int64_t>(h.sizes.size());
  w[3] = h.nbytes;
  for (size_t i = 0; i < h.sizes.size(); ++i) w[4 + i] = h.sizes[i];
  return w;
}

TensorHeader decode_header(const HeaderWords& w, const WhereFn& where) {
  const char* what = "malformed tensor header";
  DEC_CHECK((w[0] & ~std::int64_t{0xffffffff}) == kMagic, Mismatch, what, where(), "bad magic 0x",
            std::hex, w[0], " (a plain send met a recv_tensor?)");
  DEC_CHECK((w[0] & 0xffffffff) == kWireVersion, Mismatch, what, where(), "wire version ",
            (w[0] & 0xffffffff), ", this build speaks ", kWireVersion);
  DEC_CHECK(w[1] > 0 && w[1] < static_cast<std::int64_t>(WireDtype::kEnd), Mismatch, what, where(),
            "unknown dtype code ", w[1]);
  DEC_CHECK(w[2] >= 0 && w[2] <= kMaxDims, Mismatch, what, where(), "ndim ", w[2]);
  TensorHeader h;
  h.dtype = static_cast<WireDtype>(w[1]);
  h.nbytes = w[3];
  std::int64_t numel = 1;
  for (std::int64_t i = 0; i < w[2]; ++i) {
    DEC_CHECK(w[4 + i] >= 0, Mismatch, what, where(), "negative size ", w[4 + i]);
    h.sizes.push_back(w[4 + i]);
    numel *= w[4 + i];
  }
  DEC_CHECK(h.nbytes == numel * element_size(h.dtype), Mismatch, what, where(), "byte count ",
            h.nbytes, " does not match ", numel, " elements");
  return h;
}

}  // namespace dec::comm
