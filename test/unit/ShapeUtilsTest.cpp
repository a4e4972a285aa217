//===- ShapeUtilsTest.cpp - unit tests of the shared shape rules ----------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/ShapeUtils.h"

#include "gtest/gtest.h"

#include <functional>

using namespace mlir;
using namespace mlir::tfm;

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

/// Collects the last error message.
struct Errors {
  std::string last;
  std::function<void(const Twine &)> record = [this](const Twine &m) {
    last = m.str();
  };
  EmitErrorFn fn() { return record; }
};

TEST(ShapeUtils, BroadcastRightAligned) {
  Errors e;
  auto r = broadcastShapes({2, 37, 96}, {96}, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(*r, (SmallVector<int64_t>{2, 37, 96}));
  r = broadcastShapes({2, 1, 5}, {3, 1}, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(*r, (SmallVector<int64_t>{2, 3, 5}));
}

TEST(ShapeUtils, BroadcastRejectsMismatch) {
  Errors e;
  EXPECT_TRUE(failed(broadcastShapes({2, 3}, {4}, e.fn())));
  EXPECT_NE(e.last.find("do not broadcast"), std::string::npos) << e.last;
}

TEST(ShapeUtils, BroadcastDynamic) {
  Errors e;
  auto r = broadcastShapes({kDyn, 8}, {4, 1}, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(*r, (SmallVector<int64_t>{4, 8}));
  r = broadcastShapes({kDyn, 8}, {1, 8}, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ((*r)[0], kDyn);
}

TEST(ShapeUtils, IsBroadcastableTo) {
  EXPECT_TRUE(isBroadcastableTo({2, 1, 1, 37}, {2, 3, 37, 37}));
  EXPECT_TRUE(isBroadcastableTo({37, 37}, {2, 3, 37, 37}));
  EXPECT_FALSE(isBroadcastableTo({2, 3, 37, 36}, {2, 3, 37, 37}));
  EXPECT_FALSE(isBroadcastableTo({1, 2, 3, 37, 37}, {2, 3, 37, 37}));
}

TEST(ShapeUtils, Permutation) {
  Errors e;
  EXPECT_TRUE(succeeded(verifyPermutation({0, 2, 1, 3}, 4, e.fn())));
  EXPECT_TRUE(failed(verifyPermutation({0, 2, 2, 3}, 4, e.fn())));
  EXPECT_TRUE(failed(verifyPermutation({0, 1}, 3, e.fn())));
  EXPECT_TRUE(failed(verifyPermutation({0, 1, 3}, 3, e.fn())));
}

TEST(ShapeUtils, Matmul) {
  Errors e;
  auto r =
      inferMatmulShape({2, 3, 37, 32}, {2, 3, 37, 32}, false, true, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(*r, (SmallVector<int64_t>{2, 3, 37, 37}));
  r = inferMatmulShape({5, 4}, {3, 4, 6}, false, false, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(*r, (SmallVector<int64_t>{3, 5, 6}));
  EXPECT_TRUE(failed(inferMatmulShape({5, 4}, {5, 6}, false, false, e.fn())));
  EXPECT_NE(e.last.find("contraction"), std::string::npos);
  EXPECT_TRUE(failed(inferMatmulShape({4}, {4, 6}, false, false, e.fn())));
}

TEST(ShapeUtils, Linear) {
  Errors e;
  auto r = inferLinearShape({2, 37, 96}, {384, 96}, false, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(*r, (SmallVector<int64_t>{2, 37, 384}));
  r = inferLinearShape({2, 37, 96}, {96, 288}, true, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(r->back(), 288);
  EXPECT_TRUE(failed(inferLinearShape({2, 37, 96}, {96, 288}, false, e.fn())));
}

TEST(ShapeUtils, Reduce) {
  Errors e;
  auto r = inferReduceShape({2, 37, 96}, {2}, true, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(*r, (SmallVector<int64_t>{2, 37, 1}));
  r = inferReduceShape({2, 37, 96}, {1, 2}, false, e.fn());
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(*r, (SmallVector<int64_t>{2}));
  EXPECT_TRUE(failed(inferReduceShape({2, 3}, {1, 1}, false, e.fn())));
  EXPECT_TRUE(failed(inferReduceShape({2, 3}, {2}, false, e.fn())));
  EXPECT_TRUE(failed(inferReduceShape({2, 3}, {}, false, e.fn())));
}

TEST(ShapeUtils, AttentionFoldedHeads) {
  Errors e;
  auto d = inferAttentionDims({2, 5, 96}, {2, 7, 96}, {2, 7, 96}, 3, e.fn());
  ASSERT_TRUE(succeeded(d));
  EXPECT_EQ(d->heads, 3);
  EXPECT_EQ(d->headDim, 32);
  EXPECT_EQ(d->keySeq, 7);
  EXPECT_EQ(attentionResultShape(*d), (SmallVector<int64_t>{2, 5, 96}));
  EXPECT_TRUE(failed(
      inferAttentionDims({2, 5, 96}, {2, 7, 96}, {2, 7, 96}, 5, e.fn())));
  EXPECT_NE(e.last.find("not divisible"), std::string::npos) << e.last;
}

TEST(ShapeUtils, AttentionGroupedQuery) {
  Errors e;
  // 6 query heads of 16 over 2 key/value heads; values of 24 per head.
  auto d = inferAttentionDims({2, 5, 96}, {2, 7, 32}, {2, 7, 48}, 6, e.fn(),
                              /*kvHeads=*/2);
  ASSERT_TRUE(succeeded(d));
  EXPECT_EQ(d->kvHeads, 2);
  EXPECT_EQ(d->headDim, 16);
  EXPECT_EQ(d->valueHeadDim, 24);
  EXPECT_EQ(attentionResultShape(*d), (SmallVector<int64_t>{2, 5, 144}));
  EXPECT_TRUE(failed(
      inferAttentionDims({2, 5, 96}, {2, 7, 48}, {2, 7, 48}, 6, e.fn(), 2)));
  EXPECT_NE(e.last.find("kv_heads = 2"), std::string::npos) << e.last;
  EXPECT_TRUE(failed(
      inferAttentionDims({2, 5, 96}, {2, 7, 64}, {2, 7, 64}, 6, e.fn(), 4)));
  EXPECT_NE(e.last.find("not a multiple"), std::string::npos) << e.last;
  auto x = inferAttentionDims({2, 6, 5, 16}, {2, 1, 7, 16}, {2, 1, 7, 16}, 6,
                              e.fn(), 1);
  ASSERT_TRUE(succeeded(x));
  EXPECT_EQ(attentionResultShape(*x), (SmallVector<int64_t>{2, 6, 5, 16}));
}

TEST(ShapeUtils, AttentionExplicitHeads) {
  Errors e;
  auto d = inferAttentionDims({2, 3, 5, 32}, {2, 3, 7, 32}, {2, 3, 7, 16}, 3,
                              e.fn());
  ASSERT_TRUE(succeeded(d));
  EXPECT_EQ(attentionResultShape(*d), (SmallVector<int64_t>{2, 3, 5, 16}));
  EXPECT_TRUE(failed(inferAttentionDims({2, 3, 5, 32}, {2, 3, 7, 32},
                                        {2, 3, 7, 16}, 4, e.fn())));
  EXPECT_TRUE(failed(
      inferAttentionDims({2, 3, 5, 32}, {2, 7, 96}, {2, 3, 7, 16}, 3, e.fn())));
}

TEST(ShapeUtils, NormParam) {
  Errors e;
  EXPECT_TRUE(
      succeeded(verifyNormParam({2, 37, 96}, 2, {96}, "scale", e.fn())));
  EXPECT_TRUE(
      succeeded(verifyNormParam({2, 37, 96}, 1, {37, 96}, "scale", e.fn())));
  EXPECT_TRUE(failed(verifyNormParam({2, 37, 96}, 2, {95}, "scale", e.fn())));
  EXPECT_NE(e.last.find("normalised shape"), std::string::npos);
}

TEST(ShapeUtils, FormatShape) {
  EXPECT_EQ(formatShape({2, kDyn, 96}), "2x?x96");
  EXPECT_EQ(formatShape({}), "scalar");
}
} // namespace
