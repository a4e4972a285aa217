//===- Outline.cpp - one function per distinct kernel ---------------------===//
//
// Part of tfmc. The ops one tfm op lowers to are split into a prologue that
// stays in the entry function (views of the weights buffer and of other
// buffers, buffer allocations, constants: everything that names *which*
// memory a kernel works on) and a body (the loops) that becomes a private
// function taking those buffers as arguments. Bodies that print the same
// are one function: the twelve identical layers of GPT-2 share their GEMM,
// attention and norm kernels, and so do the prefill and forward entries
// where their shapes agree. This keeps compile time and code size
// proportional to the number of distinct kernels, not of ops.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

/// Ops that only say which memory a kernel works on.
static bool isPrologue(Operation *op) {
  if (op->getNumRegions() != 0)
    return false;
  return isa<memref::AllocOp>(op) || isMemoryEffectFree(op);
}

void KernelOutliner::outline(ArrayRef<Operation *> ops, StringRef kind,
                             ValueRange liveOut) {
  size_t first = 0;
  while (first < ops.size() && isPrologue(ops[first]))
    ++first;
  ArrayRef<Operation *> body = ops.drop_front(first);
  if (body.empty() ||
      llvm::none_of(body, [](Operation *o) { return o->getNumRegions(); }))
    return;

  // Values the body reads from outside become arguments, except constants,
  // which are cloned so that equal kernels print equal.
  Block *block = body.front()->getBlock();
  llvm::SmallPtrSet<Operation *, 16> inBody(body.begin(), body.end());
  auto inBodyOp = [&](Operation *op) {
    Operation *top = block->findAncestorOpInBlock(*op);
    return top && inBody.contains(top);
  };
  auto inside = [&](Value v) {
    Operation *def = v.getDefiningOp();
    if (!def)
      def = cast<BlockArgument>(v).getOwner()->getParentOp();
    return inBodyOp(def);
  };
  llvm::SetVector<Value> captured;
  for (Operation *op : body)
    op->walk([&](Operation *nested) {
      for (Value v : nested->getOperands())
        if (!inside(v))
          captured.insert(v);
    });
  // Constant expressions (sizes computed from static shapes) are cloned
  // too, in dependence order, so the kernel keeps them static.
  llvm::DenseMap<Operation *, bool> constExpr;
  std::function<bool(Operation *)> isConstExpr = [&](Operation *op) {
    if (!op)
      return false;
    auto it = constExpr.find(op);
    if (it != constExpr.end())
      return it->second;
    bool c = isa<arith::ConstantOp>(op) ||
             (op->getNumRegions() == 0 && op->getNumResults() == 1 &&
              op->getResult(0).getType().isIntOrIndexOrFloat() &&
              isMemoryEffectFree(op) &&
              llvm::all_of(op->getOperands(), [&](Value v) {
                return isConstExpr(v.getDefiningOp());
              }));
    constExpr[op] = c;
    return c;
  };
  SmallVector<Value> args;
  llvm::SetVector<Operation *> constants;
  std::function<void(Operation *)> addConstant = [&](Operation *op) {
    for (Value v : op->getOperands())
      addConstant(v.getDefiningOp());
    constants.insert(op);
  };
  for (Value v : captured) {
    if (isConstExpr(v.getDefiningOp()))
      addConstant(v.getDefiningOp());
    else
      args.push_back(v);
  }
  // A body whose results are used after it stays inline.
  for (Value v : liveOut)
    if (v && inside(v))
      return;
  for (Operation *op : body)
    for (Value r : op->getResults())
      for (Operation *user : r.getUsers())
        if (!inBodyOp(user))
          return;

  MLIRContext *ctx = module->getContext();
  OpBuilder mb(ctx);
  mb.setInsertionPointToEnd(module.getBody());
  auto fnType = FunctionType::get(
      ctx, llvm::map_to_vector(args, [](Value v) { return v.getType(); }), {});
  auto fn = func::FuncOp::create(mb, body.front()->getLoc(), "kernel", fnType);
  fn.setPrivate();
  Block *entry = fn.addEntryBlock();
  OpBuilder kb = OpBuilder::atBlockBegin(entry);
  IRMapping map;
  for (auto [v, a] : llvm::zip(args, entry->getArguments()))
    map.map(v, a);
  for (Operation *c : constants)
    kb.clone(*c, map);
  for (Operation *op : body)
    kb.clone(*op, map);
  func::ReturnOp::create(kb, body.back()->getLoc());

  // Equal kernels print equal (locations aside).
  std::string key;
  {
    llvm::raw_string_ostream os(key);
    fn.print(os, OpPrintingFlags().useLocalScope().elideLargeElementsAttrs(64));
  }
  func::FuncOp kernel = kernels.lookup(key);
  if (kernel) {
    fn.erase();
  } else {
    kernel = fn;
    kernel.setName((kind + "_kernel_" + llvm::Twine(kernels.size())).str());
    kernels[key] = kernel;
  }
  OpBuilder cb(body.front());
  func::CallOp::create(cb, body.front()->getLoc(), kernel, args);
  for (Operation *op : llvm::reverse(body))
    op->erase();
}
