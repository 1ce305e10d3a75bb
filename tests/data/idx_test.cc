// IDX reading: round trips and every kind of damage a file can have.
#include <gtest/gtest.h>

#include "dec/core/error.h"
#include "dec/data/dataset.h"
#include "data_test_util.h"

namespace dec::data {
namespace {

using testing::TempDir;

// read_idx(path) must throw CorruptFile naming the path, with `why` in the reason.
void expect_corrupt(const std::string& path, const std::string& why = "") {
  try {
    read_idx(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const CorruptFile& e) {
    EXPECT_EQ(e.where_part(), path);
    EXPECT_NE(e.why_part().find(why), std::string::npos) << e.what();
  }
}

class Idx : public ::testing::Test {
 protected:
  TempDir dir_{"idx"};
  const std::vector<uint32_t> dims_{3, 5, 7};
  const std::string payload_ = testing::pattern(3 * 5 * 7);
  const std::string file_ = testing::idx_bytes(dims_, payload_);

  std::string gz_path() {
    std::string p = dir_.file("a.gz");
    testing::write_gz(p, file_);
    return p;
  }
  void expect_payload(const IdxArray& a) {
    EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 5, 7}));
    EXPECT_EQ(std::string(a.data.begin(), a.data.end()), payload_);
  }
};

TEST_F(Idx, GzipRoundTrips) { expect_payload(read_idx(gz_path())); }

TEST_F(Idx, PlainRoundTrips) {
  std::string p = dir_.file("a.idx");
  testing::write_raw(p, file_);
  expect_payload(read_idx(p));
}

TEST_F(Idx, InMemoryParseMatchesFile) {
  expect_payload(parse_idx(read_file(gz_path()), "memory"));
  expect_payload(parse_idx(file_, "memory"));
}

TEST_F(Idx, ConcatenatedGzipMembersReadAsOne) {
  std::string p = dir_.file("multi.gz");
  testing::write_gz(p, file_.substr(0, 40));
  testing::write_gz(p, file_.substr(40), "ab");
  expect_payload(read_idx(p));
}

// Files are read in 256 KiB chunks: cross chunk and member boundaries.
TEST_F(Idx, LargeFilesSpanningManyChunksRoundTrip) {
  const std::string payload = testing::pattern(1200 * 1000, 7);
  const std::string file = testing::idx_bytes({1200, 1000}, payload);
  std::string gz = dir_.file("large.gz");
  testing::write_gz(gz, file.substr(0, 700001));
  testing::write_gz(gz, file.substr(700001), "ab");
  ASSERT_GT(testing::fs::file_size(gz), 2u << 18);
  std::string plain = dir_.file("large.idx");
  testing::write_raw(plain, file);
  for (const std::string& p : {gz, plain}) {
    const IdxArray a = read_idx(p);
    EXPECT_EQ(a.dims, (std::vector<int64_t>{1200, 1000}));
    EXPECT_TRUE(std::string(a.data.begin(), a.data.end()) == payload) << p;
  }
}

TEST_F(Idx, UnreadableFileIsIoError) {
  for (const std::string& p : {dir_.file("missing.gz"), dir_.file("")}) {
    try {
      read_idx(p);
      ADD_FAILURE() << p;
    } catch (const IoError& e) {
      EXPECT_EQ(e.where_part(), p);
    }
  }
}

TEST_F(Idx, EmptyFileIsCorrupt) {
  std::string p = dir_.file("empty");
  testing::write_raw(p, "");
  expect_corrupt(p, "magic");
}

TEST_F(Idx, TruncatedGzipIsRejectedAtEveryCut) {
  const std::string gz = read_file(gz_path());
  ASSERT_GT(gz.size(), 60u);
  std::string p = dir_.file("cut.gz");
  // Inside the gzip header, the deflate data, the CRC-32 and the length trailer.
  for (size_t cut : {size_t{1}, size_t{5}, size_t{12}, gz.size() / 3, gz.size() / 2,
                     gz.size() - 9, gz.size() - 8, gz.size() - 5, gz.size() - 1}) {
    SCOPED_TRACE(cut);
    testing::write_raw(p, gz.substr(0, cut));
    expect_corrupt(p, cut >= 2 ? "unexpected end of file" : "");
  }
}

