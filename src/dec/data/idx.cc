// IDX files (http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed.
//
// Layout: magic {0, 0, type, ndims}, ndims big-endian uint32 sizes, then the
// payload in row-major order. Only type 0x08 (unsigned byte) is supported: it
// is what (Fashion-)MNIST uses. Every size is validated before anything is
// allocated for the payload.
#include <algorithm>

#include "dec/core/error.h"
#include "dec/data/dataset.h"
#include "dec/data/idx_reader.h"

namespace dec::data {
namespace detail {
namespace {

constexpr const char* kInvalid = "invalid IDX file";
constexpr uint8_t kTypeUnsignedByte = 0x08;
// IDX allows 255 dimensions; real arrays have a handful, so more means garbage.
constexpr int kMaxDims = 16;
// Refuse headers that would make us allocate more than this for the payload.
constexpr uint64_t kMaxPayloadBytes = uint64_t{4} << 30;

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

const char* type_name(uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return nullptr;
  }
}

std::string hex(uint8_t b) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

}  // namespace

IdxReader::IdxReader(const std::string& path) : in_(path) { read_header(); }

IdxReader::IdxReader(std::string_view bytes, std::string where) : in_(bytes, std::move(where)) {
  read_header();
}

void IdxReader::read_header() {
  const std::string& where = in_.where();
  uint8_t magic[4];
  size_t got = in_.read(magic, 4);
  DEC_CHECK(got == 4, CorruptFile, kInvalid, where, "file ends inside the magic number (",
            got, " of 4 bytes)");
  DEC_CHECK(magic[0] == 0 && magic[1] == 0, CorruptFile, kInvalid, where, "bad magic ",
            hex(magic[0]), hex(magic[1]).substr(2), " (expected 0x0000)");
  const char* type = type_name(magic[2]);
  DEC_CHECK(type != nullptr, CorruptFile, kInvalid, where, "invalid data type ", hex(magic[2]));
  DEC_CHECK(magic[2] == kTypeUnsignedByte, CorruptFile, kInvalid, where, "unsupported data type ",
            hex(magic[2]), " (", type, "); only 0x08 (unsigned byte) is supported");
  const int ndims = magic[3];
  DEC_CHECK(ndims >= 1 && ndims <= kMaxDims, CorruptFile, kInvalid, where,
            "absurd dimension count ", ndims, " (expected 1 to ", kMaxDims, ")");

  uint8_t sizes[4 * kMaxDims];
  got = in_.read(sizes, 4 * ndims);
  DEC_CHECK(got == size_t(4 * ndims), CorruptFile, kInvalid, where,
            "file ends inside the header (", got, " of ", 4 * ndims, " size bytes)");
  payload_ = 1;
  dims_.resize(ndims);
  for (int i = 0; i < ndims; ++i) {
    const uint32_t d = big_endian32(sizes + 4 * i);
    DEC_CHECK(d > 0, CorruptFile, kInvalid, where, "dimension ", i, " has size 0");
    // Checked before multiplying, so the product can never overflow.
    DEC_CHECK(d <= kMaxPayloadBytes / payload_, CorruptFile, kInvalid, where, "dimension ", i,
              " of size ", d, " makes the payload larger than the ", kMaxPayloadBytes,
              "-byte limit");
    payload_ *= d;
    dims_[i] = d;
  }
  DEC_CHECK(payload_ <= in_.max_output(), CorruptFile, kInvalid, where, "the header promises ",
            payload_, " payload bytes but the file ",
            in_.gzip() ? "cannot decompress to more than " : "holds only ", in_.max_output());
}

size_t IdxReader::read(uint8_t* dst, size_t n) {
  const size_t want = std::min<uint64_t>(n, payload_ - read_);
  const size_t got = in_.read(dst, want);
  read_ += got;
  DEC_CHECK(got == want, CorruptFile, kInvalid, in_.where(),
            "payload shorter than the header says: ", read_, " of ", payload_, " bytes");
  return got;
}

void IdxReader::finish() {
  DEC_ASSERT(read_ == payload_, "finish() after ", read_, " of ", payload_, " payload bytes");
  // Reading past the payload also makes zlib check the gzip trailer (CRC-32
  // and length), which follows the last payload byte.
  uint8_t extra;
  DEC_CHECK(in_.read(&extra, 1) == 0, CorruptFile, kInvalid, in_.where(),
            "trailing bytes after the ", payload_, "-byte payload");
}

}  // namespace detail

namespace {
IdxArray read_all(detail::IdxReader& reader) {
  IdxArray out;
  out.dims = reader.dims();
  out.data.resize(reader.payload_bytes());
  reader.read(out.data.data(), out.data.size());
  reader.finish();
  return out;
}
}  // namespace

IdxArray read_idx(const std::string& path) {
  detail::IdxReader reader(path);
  return read_all(reader);
}

IdxArray parse_idx(std::string_view file_bytes, const std::string& where) {
  detail::IdxReader reader(file_bytes, where);
  return read_all(reader);
}

}  // namespace dec::data
