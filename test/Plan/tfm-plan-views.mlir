// RUN: tfmc-opt %s -split-input-file -tfm-plan-entries -tfm-plan-views | FileCheck %s

// A reshape of a transposed view needs dense memory: a copy is inserted.
// CHECK-LABEL: func.func @reshape_of_transpose
// CHECK: %[[T:.*]] = tfm.transpose
// CHECK-NEXT: %[[C:.*]] = tfm.copy %[[T]] : tensor<2x4x3xf32>
// CHECK-NEXT: tfm.reshape %[[C]]
func.func @reshape_of_transpose(%x: tensor<2x3x4xf32>) -> tensor<8x3xf32> {
  %t = tfm.transpose %x [0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %r = tfm.reshape %t : tensor<2x4x3xf32> -> tensor<8x3xf32>
  %y = tfm.exp %r : tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// -----

// Every other element of the last axis, with a unit last dim: [.., 3, 2]
// sliced to [.., 3, 1] has stride 2 under the unit dim, so it is not dense
// and the reshape reads a copy (interleaved rotary's decomposition).
// CHECK-LABEL: func.func @strided_under_unit_dim
// CHECK: %[[S:.*]] = tfm.slice
// CHECK-NEXT: %[[C:.*]] = tfm.copy %[[S]] : tensor<2x3x1xf32>
// CHECK-NEXT: tfm.reshape %[[C]]
func.func @strided_under_unit_dim(%x: tensor<2x3x2xf32>) -> tensor<2x3xf32> {
  %s = tfm.slice %x axis 2 [1 : 2] : tensor<2x3x2xf32> -> tensor<2x3x1xf32>
  %r = tfm.reshape %s : tensor<2x3x1xf32> -> tensor<2x3xf32>
  %y = tfm.exp %r : tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Slices of a row are views that attention reads strided and linears read
// as rows of unit stride; a norm needs its rows dense, so it gets a copy.
// CHECK-LABEL: func.func @slices
// CHECK: %[[Q:.*]] = tfm.slice %{{.*}} axis 2 [0 : 8]
// CHECK: %[[K:.*]] = tfm.slice %{{.*}} axis 2 [8 : 16]
// CHECK-NOT: tfm.copy
// CHECK: tfm.attention %[[Q]], %[[K]], %[[K]]
// CHECK: tfm.linear %[[Q]]
// CHECK: %[[C:.*]] = tfm.copy %[[Q]] : tensor<1x5x8xf32>
// CHECK-NEXT: tfm.layer_norm %[[C]]
func.func @slices(%qkv: tensor<1x5x16xf32>) -> (tensor<1x5x8xf32>, tensor<1x5x4xf32>, tensor<1x5x8xf32>) {
  %q = tfm.slice %qkv axis 2 [0 : 8] : tensor<1x5x16xf32> -> tensor<1x5x8xf32>
  %k = tfm.slice %qkv axis 2 [8 : 16] : tensor<1x5x16xf32> -> tensor<1x5x8xf32>
  %a = tfm.attention %q, %k, %k heads 2 scale 0.5 : (tensor<1x5x8xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32>) -> tensor<1x5x8xf32>
  %w = tfm.weight "w" : tensor<4x8xf32>
  %l = tfm.linear %q, %w : (tensor<1x5x8xf32>, tensor<4x8xf32>) -> tensor<1x5x4xf32>
  %n = tfm.layer_norm %q axis 2 eps 1.0e-5 : (tensor<1x5x8xf32>) -> tensor<1x5x8xf32>
  return %a, %l, %n : tensor<1x5x8xf32>, tensor<1x5x4xf32>, tensor<1x5x8xf32>
}

// -----

// Entry results need memory of their own: an argument, a view, a weight or
// a value returned twice is copied into the output.
// CHECK-LABEL: func.func @results
// CHECK: %[[E:.*]] = tfm.exp
// CHECK: %[[A:.*]] = tfm.copy %arg0
// CHECK: %[[V:.*]] = tfm.copy %{{.*}} : tensor<2x2xf32>
// CHECK: %[[E2:.*]] = tfm.copy %[[E]]
// CHECK: return %[[E]], %[[A]], %[[V]], %[[E2]]
func.func @results(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>) {
  %e = tfm.exp %x : tensor<4xf32>
  %r = tfm.reshape %e : tensor<4xf32> -> tensor<2x2xf32>
  return %e, %x, %r, %e : tensor<4xf32>, tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>
}

// -----

// A cache write updates the state in place; the result tied to the state is
// that update, nothing is copied.
// CHECK-LABEL: func.func @in_place
// CHECK-NOT: tfm.copy
// CHECK: %[[W:.*]] = tfm.cache_write %arg1
// CHECK-NOT: tfm.copy
// CHECK: return %{{.*}}, %[[W]]
func.func @in_place(%x: tensor<1x1x4xf32>, %cache: tensor<1x8x4xf32>, %p: index) -> (tensor<1x8x4xf32>, tensor<1x8x4xf32> {tfm.tied_to = 1 : i64}) {
  %w = tfm.cache_write %cache, %x offset %p axis 1 : (tensor<1x8x4xf32>, tensor<1x1x4xf32>) -> tensor<1x8x4xf32>
  %y = tfm.exp %w : tensor<1x8x4xf32>
  return %y, %w : tensor<1x8x4xf32>, tensor<1x8x4xf32>
}

// -----

// Negative cases of the in-place update: the old cache is read afterwards,
// or it is the caller's input. Both write into a copy.
// CHECK-LABEL: func.func @read_again
// CHECK: %[[C:.*]] = tfm.copy %arg1
// CHECK-NEXT: tfm.cache_write %[[C]]
func.func @read_again(%x: tensor<1x1x4xf32>, %cache: tensor<1x8x4xf32>, %p: index) -> (tensor<1x8x4xf32>, tensor<1x8x4xf32> {tfm.tied_to = 1 : i64}) {
  %w = tfm.cache_write %cache, %x offset %p axis 1 : (tensor<1x8x4xf32>, tensor<1x1x4xf32>) -> tensor<1x8x4xf32>
  %old = tfm.exp %cache : tensor<1x8x4xf32>
  return %old, %w : tensor<1x8x4xf32>, tensor<1x8x4xf32>
}
// CHECK-LABEL: func.func @input_cache
// CHECK: %[[C:.*]] = tfm.copy %arg1
// CHECK-NEXT: tfm.cache_write %[[C]]
func.func @input_cache(%x: tensor<1x1x4xf32>, %cache: tensor<1x8x4xf32>, %p: index) -> tensor<1x8x4xf32> {
  %w = tfm.cache_write %cache, %x offset %p axis 1 : (tensor<1x8x4xf32>, tensor<1x1x4xf32>) -> tensor<1x8x4xf32>
  %y = tfm.exp %w : tensor<1x8x4xf32>
  return %y : tensor<1x8x4xf32>
}

// -----

// A matmul reads batched operands; a transposed view whose batch dims do
// not merge into one stride is copied, a plain one is not.
// CHECK-LABEL: func.func @batched
// CHECK: %[[T:.*]] = tfm.transpose %arg0 [0, 2, 1, 3]
// CHECK-NEXT: %[[C:.*]] = tfm.copy %[[T]]
// CHECK-NEXT: tfm.matmul %[[C]], %arg1
func.func @batched(%a: tensor<2x5x3x4xf32>, %b: tensor<2x3x4x6xf32>) -> tensor<2x3x5x6xf32> {
  %t = tfm.transpose %a [0, 2, 1, 3] : tensor<2x5x3x4xf32> -> tensor<2x3x5x4xf32>
  %m = tfm.matmul %t, %b : (tensor<2x3x5x4xf32>, tensor<2x3x4x6xf32>) -> tensor<2x3x5x6xf32>
  return %m : tensor<2x3x5x6xf32>
}
