// RUN: tfmc-opt %s --tfm-cpu-legalize-math | FileCheck %s

// Transcendentals on vectors become polynomial arithmetic (which LLVM
// vectorises) instead of scalarised libm calls.
// CHECK-LABEL: func.func @act
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK: math.fma
// CHECK: return
func.func @act(%x: vector<8xf32>) -> vector<8xf32> {
  %e = math.exp %x : vector<8xf32>
  %t = math.tanh %e : vector<8xf32>
  %r = math.erf %t : vector<8xf32>
  return %r : vector<8xf32>
}

// sqrt has a hardware instruction and is kept.
// CHECK-LABEL: func.func @keep
// CHECK: math.sqrt
func.func @keep(%x: vector<8xf32>) -> vector<8xf32> {
  %s = math.sqrt %x : vector<8xf32>
  return %s : vector<8xf32>
}
