// RUN: tfmc-opt %s -split-input-file -verify-diagnostics -tfm-plan-entries -tfm-plan-buffers | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -verify-diagnostics -tfm-plan-entries -tfm-plan-buffers="io-in-arena=true alignment=256" | FileCheck %s --check-prefix=ARENA
// RUN: tfmc-opt %s -split-input-file -tfm-plan-entries -tfm-plan-buffers="target=cpu" | FileCheck %s --check-prefix=CPU
// RUN: not tfmc-opt %s -split-input-file -tfm-plan-entries -tfm-plan-buffers="target=nope" 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not tfmc-opt %s -split-input-file -tfm-plan-entries -tfm-plan-buffers="alignment=48" 2>&1 | FileCheck %s --check-prefix=ALIGN
// RUN: not tfmc-opt %s -split-input-file -tfm-plan-buffers 2>&1 | FileCheck %s --check-prefix=NOENTRY
// TARGET: error: no plan target named 'nope'
// ALIGN: error: alignment must be a power of two
// NOENTRY: error: needs its #tfm.entry (run tfm-plan-entries first)

// %a (1 KiB) lives until its slice %s is last read (by %b); %b (512 B)
// lives until %d; %c takes %a's place once %a is dead. The last value is
// written straight into the output: 1.5 KiB instead of 2 KiB.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: arena = 1536>
// CHECK: %[[A:.*]] = tfm.exp %arg0 {tfm.buffers = [#tfm.buffer<kind = arena, bytes = 1024>]}
// CHECK: tfm.slice %[[A]] {{.*}}{tfm.buffers = [#tfm.buffer<kind = view>]}
// CHECK: tfm.exp %{{.*}} {tfm.buffers = [#tfm.buffer<kind = arena, offset = 1024, bytes = 512>]}
// CHECK: tfm.exp %{{.*}} {tfm.buffers = [#tfm.buffer<kind = arena, bytes = 512>]}
// CHECK: tfm.add %{{.*}} {tfm.buffers = [#tfm.buffer<kind = output, bytes = 512, index = 0>]}
// With the inputs and outputs in the arena, they are placed too (for the
// whole run) and every range is 256-byte aligned.
// ARENA-LABEL: func.func @reuse
// ARENA-SAME: inputs = [<name = "arg0", type = tensor<256xf32>, role = input, arg = 0, offset = 0, bytes = 1024>]
// ARENA-SAME: outputs = [<name = "result0", type = tensor<128xf32>, role = output, arg = 0, offset = 2048, bytes = 512>]
// ARENA-SAME: arena = 3072>
func.func @reuse(%x: tensor<256xf32>) -> tensor<128xf32> {
  %a = tfm.exp %x : tensor<256xf32>
  %s = tfm.slice %a axis 0 [0 : 128] : tensor<256xf32> -> tensor<128xf32>
  %b = tfm.exp %s : tensor<128xf32>
  %c = tfm.exp %b : tensor<128xf32>
  %d = tfm.add %c, %b : tensor<128xf32>, tensor<128xf32>
  return %d : tensor<128xf32>
}

// -----

// A view keeps its buffer alive: %a is read through %s after %b, so %c
// cannot take its place.
// CHECK-LABEL: func.func @view_keeps_alive
// CHECK-SAME: arena = 2048>
func.func @view_keeps_alive(%x: tensor<256xf32>) -> tensor<128xf32> {
  %a = tfm.exp %x : tensor<256xf32>
  %s = tfm.slice %a axis 0 [0 : 128] : tensor<256xf32> -> tensor<128xf32>
  %b = tfm.exp %s : tensor<128xf32>
  %c = tfm.exp %b : tensor<128xf32>
  %d = tfm.add %c, %s : tensor<128xf32>, tensor<128xf32>
  return %d : tensor<128xf32>
}

// -----

// A sequence of run-time length gets the bytes of its upper bound (seq <= 8),
// so every offset is static.
// CHECK-LABEL: func.func @dynamic
// CHECK: tfm.exp %arg0 {tfm.buffers = [#tfm.buffer<kind = arena, bytes = 128>]} : tensor<1x?x4xf32>
func.func @dynamic(%x: tensor<1x?x4xf32> {tfm.dim_names = ["", "seq", ""]}) -> (tensor<1x?x4xf32> {tfm.dim_names = ["", "seq", ""]}) attributes {tfm.dim_bounds = {seq = 8 : i64}} {
  %a = tfm.exp %x : tensor<1x?x4xf32>
  %b = tfm.exp %a : tensor<1x?x4xf32>
  return %b : tensor<1x?x4xf32>
}

// -----

// State tensors get one offset per name in the session's state buffer; a
// result tied to the state is that state.
// CHECK-LABEL: func.func @state
// CHECK-SAME: <name = "k", type = tensor<1x8x4xf32>, role = state, arg = 1, offset = 0, bytes = 128>
// CHECK-SAME: <name = "v", type = tensor<1x8x4xf32>, role = state, arg = 2, offset = 128, bytes = 128>
// CHECK: tfm.cache_write {{.*}}{tfm.buffers = [#tfm.buffer<kind = view>]}
func.func @state(%x: tensor<1x1x4xf32>, %k: tensor<1x8x4xf32> {tfm.name = "k"}, %v: tensor<1x8x4xf32> {tfm.name = "v"}, %p: index) -> (tensor<1x8x4xf32> {tfm.tied_to = 1 : i64}, tensor<1x8x4xf32> {tfm.tied_to = 2 : i64}) {
  %k2 = tfm.cache_write %k, %x offset %p axis 1 : (tensor<1x8x4xf32>, tensor<1x1x4xf32>) -> tensor<1x8x4xf32>
  %v2 = tfm.cache_write %v, %x offset %p axis 1 : (tensor<1x8x4xf32>, tensor<1x1x4xf32>) -> tensor<1x8x4xf32>
  return %k2, %v2 : tensor<1x8x4xf32>, tensor<1x8x4xf32>
}

// -----

// A target reserves scratch for its kernels: the CPU packs the right
// operand of a matmul into panels at run time (2 x 1 panel x 4 x 16 f32).
// CHECK-LABEL: func.func @scratch
// CHECK-NOT: tfm.scratch
// CPU-LABEL: func.func @scratch
// CPU: tfm.matmul {{.*}}tfm.scratch = #tfm.buffer<kind = arena, bytes = 512>
func.func @scratch(%a: tensor<2x3x4xf32>, %b: tensor<2x4x5xf32>) -> tensor<2x3x5xf32> {
  %m = tfm.matmul %a, %b : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  return %m : tensor<2x3x5xf32>
}
