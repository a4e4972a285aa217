//===- EntryWrappers.cpp - C ABI for entry functions ----------------------===//
//
// Part of tfmc. `void tfmc_<f>(void **buffers, const int64_t *dims)`: the
// wrapper loads the data pointers, builds each memref descriptor (sizes from
// the type or the dims array, row-major strides) and calls @f. The
// descriptors are LLVM structs cast to memrefs; the casts cancel out when
// memrefs are lowered.
//
//===----------------------------------------------------------------------===//

#include "tfm/Conversion/Passes.h"
#include "tfm/IR/TfmAttrs.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#define DEBUG_TYPE "tfm-emit-entry-wrappers"

namespace mlir::tfm {
#define GEN_PASS_DEF_EMITENTRYWRAPPERSPASS
#include "tfm/Conversion/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

namespace {
struct EmitEntryWrappersPass final
    : tfm::impl::EmitEntryWrappersPassBase<EmitEntryWrappersPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    for (auto fn : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (!fn->hasAttr(attr::kEntry))
        continue;
      OpBuilder top(module.getBody(), module.getBody()->end());
      auto wrapper =
          func::FuncOp::create(top, fn.getLoc(), ("tfmc_" + fn.getName()).str(),
                               FunctionType::get(ctx, {ptr, ptr}, {}));
      Block *entry = wrapper.addEntryBlock();
      ImplicitLocOpBuilder b(fn.getLoc(), ctx);
      b.setInsertionPointToStart(entry);
      Value buffers = entry->getArgument(0), dims = entry->getArgument(1);
      int64_t nextDim = 0;
      auto constI64 = [&](int64_t v) {
        return LLVM::ConstantOp::create(b, i64, b.getI64IntegerAttr(v));
      };
      SmallVector<Value> args;
      for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
        auto mt = cast<MemRefType>(type);
        Value slot = LLVM::GEPOp::create(b, ptr, ptr, buffers,
                                         ArrayRef<LLVM::GEPArg>{int32_t(i)});
        Value data = LLVM::LoadOp::create(b, ptr, slot);
        int64_t rank = mt.getRank();
        // The weights buffer and the workspace come last.
        bool byteBuffer = i + 2 >= fn.getNumArguments();
        SmallVector<Value> sizes;
        for (int64_t d = 0; d < rank; ++d) {
          if (!mt.isDynamicDim(d)) {
            sizes.push_back(constI64(mt.getDimSize(d)));
          } else if (byteBuffer) {
            // Weights and workspace: views never read the size.
            sizes.push_back(constI64(0));
          } else {
            Value at = LLVM::GEPOp::create(
                b, ptr, i64, dims, ArrayRef<LLVM::GEPArg>{int32_t(nextDim++)});
            sizes.push_back(LLVM::LoadOp::create(b, i64, at));
          }
        }
        auto arrayTy = LLVM::LLVMArrayType::get(i64, rank);
        SmallVector<Type> fields = {ptr, ptr, i64};
        if (rank > 0)
          fields.append({arrayTy, arrayTy});
        auto descTy = LLVM::LLVMStructType::getLiteral(ctx, fields);
        Value desc = LLVM::UndefOp::create(b, descTy);
        desc = LLVM::InsertValueOp::create(b, desc, data, ArrayRef<int64_t>{0});
        desc = LLVM::InsertValueOp::create(b, desc, data, ArrayRef<int64_t>{1});
        desc = LLVM::InsertValueOp::create(b, desc, constI64(0),
                                           ArrayRef<int64_t>{2});
        Value stride = constI64(1);
        for (int64_t d = rank - 1; d >= 0; --d) {
          desc = LLVM::InsertValueOp::create(b, desc, sizes[d],
                                             ArrayRef<int64_t>{3, d});
          desc = LLVM::InsertValueOp::create(b, desc, stride,
                                             ArrayRef<int64_t>{4, d});
          stride = LLVM::MulOp::create(b, stride, sizes[d]);
        }
        args.push_back(
            UnrealizedConversionCastOp::create(b, mt, desc).getResult(0));
      }
      func::CallOp::create(b, fn, args);
      func::ReturnOp::create(b);
      wrapper->setAttr(attr::kEntryWrapper, b.getStringAttr(fn.getName()));
      // `uint64_t tfmc_f_signature`: what this code was compiled for; the
      // runtime checks the manifest against it (tfmc/abi.h).
      uint64_t signature = getEntryAttr(fn).getSignature(getWeightPlan(module));
      LLVM::GlobalOp::create(
          top, fn.getLoc(), i64, /*isConstant=*/true, LLVM::Linkage::External,
          ("tfmc_" + fn.getName() + "_signature").str(),
          top.getI64IntegerAttr(static_cast<int64_t>(signature)));
      fn.setPrivate();
    }
  }
};
} // namespace
