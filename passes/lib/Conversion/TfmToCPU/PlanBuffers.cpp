//===- PlanBuffers.cpp - temporaries into one workspace -------------------===//
//
// Part of tfmc. Every memref.alloc of an entry function lives from its
// definition to the last use of it or of a view of it (uses inside loops
// count at the loop). Buffers are placed largest first at the lowest 64-byte
// aligned offset that does not overlap a placed buffer with an overlapping
// live range; each alloc becomes a memref.view of the new workspace argument.
//
//===----------------------------------------------------------------------===//

#include "tfm/Conversion/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#define DEBUG_TYPE "tfm-plan-buffers"

namespace mlir::tfm {
#define GEN_PASS_DEF_PLANBUFFERSPASS
#include "tfm/Conversion/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

static constexpr int64_t kAlignment = 64;

namespace {
struct Buffer {
  memref::AllocOp alloc;
  int64_t begin, end; // live range in top-level op positions (inclusive)
  int64_t bytes;
  int64_t offset = -1;
};

struct PlanBuffersPass final : tfm::impl::PlanBuffersPassBase<PlanBuffersPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kEntryAttr) || fn.isExternal())
      return;
    Block &body = fn.getBody().front();
    llvm::DenseMap<Operation *, int64_t> position;
    int64_t pos = 0;
    for (Operation &op : body)
      position[&op] = pos++;

    SmallVector<Buffer> buffers, dynamicBuffers;
    for (auto alloc : llvm::to_vector(body.getOps<memref::AllocOp>())) {
      MemRefType t = alloc.getType();
      Buffer b{alloc, position[alloc], position[alloc],
               t.hasStaticShape()
                   ? t.getNumElements() * (t.getElementTypeBitWidth() / 8)
                   : 0};
      // Follow views: a use of any alias keeps the buffer alive.
      SmallVector<Value> work = {alloc.getResult()};
      while (!work.empty()) {
        Value v = work.pop_back_val();
        for (OpOperand &use : v.getUses()) {
          Operation *user = use.getOwner();
          Operation *top = body.findAncestorOpInBlock(*user);
          if (!top) {
            alloc.emitOpError("is used outside its function body");
            return signalPassFailure();
          }
          b.end = std::max(b.end, position[top]);
          if (isa<ViewLikeOpInterface>(user))
            for (Value r : user->getResults())
              work.push_back(r);
        }
      }
      (t.hasStaticShape() ? buffers : dynamicBuffers).push_back(b);
    }

    // Sizes known only at run time (a prompt's length): the buffer stays a
    // heap allocation, freed after its last use.
    SmallVector<Operation *> ops =
        llvm::map_to_vector(body, [](Operation &op) { return &op; });
    for (Buffer &b : dynamicBuffers) {
      Operation *last = ops[b.end];
      if (last->hasTrait<OpTrait::IsTerminator>()) {
        b.alloc.emitOpError("is used by the terminator");
        return signalPassFailure();
      }
      OpBuilder after(last->getContext());
      after.setInsertionPointAfter(last);
      memref::DeallocOp::create(after, b.alloc.getLoc(), b.alloc);
    }

    // Largest first, lowest offset that fits among overlapping lifetimes.
    SmallVector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::sort(order, [](Buffer *a, Buffer *b) {
      return a->bytes != b->bytes ? a->bytes > b->bytes : a->begin < b->begin;
    });
    int64_t total = 0;
    SmallVector<Buffer *> placed;
    for (Buffer *b : order) {
      SmallVector<std::pair<int64_t, int64_t>> busy;
      for (Buffer *p : placed)
        if (p->begin <= b->end && b->begin <= p->end)
          busy.push_back({p->offset, p->offset + p->bytes});
      llvm::sort(busy);
      int64_t offset = 0;
      for (auto [lo, hi] : busy) {
        if (offset + b->bytes <= lo)
          break;
        offset =
            std::max(offset, (hi + kAlignment - 1) / kAlignment * kAlignment);
      }
      b->offset = offset;
      total = std::max(total, offset + b->bytes);
      placed.push_back(b);
    }
    total = (total + kAlignment - 1) / kAlignment * kAlignment;

    // The workspace argument and the views.
    MLIRContext *ctx = &getContext();
    auto wsType =
        MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
    unsigned argIndex = fn.getNumArguments();
    if (failed(fn.insertArgument(
            argIndex, wsType,
            DictionaryAttr::get(
                ctx, {NamedAttribute(StringAttr::get(ctx, "tfm.name"),
                                     StringAttr::get(ctx, "tfm.workspace"))}),
            fn.getLoc())))
      return signalPassFailure();
    Value ws = fn.getArgument(argIndex);
    for (Buffer &b : buffers) {
      OpBuilder builder(b.alloc);
      Value off =
          arith::ConstantIndexOp::create(builder, b.alloc.getLoc(), b.offset);
      Value view = memref::ViewOp::create(
          builder, b.alloc.getLoc(), b.alloc.getType(), ws, off, ValueRange{});
      b.alloc.replaceAllUsesWith(view);
      b.alloc.erase();
    }
    fn->setAttr(kWorkspaceBytesAttr,
                IntegerAttr::get(IntegerType::get(ctx, 64), total));
  }
};
} // namespace
