//===- VulkanPlanTest.cpp - the Vulkan planner's building blocks ----------===//
//
// Part of tfmc. The scalar program (folding, CSE, value bounds that size the
// arena), the kernel writer's operand addressing, and float literals that
// read back to the same f32.
//
//===----------------------------------------------------------------------===//

#include "Glsl.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace mlir::tfm::vk;

TEST(VulkanScalars, FoldsConstantsAndIdentities) {
  Scalars s;
  Sym seq = s.inputDim(0, 1, 64);
  EXPECT_TRUE(s.add(Sym::c(2), Sym::c(3)).isConst(5));
  EXPECT_TRUE(s.mul(Sym::c(6), Sym::c(7)).isConst(42));
  EXPECT_TRUE(s.ceilDiv(Sym::c(257), Sym::c(256)).isConst(2));
  EXPECT_EQ(s.add(seq, Sym::c(0)), seq);
  EXPECT_EQ(s.mul(seq, Sym::c(1)), seq);
  EXPECT_TRUE(s.mul(seq, Sym::c(0)).isConst(0));
  EXPECT_EQ(s.min(seq, seq), seq);
  // Nothing above was emitted but the input dimension.
  EXPECT_EQ(s.program().size(), 1u);
}

TEST(VulkanScalars, SharesEqualComputations) {
  Scalars s;
  Sym seq = s.inputDim(0, 1, 64);
  EXPECT_EQ(s.inputDim(0, 1, 64), seq);
  Sym a = s.mul(seq, Sym::c(96)), b = s.mul(seq, Sym::c(96));
  EXPECT_EQ(a, b);
  EXPECT_NE(s.mul(seq, Sym::c(97)).slot, a.slot);
}

TEST(VulkanScalars, BoundsSizeBuffers) {
  Scalars s;
  Sym seq = s.inputDim(0, 1, 64); // in [0, 64]
  Sym past = s.inputIndex(1, 64); // in [0, 64]
  EXPECT_EQ(s.upper(s.mul(seq, Sym::c(96))), 64 * 96);
  EXPECT_EQ(s.upper(s.sub(seq, Sym::c(1))), 63);
  EXPECT_EQ(s.upper(s.add(seq, past)), 128);
  EXPECT_EQ(s.upper(s.min(s.add(seq, past), Sym::c(64))), 64);
  EXPECT_EQ(s.upper(s.ceilDiv(seq, Sym::c(32))), 2);
  EXPECT_EQ(s.lower(s.sub(Sym::c(10), past)), 10 - 64);
}

TEST(VulkanScalars, WorkgroupCountsGetSlots) {
  Scalars s;
  int slot = s.slotOf(Sym::c(3));
  ASSERT_STREQ(scalarCodeName(s.program()[slot].op), "const");
  EXPECT_EQ(s.program()[slot].a, 3);
  EXPECT_EQ(s.slotOf(Sym::c(3)), slot);
  // Operands of arithmetic are earlier slots (the runtime checks this).
  Sym seq = s.inputDim(0, 1, 64);
  Sym n = s.ceilDiv(seq, Sym::c(8));
  const ScalarOp &op = s.program()[n.slot];
  EXPECT_STREQ(scalarCodeName(op.op), "ceildiv");
  EXPECT_LT(op.a, n.slot);
  EXPECT_LT(op.b, n.slot);
}

TEST(VulkanKernelWriter, OperandsBecomePushConstants) {
  EntryPlan entry;
  entry.storages.resize(2);
  entry.storages[1].buf = Buf::State;
  View x;
  x.storage = 0;
  x.offset = 100;
  x.dims = {Sym::c(4), Sym::c(8)};
  x.strides = {Sym::c(8), Sym::c(1)};
  View cache = x;
  cache.storage = 1;
  cache.dynOffset = Sym{0, 3};
  KernelWriter w(entry, "test", 64);
  EXPECT_EQ(w.at(x, "i"), "A[pc.o[0] + i]");
  EXPECT_EQ(w.at(x, "j"), "A[pc.o[0] + j]"); // same operand, same slot
  EXPECT_EQ(w.at(cache, "i"), "ST[(pc.o[1] + S[3]) + i]");
  ASSERT_EQ(w.pushValues().size(), 2u);
  EXPECT_EQ(w.pushValues()[0].offset, 100);
  std::string src = w.finish();
  EXPECT_NE(src.find("buffer ArenaF { float A[]; }"), std::string::npos);
  EXPECT_NE(src.find("binding = 3) buffer State"), std::string::npos);
  EXPECT_EQ(src.find("Weights"), std::string::npos); // unused: not declared
}

TEST(VulkanKernelWriter, LinearSkipsBroadcastAndUnitDims) {
  View v;
  v.dims = {Sym::c(2), Sym::c(1), Sym{0, 0}};
  v.strides = {Sym::c(0), Sym::c(5), Sym::c(1)};
  // Right-aligned: the view's dims are coordinates h, s, d.
  EXPECT_EQ(KernelWriter::linear(v, {"b", "h", "s", "d"}), "d");
  v.strides = {Sym::c(7), Sym::c(5), Sym{0, 2}};
  EXPECT_EQ(KernelWriter::linear(v, {"a", "b", "c"}), "a * 7 + c * S[2]");
}

TEST(VulkanGlsl, FloatLiteralsReadBackExactly) {
  for (float f : {0.1f, 1.0f / 3.0f, 1e-9f, -3.0e38f, 0.17677669529663687f,
                  1.0f, -1e9f, 7.0e-45f}) {
    std::string s = floatLiteral(f);
    EXPECT_EQ(std::strtof(s.c_str(), nullptr), f) << s;
  }
  EXPECT_EQ(floatLiteral(2.0), "2.0");
  EXPECT_EQ(floatLiteral(-INFINITY), "uintBitsToFloat(0xff800000u)");
}
