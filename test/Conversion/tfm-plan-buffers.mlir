// RUN: tfmc-opt %s --tfm-plan-buffers --split-input-file --verify-diagnostics | FileCheck %s

// Three temporaries: %a (1 KiB) lives until it is copied into %c (through a
// subview, which keeps it alive), %b (512 B) dies after its copy, so %c
// (1 KiB) takes %b's place after %a: 2 KiB instead of 2.5 KiB.
// CHECK-LABEL: func.func @entry
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<?xi8> {tfm.name = "tfm.workspace"})
// CHECK-SAME: tfm.workspace_bytes = 2048 : i64
// CHECK-NOT: memref.alloc
// CHECK: %[[A:.*]] = memref.view %[[WS]][%c0{{.*}}][] : memref<?xi8> to memref<256xf32>
// CHECK: %[[B:.*]] = memref.view %[[WS]][%c1024{{.*}}][] : memref<?xi8> to memref<128xf32>
// CHECK: %[[C:.*]] = memref.view %[[WS]][%c1024{{.*}}][] : memref<?xi8> to memref<16x16xf32>
func.func @entry(%in: memref<256xf32>, %out: memref<256xf32>, %w: memref<?xi8>) attributes {tfm.entry = {inputs = 1 : i64, outputs = 1 : i64}} {
  %a = memref.alloc() {alignment = 64 : i64} : memref<256xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<128xf32>
  linalg.copy ins(%in : memref<256xf32>) outs(%a : memref<256xf32>)
  %sub = memref.subview %a[0] [128] [1] : memref<256xf32> to memref<128xf32, strided<[1]>>
  linalg.copy ins(%sub : memref<128xf32, strided<[1]>>) outs(%b : memref<128xf32>)
  %c = memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
  %flat = memref.collapse_shape %c [[0, 1]] : memref<16x16xf32> into memref<256xf32>
  linalg.copy ins(%a : memref<256xf32>) outs(%flat : memref<256xf32>)
  linalg.copy ins(%flat : memref<256xf32>) outs(%out : memref<256xf32>)
  return
}

// -----

// Functions that are not entries are left alone.
// CHECK-LABEL: func.func @helper
// CHECK: memref.alloc
func.func @helper() {
  %a = memref.alloc() : memref<4xf32>
  return
}

// -----

// A size known only at run time stays a heap buffer, freed after its last
// use (here, the copy into the output).
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[A:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<1x?xf32>
// CHECK: linalg.copy ins(%{{.*}}) outs(%[[A]] : memref<1x?xf32>)
// CHECK-NEXT: linalg.copy ins(%[[A]] : memref<1x?xf32>)
// CHECK-NEXT: memref.dealloc %[[A]] : memref<1x?xf32>
// CHECK-NEXT: return
func.func @dynamic(%in: memref<1x?xf32>, %out: memref<1x?xf32>, %w: memref<?xi8>) attributes {tfm.entry = {inputs = 1 : i64, outputs = 1 : i64}} {
  %c1 = arith.constant 1 : index
  %n = memref.dim %in, %c1 : memref<1x?xf32>
  %a = memref.alloc(%n) {alignment = 64 : i64} : memref<1x?xf32>
  linalg.copy ins(%in : memref<1x?xf32>) outs(%a : memref<1x?xf32>)
  linalg.copy ins(%a : memref<1x?xf32>) outs(%out : memref<1x?xf32>)
  return
}
