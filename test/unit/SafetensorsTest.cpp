//===- SafetensorsTest.cpp - validation rules of the safetensors reader ---===//
//
// Part of tfmc. One test per rule: each malformed file is rejected with a
// message naming the problem, never read out of bounds.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/Safetensors.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

using namespace mlir::tfm;

namespace {
/// Builds a file image: 8-byte little-endian header length, header, data.
std::string image(const std::string &header, const std::string &data,
                  std::optional<uint64_t> length = std::nullopt) {
  uint64_t n = length.value_or(header.size());
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

llvm::Expected<std::unique_ptr<SafetensorsFile>> load(const std::string &bytes) {
  return SafetensorsFile::fromBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(bytes, "t.safetensors"));
}

/// The error message of a failed load ("" when it loaded).
std::string errorOf(const std::string &bytes) {
  auto f = load(bytes);
  if (f)
    return "";
  return llvm::toString(f.takeError());
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

const char *kOne =
    R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";

TEST(Safetensors, ReadsValidFile) {
  auto f = load(image(kOne, floats({1, 2, 3, 4})));
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  const SafetensorsTensor *t = (*f)->find("w");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 2}));
  float out[4];
  ASSERT_FALSE(bool((*f)->readF32(*t, out)));
  EXPECT_EQ(out[3], 4.0f);
}

TEST(Safetensors, ReadsMetadata) {
  auto f = load(image(
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
      floats({1})));
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  EXPECT_EQ((*f)->metadata().lookup("format"), "pt");
}

TEST(Safetensors, ConvertsHalfAndBFloat) {
  // 1.0 and -2.0 in f16 (0x3c00, 0xc000) and bf16 (0x3f80, 0xc000); a
  // subnormal f16 (0x0001 = 2^-24).
  std::string f16("\x00\x3c\x00\xc0\x01\x00", 6);
  std::string bf16("\x80\x3f\x00\xc0", 4);
  auto f = load(image(
      R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}})",
      f16 + bf16));
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  float h[3], b[2];
  ASSERT_FALSE(bool((*f)->readF32(*(*f)->find("h"), h)));
  ASSERT_FALSE(bool((*f)->readF32(*(*f)->find("b"), b)));
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(h[2], std::ldexp(1.0f, -24));
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], -2.0f);
}

TEST(Safetensors, RejectsIntegerParametersOnRead) {
  auto f = load(image(R"({"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})",
                      std::string(8, '\0')));
  ASSERT_TRUE(bool(f)); // integer buffers may exist in a checkpoint
  float out[1];
  llvm::Error e = (*f)->readF32(*(*f)->find("i"), out);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("has dtype I64"),
            std::string::npos);
}

TEST(Safetensors, RejectsTinyFile) {
  EXPECT_NE(errorOf("abc").find("too small (3 bytes)"), std::string::npos);
}

TEST(Safetensors, RejectsHeaderBeyondFile) {
  EXPECT_NE(errorOf(image(kOne, floats({1, 2, 3, 4}), 1000))
                .find("extends beyond the end of the file"),
            std::string::npos);
}

TEST(Safetensors, RejectsHugeHeaderLength) {
  EXPECT_NE(errorOf(image(kOne, "", uint64_t(1) << 62)).find("exceeds the limit"),
            std::string::npos);
}

TEST(Safetensors, RejectsInvalidJSON) {
  EXPECT_NE(errorOf(image("{\"w\":", "")).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(errorOf(image("[1,2]", "")).find("must be a JSON object"),
            std::string::npos);
}

TEST(Safetensors, RejectsUnknownDType) {
  EXPECT_NE(errorOf(image(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})",
                          "x"))
                .find("unknown dtype 'Q4'"),
            std::string::npos);
}

TEST(Safetensors, RejectsBadShapeEntries) {
  EXPECT_NE(errorOf(image(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
                          "xxxx"))
                .find("not a non-negative integer"),
            std::string::npos);
  EXPECT_NE(errorOf(image(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})",
                          "xxxx"))
                .find("not a non-negative integer"),
            std::string::npos);
}

TEST(Safetensors, RejectsSizeOverflow) {
  EXPECT_NE(
      errorOf(image(
          R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})",
          "xxxx"))
          .find("overflows"),
      std::string::npos);
  EXPECT_NE(
      errorOf(image(
          R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}})",
          "xxxx"))
          .find("overflows"),
      std::string::npos);
}

TEST(Safetensors, RejectsShapeBytesMismatch) {
  EXPECT_NE(errorOf(image(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                          std::string(8, '\0')))
                .find("needs 12 bytes but data_offsets give 8"),
            std::string::npos);
}

TEST(Safetensors, RejectsOffsetsOutsideData) {
  EXPECT_NE(errorOf(image(kOne, floats({1, 2}))).find("outside the data section"),
            std::string::npos);
  EXPECT_NE(errorOf(image(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})",
                          std::string(8, '\0')))
                .find("end before they begin"),
            std::string::npos);
  EXPECT_NE(errorOf(image(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0]}})",
                          floats({1, 2, 3, 4})))
                .find("data_offsets"),
            std::string::npos);
}

TEST(Safetensors, RejectsOverlap) {
  EXPECT_NE(
      errorOf(image(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          std::string(12, '\0')))
          .find("overlap"),
      std::string::npos);
}

TEST(Safetensors, RejectsUnexpectedFields) {
  EXPECT_NE(
      errorOf(image(
          R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})",
          "xxxx"))
          .find("unexpected field 'extra'"),
      std::string::npos);
  EXPECT_NE(errorOf(image(R"({"__metadata__":{"a":1}})", ""))
                .find("is not a string"),
            std::string::npos);
}

TEST(Safetensors, MessagesNameTheFile) {
  EXPECT_EQ(errorOf("abc").rfind("t.safetensors: ", 0), 0u);
}
} // namespace