TEST_F(Idx, FlippedDeflateBytesAreRejected) {
  const std::string gz = read_file(gz_path());
  std::string p = dir_.file("flip.gz");
  // Skip the 10-byte gzip header, the 8-byte trailer and the last deflate
  // bytes (whose padding bits zlib ignores): only coded data.
  for (size_t at = 12; at + 10 < gz.size(); at += 3) {
    SCOPED_TRACE(at);
    std::string bad = gz;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    testing::write_raw(p, bad);
    expect_corrupt(p);
  }
}

TEST_F(Idx, DamagedTrailerFailsCrcOrLengthCheck) {
  const std::string gz = read_file(gz_path());
  std::string p = dir_.file("trailer.gz");
  std::string bad = gz;
  bad[gz.size() - 8] ^= 1;  // CRC-32
  testing::write_raw(p, bad);
  expect_corrupt(p, "incorrect data check");
  bad = gz;
  bad[gz.size() - 4] ^= 1;  // ISIZE
  testing::write_raw(p, bad);
  expect_corrupt(p, "incorrect length check");
}

TEST_F(Idx, GarbageAfterGzipStreamIsRejected) {
  std::string p = dir_.file("garbage.gz");
  testing::write_raw(p, read_file(gz_path()) + "junk");
  expect_corrupt(p, "garbage after the end of the gzip stream");
}

TEST_F(Idx, BadMagicIsRejected) {
  std::string p = dir_.file("magic.gz");
  testing::write_gz(p, "\x01\x02" + file_.substr(2));
  expect_corrupt(p, "bad magic");
  testing::write_raw(p, "hello, world");
  expect_corrupt(p, "bad magic");
}

TEST_F(Idx, OtherDataTypesAreRejected) {
  std::string p = dir_.file("type.gz");
  testing::write_gz(p, testing::idx_bytes(dims_, payload_, 0x0D));
  expect_corrupt(p, "unsupported data type 0x0d (float32)");
  testing::write_gz(p, testing::idx_bytes(dims_, payload_, 0x42));
  expect_corrupt(p, "invalid data type 0x42");
}

TEST_F(Idx, AbsurdDimensionsAreRejectedBeforeAllocating) {
  std::string p = dir_.file("dims.gz");
  testing::write_gz(p, testing::idx_bytes({}, payload_));
  expect_corrupt(p, "dimension count 0");
  testing::write_gz(p, testing::idx_bytes(std::vector<uint32_t>(200, 1), payload_));
  expect_corrupt(p, "dimension count 200");
  testing::write_gz(p, testing::idx_bytes({3, 0, 7}, payload_));
  expect_corrupt(p, "dimension 1 has size 0");
  // 2^96 bytes: would overflow 64 bits if multiplied blindly.
  testing::write_gz(p, testing::idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, ""));
  expect_corrupt(p, "limit");
  // 1 GiB is under the limit, but not from a gzip file of a few dozen bytes.
  testing::write_gz(p, testing::idx_bytes({1u << 15, 1u << 15}, payload_));
  expect_corrupt(p, "cannot decompress to more than");
  std::string plain = dir_.file("dims.idx");
  testing::write_raw(plain, testing::idx_bytes({1u << 15, 1u << 15}, payload_));
  expect_corrupt(plain, "holds only");
}

TEST_F(Idx, HeaderCutShortIsRejected) {
  std::string p = dir_.file("header.gz");
  testing::write_gz(p, file_.substr(0, 10));
  expect_corrupt(p, "file ends inside the header");
}

TEST_F(Idx, ShortPayloadIsRejected) {
  std::string p = dir_.file("short.gz");
  testing::write_gz(p, file_.substr(0, file_.size() - 1));
  expect_corrupt(p, "payload shorter than the header says");
  std::string plain = dir_.file("short.idx");
  testing::write_raw(plain, file_.substr(0, file_.size() - 1));
  expect_corrupt(plain, "holds only");
}

TEST_F(Idx, TrailingBytesAreRejected) {
  std::string p = dir_.file("long.gz");
  testing::write_gz(p, file_ + "x");
  expect_corrupt(p, "trailing bytes");
  std::string plain = dir_.file("long.idx");
  testing::write_raw(plain, file_ + "x");
  expect_corrupt(plain, "trailing bytes");
}

}  // namespace
}  // namespace dec::data
