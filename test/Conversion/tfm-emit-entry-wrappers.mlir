// RUN: tfmc-opt %s --tfm-emit-entry-wrappers | FileCheck %s

// An entry gets `void tfmc_<name>(void **buffers, const int64_t *dims)`: one
// data pointer per argument, static sizes as constants, dynamic sizes of
// tensors from `dims` in order, and the byte buffers (weights, workspace)
// with a size that is never read. The entry itself becomes private.
// CHECK-LABEL: func.func private @f(
// CHECK-LABEL: func.func @tfmc_f(
// CHECK-SAME: %[[BUF:.*]]: !llvm.ptr, %[[DIMS:.*]]: !llvm.ptr)
// CHECK-SAME: tfm.entry_wrapper = "f"
// CHECK: %[[P0:.*]] = llvm.getelementptr %[[BUF]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: llvm.load %[[P0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[D0:.*]] = llvm.getelementptr %[[DIMS]][0] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK: llvm.load %[[D0]] : !llvm.ptr -> i64
// CHECK: llvm.getelementptr %[[BUF]][1]
// CHECK: llvm.getelementptr %[[BUF]][2]
// CHECK-NOT: llvm.getelementptr %[[DIMS]]
// CHECK: call @f(%{{.*}}, %{{.*}}, %{{.*}}) : (memref<2x?xi64>, memref<2x5xf32>, memref<?xi8>) -> ()
func.func @f(%ids: memref<2x?xi64>, %out: memref<2x5xf32>, %w: memref<?xi8>) attributes {tfm.entry = {inputs = 1 : i64, outputs = 1 : i64}} {
  return
}

// Non-entries get no wrapper.
// CHECK-NOT: @tfmc_helper
func.func @helper() {
  return
}
