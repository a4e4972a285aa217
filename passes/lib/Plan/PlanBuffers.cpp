//===- PlanBuffers.cpp - every value and scratch range in one arena -------===//
//
// Part of tfmc. Sizes are upper bounds (ShapeBounds), so every offset is
// static, also for sequences whose length is chosen at run time. A value
// lives from its definition to the last use of it or of any view of it
// (uses inside an op's region count at the op); outputs and state are the
// entry's own buffers; inputs and outputs are pinned arena ranges when the
// target keeps them in the arena. One allocator (placeArena) places it all.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/ManagedStatic.h"

#include <mutex>

#define DEBUG_TYPE "tfm-plan-buffers"

namespace mlir::tfm {
#define GEN_PASS_DEF_PLANBUFFERSPASS
#include "tfm/Plan/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

//===----------------------------------------------------------------------===//
// Registered targets
//===----------------------------------------------------------------------===//

namespace {
struct Registry {
  std::mutex mutex;
  llvm::StringMap<ScratchFn> targets;
};
llvm::ManagedStatic<Registry> registry;
} // namespace

void mlir::tfm::registerPlanTarget(StringRef name, ScratchFn scratch) {
  std::lock_guard<std::mutex> lock(registry->mutex);
  registry->targets[name] = std::move(scratch);
}

ScratchFn mlir::tfm::lookupPlanTarget(StringRef name) {
  std::lock_guard<std::mutex> lock(registry->mutex);
  auto it = registry->targets.find(name);
  return it == registry->targets.end() ? ScratchFn() : it->second;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct PlanBuffersPass final : tfm::impl::PlanBuffersPassBase<PlanBuffersPass> {
  using Base::Base;
  PlanBuffersPass() = default;
  PlanBuffersPass(const PlanOptions &opts) : scratch(opts.scratch) {
    alignment = opts.alignment;
    ioInArena = opts.ioInArena;
  }

  ScratchFn scratch;

  int64_t align(int64_t x) const {
    return (x + alignment - 1) / alignment * alignment;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (alignment <= 0 || (alignment & (alignment - 1))) {
      module.emitError("alignment must be a power of two");
      return signalPassFailure();
    }
    if (!scratch && !target.empty()) {
      scratch = lookupPlanTarget(target);
      if (!scratch) {
        module.emitError("no plan target named '") << target << "'";
        return signalPassFailure();
      }
    }
    int64_t indexBound = 0;
    if (ModelAttr model = getModelAttr(module))
      indexBound = model.getMaxSeqLen();
    // State tensors: one offset per name in the session's state buffer,
    // shared by every entry.
    llvm::StringMap<std::pair<int64_t, int64_t>> state; // offset, bytes
    int64_t stateBytes = 0;
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      EntryAttr entry = getEntryAttr(fn);
      if (!entry) {
        fn.emitError("needs its #tfm.entry (run tfm-plan-entries first)");
        return signalPassFailure();
      }
      int64_t bound = indexBound;
      for (NamedAttribute b : entry.getBounds())
        bound = std::max(bound, cast<IntegerAttr>(b.getValue()).getInt());
      ShapeBounds bounds(fn, entry.getBounds(), bound);
      if (failed(bounds.run(fn)) ||
          failed(planEntry(fn, entry, bounds, state, stateBytes)))
        return signalPassFailure();
    }
  }

  LogicalResult planEntry(func::FuncOp fn, EntryAttr entry, ShapeBounds &bounds,
                          llvm::StringMap<std::pair<int64_t, int64_t>> &state,
                          int64_t &stateBytes) {
    MLIRContext *ctx = &getContext();
    Block &body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    llvm::DenseMap<Operation *, int64_t> position;
    int64_t end = 0;
    for (Operation &op : body)
      position[&op] = end++;
    end -= 1; // the return

    // Entry tensors: state offsets, and arena ranges with io-in-arena.
    SmallVector<ArenaRequest> requests;
    SmallVector<IoAttr> inputs(entry.getInputs()), outputs(entry.getOutputs());
    SmallVector<int64_t> ioRequest(inputs.size() + outputs.size(), -1);
    auto ioBytes = [&](IoAttr io, Value v) -> FailureOr<int64_t> {
      if (io.getType().isIndex())
        return int64_t(8);
      return bounds.bytes(v);
    };
    for (auto [i, io] : llvm::enumerate(inputs)) {
      FailureOr<int64_t> bytes = ioBytes(io, body.getArgument(io.getArg()));
      if (failed(bytes))
        return failure();
      if (io.getRole() == IoRole::state) {
        auto [it, fresh] =
            state.try_emplace(io.getName().getValue(), stateBytes, *bytes);
        if (fresh)
          stateBytes += align(*bytes);
        else if (it->second.second != *bytes)
          return fn.emitError("state '")
                 << io.getName().getValue()
                 << "' has different sizes in different entries";
        io = IoAttr::get(ctx, io.getName(), io.getType(), io.getRole(),
                         io.getDims(), io.getIdBound(), io.getArg(),
                         it->second.first, *bytes);
        continue;
      }
      if (ioInArena && !io.getType().isIndex()) {
        ioRequest[i] = requests.size();
        requests.push_back({*bytes, 0, end});
      }
      io = IoAttr::get(ctx, io.getName(), io.getType(), io.getRole(),
                       io.getDims(), io.getIdBound(), io.getArg(), -1, *bytes);
    }

    // Which returned value goes to which output or state argument.
    llvm::DenseMap<Value, BufferAttr> fixed;
    for (auto [r, v] : llvm::enumerate(ret.getOperands())) {
      if (auto t = fn.getResultAttrOfType<IntegerAttr>(r, attr::kTiedTo)) {
        if (v != body.getArgument(t.getInt()))
          fixed[v] = BufferAttr::get(ctx, BufferKind::state, 0, 0, t.getInt());
        continue;
      }
      int64_t k = llvm::find_if(outputs,
                                [&](IoAttr io) {
                                  return io.getArg() == static_cast<int64_t>(r);
                                }) -
                  outputs.begin();
      FailureOr<int64_t> bytes = bounds.bytes(v);
      if (failed(bytes))
        return failure();
      fixed[v] = BufferAttr::get(ctx, BufferKind::output, 0, *bytes, k);
      if (ioInArena) {
        ioRequest[inputs.size() + k] = requests.size();
        requests.push_back({*bytes, 0, end});
      }
      IoAttr &io = outputs[k];
      io = IoAttr::get(ctx, io.getName(), io.getType(), io.getRole(),
                       io.getDims(), io.getIdBound(), io.getArg(), -1, *bytes);
    }

    // Values: their buffers' live ranges extend to the last use of any view.
    llvm::DenseMap<Value, int64_t> lastUse;
    llvm::DenseMap<Value, Value> rootOf;
    auto rootFor = [&](Value v) {
      auto it = rootOf.find(v);
      return it == rootOf.end() ? v : it->second;
    };
    for (Operation &op : body) {
      for (Value v : op.getOperands())
        if (isa<RankedTensorType>(v.getType())) {
          Value r = rootFor(v);
          lastUse[r] = std::max(lastUse.lookup(r), position[&op]);
        }
      op.walk([&](Operation *inner) {
        if (inner == &op)
          return;
        for (Value v : inner->getOperands())
          if (v.getParentBlock() == &body && isa<RankedTensorType>(v.getType()))
            lastUse[rootFor(v)] =
                std::max(lastUse.lookup(rootFor(v)), position[&op]);
      });
      if (isViewOp(&op))
        rootOf[op.getResult(0)] = rootFor(op.getOperand(0));
    }

    struct Pending {
      Operation *op;
      unsigned result; // ~0u: scratch
      int64_t request;
    };
    SmallVector<Pending> pending;
    for (Operation &op : body.without_terminator()) {
      // Weights are views of the weights buffer (#tfm.weight_plan).
      if (op.getNumResults() == 0 || isa<WeightOp>(op) ||
          llvm::none_of(op.getResultTypes(), llvm::IsaPred<RankedTensorType>))
        continue;
      SmallVector<Attribute> placed;
      for (OpResult r : op.getResults()) {
        if (!isa<RankedTensorType>(r.getType())) {
          placed.push_back(BufferAttr::get(ctx, BufferKind::view, 0, 0, -1));
          continue;
        }
        if (isViewOp(&op) || isLoadFusedConvert(&op) ||
            isa<WeightOp, PositionalEncodingOp>(op)) {
          placed.push_back(BufferAttr::get(ctx, BufferKind::view, 0, 0, -1));
          continue;
        }
        if (BufferAttr f = fixed.lookup(r)) {
          placed.push_back(f);
          continue;
        }
        FailureOr<int64_t> bytes = bounds.bytes(r);
        if (failed(bytes))
          return failure();
        pending.push_back(
            {&op, r.getResultNumber(), static_cast<int64_t>(requests.size())});
        requests.push_back({*bytes, position[&op],
                            std::max(position[&op], lastUse.lookup(r))});
        placed.push_back(Attribute());
      }
      op.setAttr(attr::kBuffers, ArrayAttr::get(ctx, placed));
      if (scratch)
        if (int64_t bytes = scratch(&op, bounds); bytes > 0) {
          pending.push_back({&op, ~0u, static_cast<int64_t>(requests.size())});
          requests.push_back({bytes, position[&op], position[&op]});
        }
    }
    // Ops without tensor results may still need scratch.
    if (scratch)
      for (Operation &op : body.without_terminator())
        if (!op.hasAttr(attr::kBuffers) && !op.hasAttr(attr::kScratch))
          if (int64_t bytes = scratch(&op, bounds); bytes > 0) {
            pending.push_back(
                {&op, ~0u, static_cast<int64_t>(requests.size())});
            requests.push_back({bytes, position[&op], position[&op]});
          }

    int64_t arena = placeArena(requests, alignment);
    for (const Pending &p : pending) {
      const ArenaRequest &q = requests[p.request];
      auto b = BufferAttr::get(ctx, BufferKind::arena, q.offset, q.bytes, -1);
      if (p.result == ~0u) {
        p.op->setAttr(attr::kScratch, b);
        continue;
      }
      SmallVector<Attribute> list(
          p.op->getAttrOfType<ArrayAttr>(attr::kBuffers).getValue());
      list[p.result] = b;
      p.op->setAttr(attr::kBuffers, ArrayAttr::get(ctx, list));
    }
    auto withOffset = [&](IoAttr io, int64_t request) {
      if (request < 0)
        return io;
      return IoAttr::get(ctx, io.getName(), io.getType(), io.getRole(),
                         io.getDims(), io.getIdBound(), io.getArg(),
                         requests[request].offset, io.getBytes());
    };
    for (auto [i, io] : llvm::enumerate(inputs))
      io = withOffset(io, ioRequest[i]);
    for (auto [k, io] : llvm::enumerate(outputs))
      io = withOffset(io, ioRequest[inputs.size() + k]);
    fn->setAttr(attr::kEntry,
                EntryAttr::get(ctx, inputs, outputs, entry.getBounds(), arena));
    return success();
  }
};
} // namespace

std::unique_ptr<Pass>
mlir::tfm::createPlanBuffersPass(const PlanOptions &opts) {
  return std::make_unique<PlanBuffersPass>(opts);
}
