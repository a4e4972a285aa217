// RUN: tfmc-opt %s --tfm-emit-entry-wrappers | FileCheck %s

// An entry gets `void tfmc_<name>(void **buffers, const int64_t *dims)`: one
// data pointer per argument, static sizes as constants, dynamic sizes of
// tensors from `dims` in order, and the byte buffers (weights, workspace)
// with a size that is never read. The entry itself becomes private, and
// `tfmc_<name>_signature` records the ABI and weight plan it was compiled
// for.
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
// CHECK: llvm.getelementptr %[[BUF]][3]
// CHECK-NOT: llvm.getelementptr %[[DIMS]]
// CHECK: call @f(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<2x?xi64>, memref<2x5xf32>, memref<?xi8>, memref<?xi8>) -> ()
// CHECK: llvm.mlir.global external constant @tfmc_f_signature({{-?[0-9]+}} : i64) {addr_space = 0 : i32} : i64
module attributes {tfm.weights = #tfm.weight_plan<bytes = 0>} {
func.func @f(%ids: memref<2x?xi64>, %out: memref<2x5xf32>, %w: memref<?xi8>, %ws: memref<?xi8>) attributes {tfm.entry = #tfm.entry<inputs = [<name = "ids", type = tensor<2x?xi64>, role = input, dims = ["", "seq"], arg = 0>], outputs = [<name = "out", type = tensor<2x5xf32>, role = output, arg = 0>], bounds = {seq = 4 : i64}>} {
  return
}

// Non-entries get no wrapper.
// CHECK-NOT: @tfmc_helper
func.func @helper() {
  return
}
}
