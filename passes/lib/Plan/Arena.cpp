//===- Arena.cpp - one allocator for every target's memory ----------------===//
//
// Part of tfmc. Interval packing: requests whose live ranges overlap get
// disjoint byte ranges. Largest first, each at the lowest aligned offset
// that does not collide with an overlapping, already placed request.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"

using namespace mlir;
using namespace mlir::tfm;

int64_t mlir::tfm::placeArena(MutableArrayRef<ArenaRequest> requests,
                              int64_t alignment) {
  auto align = [&](int64_t x) {
    return (x + alignment - 1) / alignment * alignment;
  };
  SmallVector<ArenaRequest *> order;
  for (ArenaRequest &r : requests)
    order.push_back(&r);
  // Largest first; ties by first use, so the result is deterministic.
  llvm::stable_sort(order, [](ArenaRequest *a, ArenaRequest *b) {
    return a->bytes != b->bytes ? a->bytes > b->bytes : a->begin < b->begin;
  });
  int64_t total = 0;
  SmallVector<ArenaRequest *> placed;
  for (ArenaRequest *r : order) {
    SmallVector<std::pair<int64_t, int64_t>> busy;
    for (ArenaRequest *p : placed)
      if (p->begin <= r->end && r->begin <= p->end)
        busy.push_back({p->offset, p->offset + align(p->bytes)});
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (offset + r->bytes <= lo)
        break;
      offset = std::max(offset, hi);
    }
    r->offset = offset;
    total = std::max(total, offset + align(r->bytes));
    placed.push_back(r);
  }
  return align(total);
}
