// RUN: tfmc-opt %s -split-input-file -tfm-recompose-rotary | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-recompose-rotary=remarks=true -verify-diagnostics -o /dev/null
// Round trip: tfm-decompose's expansion comes back as the same op.
// RUN: tfmc-opt %s -split-input-file -tfm-decompose -tfm-recompose-rotary | FileCheck %s --check-prefix=ROUND

// Hugging Face's apply_rotary_pos_emb: x * cos + rotate_half(x) * sin with
// full-width tables cos(concat(A, A)), positions from a run-time offset,
// theta = 1 / 10000^(2i/8).
// CHECK-LABEL: func.func @rotate_half
// CHECK-SAME: (%[[X:.+]]: tensor<1x?x4x8xf32>, %[[OFF:.+]]: index, %{{.+}}: index)
// CHECK-NEXT: %[[R:.+]] = tfm.rotary %[[X]] offset %[[OFF]] base 1.000000e+04 : tensor<1x?x4x8xf32>
// CHECK-NEXT: return %[[R]]
// ROUND-LABEL: func.func @rotate_half
// ROUND: tfm.rotary %{{.+}} offset %{{.+}} base 1.000000e+04 : tensor<1x?x4x8xf32>
func.func @rotate_half(%x: tensor<1x?x4x8xf32>, %off: index, %n: index) -> tensor<1x?x4x8xf32> {
  %pos = tfm.range offset %off sizes(%n) : tensor<?xi64>
  %pf = tfm.convert %pos : tensor<?xi64> -> tensor<?xf32>
  %col = tfm.reshape %pf : tensor<?xf32> -> tensor<?x1xf32>
  %theta = tfm.constant dense<[1.0, 0.1, 0.01, 0.001]> : tensor<4xf32>
  %a = tfm.mul %col, %theta : tensor<?x1xf32>, tensor<4xf32>
  %aa = tfm.concat %a, %a axis 1 : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x8xf32>
  %c = tfm.cos %aa : tensor<?x8xf32>
  %s = tfm.sin %aa : tensor<?x8xf32>
  %cb = tfm.reshape %c : tensor<?x8xf32> -> tensor<1x?x1x8xf32>
  %sb = tfm.reshape %s : tensor<?x8xf32> -> tensor<1x?x1x8xf32>
  %x1 = tfm.slice %x axis 3 [0 : 4] : tensor<1x?x4x8xf32> -> tensor<1x?x4x4xf32>
  %x2 = tfm.slice %x axis 3 [4 : 8] : tensor<1x?x4x8xf32> -> tensor<1x?x4x4xf32>
  %nx2 = tfm.scale %x2 by -1.0 : tensor<1x?x4x4xf32>
  %rot = tfm.concat %nx2, %x1 axis 3 : (tensor<1x?x4x4xf32>, tensor<1x?x4x4xf32>) -> tensor<1x?x4x8xf32>
  %t1 = tfm.mul %x, %cb : tensor<1x?x4x8xf32>, tensor<1x?x1x8xf32>
  %t2 = tfm.mul %rot, %sb : tensor<1x?x4x8xf32>, tensor<1x?x1x8xf32>
  // expected-remark @below {{fused into tfm.rotary}}
  %r = tfm.add %t1, %t2 : tensor<1x?x4x8xf32>, tensor<1x?x4x8xf32>
  return %r : tensor<1x?x4x8xf32>
}

// -----

// Linear position scaling (positions / 4), theta of base 500000 over 4
// rotated features, tables as concat(cos(A), cos(A)), negation as 0 - x.
// CHECK-LABEL: func.func @scaled
// CHECK-NEXT: %[[R:.+]] = tfm.rotary %{{.+}} base 5.{{[0-9]+}}e+05 scaling 4.000000e+00 : tensor<2x3x2x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @scaled(%x: tensor<2x3x2x4xf32>) -> tensor<2x3x2x4xf32> {
  %pos = tfm.range : tensor<3xi64>
  %pf = tfm.convert %pos : tensor<3xi64> -> tensor<3xf32>
  %four = tfm.constant dense<4.0> : tensor<1xf32>
  %ps = tfm.div %pf, %four : tensor<3xf32>, tensor<1xf32>
  %col = tfm.reshape %ps : tensor<3xf32> -> tensor<3x1xf32>
  %theta = tfm.constant dense<[1.0, 0.00141421356]> : tensor<2xf32>
  %a = tfm.mul %theta, %col : tensor<2xf32>, tensor<3x1xf32>
  %c1 = tfm.cos %a : tensor<3x2xf32>
  %s1 = tfm.sin %a : tensor<3x2xf32>
  %c = tfm.concat %c1, %c1 axis 1 : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x4xf32>
  %s = tfm.concat %s1, %s1 axis 1 : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x4xf32>
  %cb = tfm.reshape %c : tensor<3x4xf32> -> tensor<3x1x4xf32>
  %sb = tfm.reshape %s : tensor<3x4xf32> -> tensor<3x1x4xf32>
  %x1 = tfm.slice %x axis 3 [0 : 2] : tensor<2x3x2x4xf32> -> tensor<2x3x2x2xf32>
  %x2 = tfm.slice %x axis 3 [2 : 4] : tensor<2x3x2x4xf32> -> tensor<2x3x2x2xf32>
  %zero = tfm.constant dense<0.0> : tensor<f32>
  %nx2 = tfm.sub %zero, %x2 : tensor<f32>, tensor<2x3x2x2xf32>
  %rot = tfm.concat %nx2, %x1 axis 3 : (tensor<2x3x2x2xf32>, tensor<2x3x2x2xf32>) -> tensor<2x3x2x4xf32>
  %t2 = tfm.mul %sb, %rot : tensor<3x1x4xf32>, tensor<2x3x2x4xf32>
  %t1 = tfm.mul %cb, %x : tensor<3x1x4xf32>, tensor<2x3x2x4xf32>
  // expected-remark @below {{fused into tfm.rotary}}
  %r = tfm.add %t2, %t1 : tensor<2x3x2x4xf32>, tensor<2x3x2x4xf32>
  return %r : tensor<2x3x2x4xf32>
}

// -----

// The decomposition's halves form with a pass-through tail (4 of 8 rotated).
// CHECK-LABEL: func.func @halves_partial
// CHECK-NEXT: %[[R:.+]] = tfm.rotary %{{.+}} offset %{{.+}} base 1.000000e+04 dims 4 : tensor<1x5x2x8xf32>
// CHECK-NEXT: return %[[R]]
// ROUND-LABEL: func.func @halves_partial
// ROUND-NEXT: %[[R:.+]] = tfm.rotary %{{.+}} offset %{{.+}} base 1.000000e+04 dims 4 : tensor<1x5x2x8xf32>
// ROUND-NEXT: return %[[R]]
func.func @halves_partial(%x: tensor<1x5x2x8xf32>, %off: index) -> tensor<1x5x2x8xf32> {
  %pos = tfm.range offset %off : tensor<5xi64>
  %pf = tfm.convert %pos : tensor<5xi64> -> tensor<5xf32>
  %col = tfm.reshape %pf : tensor<5xf32> -> tensor<5x1xf32>
  %theta = tfm.constant dense<[1.0, 0.01]> : tensor<2xf32>
  %a = tfm.mul %col, %theta : tensor<5x1xf32>, tensor<2xf32>
  %c = tfm.cos %a : tensor<5x2xf32>
  %s = tfm.sin %a : tensor<5x2xf32>
  %cb = tfm.reshape %c : tensor<5x2xf32> -> tensor<1x5x1x2xf32>
  %sb = tfm.reshape %s : tensor<5x2xf32> -> tensor<1x5x1x2xf32>
  %x1 = tfm.slice %x axis 3 [0 : 2] : tensor<1x5x2x8xf32> -> tensor<1x5x2x2xf32>
  %x2 = tfm.slice %x axis 3 [2 : 4] : tensor<1x5x2x8xf32> -> tensor<1x5x2x2xf32>
  %m1 = tfm.mul %x1, %cb : tensor<1x5x2x2xf32>, tensor<1x5x1x2xf32>
  %m2 = tfm.mul %x2, %sb : tensor<1x5x2x2xf32>, tensor<1x5x1x2xf32>
  %o1 = tfm.sub %m1, %m2 : tensor<1x5x2x2xf32>, tensor<1x5x2x2xf32>
  %m3 = tfm.mul %x2, %cb : tensor<1x5x2x2xf32>, tensor<1x5x1x2xf32>
  %m4 = tfm.mul %x1, %sb : tensor<1x5x2x2xf32>, tensor<1x5x1x2xf32>
  %o2 = tfm.add %m3, %m4 : tensor<1x5x2x2xf32>, tensor<1x5x2x2xf32>
  %rest = tfm.slice %x axis 3 [4 : 8] : tensor<1x5x2x8xf32> -> tensor<1x5x2x4xf32>
  // expected-remark @below {{fused into tfm.rotary}}
  %out = tfm.concat %o1, %o2, %rest axis 3 : (tensor<1x5x2x2xf32>, tensor<1x5x2x2xf32>, tensor<1x5x2x4xf32>) -> tensor<1x5x2x8xf32>
  return %out : tensor<1x5x2x8xf32>
}

// -----

// The sines are of other angles (another frequency table): not a rotation.
// CHECK-LABEL: func.func @different_angles
// CHECK-NOT: tfm.rotary
// CHECK: return
func.func @different_angles(%x: tensor<1x3x2x8xf32>) -> tensor<1x3x2x8xf32> {
  %pos = tfm.range : tensor<3xi64>
  %pf = tfm.convert %pos : tensor<3xi64> -> tensor<3xf32>
  %col = tfm.reshape %pf : tensor<3xf32> -> tensor<3x1xf32>
  %theta = tfm.constant dense<[1.0, 0.1, 0.01, 0.001]> : tensor<4xf32>
  %a = tfm.mul %col, %theta : tensor<3x1xf32>, tensor<4xf32>
  %aa = tfm.concat %a, %a axis 1 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  %theta2 = tfm.constant dense<[1.0, 0.5, 0.25, 0.125]> : tensor<4xf32>
  %b = tfm.mul %col, %theta2 : tensor<3x1xf32>, tensor<4xf32>
  %bb = tfm.concat %b, %b axis 1 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  %c = tfm.cos %aa : tensor<3x8xf32>
  %s = tfm.sin %bb : tensor<3x8xf32>
  %cb = tfm.reshape %c : tensor<3x8xf32> -> tensor<1x3x1x8xf32>
  %sb = tfm.reshape %s : tensor<3x8xf32> -> tensor<1x3x1x8xf32>
  %x1 = tfm.slice %x axis 3 [0 : 4] : tensor<1x3x2x8xf32> -> tensor<1x3x2x4xf32>
  %x2 = tfm.slice %x axis 3 [4 : 8] : tensor<1x3x2x8xf32> -> tensor<1x3x2x4xf32>
  %nx2 = tfm.scale %x2 by -1.0 : tensor<1x3x2x4xf32>
  %rot = tfm.concat %nx2, %x1 axis 3 : (tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>) -> tensor<1x3x2x8xf32>
  %t1 = tfm.mul %x, %cb : tensor<1x3x2x8xf32>, tensor<1x3x1x8xf32>
  %t2 = tfm.mul %rot, %sb : tensor<1x3x2x8xf32>, tensor<1x3x1x8xf32>
  // expected-remark @below {{not fused into tfm.rotary: the cosines and sines are of different angles}}
  %r = tfm.add %t1, %t2 : tensor<1x3x2x8xf32>, tensor<1x3x2x8xf32>
  return %r : tensor<1x3x2x8xf32>
}

// -----

// Frequencies that no single base produces.
// CHECK-LABEL: func.func @not_geometric
// CHECK-NOT: tfm.rotary
// CHECK: return
func.func @not_geometric(%x: tensor<1x3x2x8xf32>) -> tensor<1x3x2x8xf32> {
  %pos = tfm.range : tensor<3xi64>
  %pf = tfm.convert %pos : tensor<3xi64> -> tensor<3xf32>
  %col = tfm.reshape %pf : tensor<3xf32> -> tensor<3x1xf32>
  %theta = tfm.constant dense<[1.0, 0.1, 0.05, 0.001]> : tensor<4xf32>
  %a = tfm.mul %col, %theta : tensor<3x1xf32>, tensor<4xf32>
  %aa = tfm.concat %a, %a axis 1 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  %c = tfm.cos %aa : tensor<3x8xf32>
  %s = tfm.sin %aa : tensor<3x8xf32>
  %cb = tfm.reshape %c : tensor<3x8xf32> -> tensor<1x3x1x8xf32>
  %sb = tfm.reshape %s : tensor<3x8xf32> -> tensor<1x3x1x8xf32>
  %x1 = tfm.slice %x axis 3 [0 : 4] : tensor<1x3x2x8xf32> -> tensor<1x3x2x4xf32>
  %x2 = tfm.slice %x axis 3 [4 : 8] : tensor<1x3x2x8xf32> -> tensor<1x3x2x4xf32>
  %nx2 = tfm.scale %x2 by -1.0 : tensor<1x3x2x4xf32>
  %rot = tfm.concat %nx2, %x1 axis 3 : (tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>) -> tensor<1x3x2x8xf32>
  %t1 = tfm.mul %x, %cb : tensor<1x3x2x8xf32>, tensor<1x3x1x8xf32>
  %t2 = tfm.mul %rot, %sb : tensor<1x3x2x8xf32>, tensor<1x3x1x8xf32>
  // expected-remark @below {{not fused into tfm.rotary: the frequencies are not 1 / base^(2i/8) for one base}}
  %r = tfm.add %t1, %t2 : tensor<1x3x2x8xf32>, tensor<1x3x2x8xf32>
  return %r : tensor<1x3x2x8xf32>
}

// -----

// Hugging Face's [batch, heads, seq, dim] layout: the positions are on axis 2.
// CHECK-LABEL: func.func @heads_first
// CHECK-NOT: tfm.rotary
// CHECK: return
func.func @heads_first(%x: tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32> {
  %pos = tfm.range : tensor<3xi64>
  %pf = tfm.convert %pos : tensor<3xi64> -> tensor<3xf32>
  %col = tfm.reshape %pf : tensor<3xf32> -> tensor<3x1xf32>
  %theta = tfm.constant dense<[1.0, 0.1, 0.01, 0.001]> : tensor<4xf32>
  %a = tfm.mul %col, %theta : tensor<3x1xf32>, tensor<4xf32>
  %aa = tfm.concat %a, %a axis 1 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  %c = tfm.cos %aa : tensor<3x8xf32>
  %s = tfm.sin %aa : tensor<3x8xf32>
  %cb = tfm.reshape %c : tensor<3x8xf32> -> tensor<1x1x3x8xf32>
  %sb = tfm.reshape %s : tensor<3x8xf32> -> tensor<1x1x3x8xf32>
  %x1 = tfm.slice %x axis 3 [0 : 4] : tensor<1x2x3x8xf32> -> tensor<1x2x3x4xf32>
  %x2 = tfm.slice %x axis 3 [4 : 8] : tensor<1x2x3x8xf32> -> tensor<1x2x3x4xf32>
  %nx2 = tfm.scale %x2 by -1.0 : tensor<1x2x3x4xf32>
  %rot = tfm.concat %nx2, %x1 axis 3 : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x8xf32>
  %t1 = tfm.mul %x, %cb : tensor<1x2x3x8xf32>, tensor<1x1x3x8xf32>
  %t2 = tfm.mul %rot, %sb : tensor<1x2x3x8xf32>, tensor<1x1x3x8xf32>
  // expected-remark @below {{not fused into tfm.rotary: the tables do not broadcast as [1, seq, 1, 8] over [batch, seq, heads, dim] (positions on axis 1)}}
  %r = tfm.add %t1, %t2 : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>
  return %r : tensor<1x2x3x8xf32>
}

// -----

// Positions from an argument, not a tfm.range.
// CHECK-LABEL: func.func @positions_not_range
// CHECK-NOT: tfm.rotary
// CHECK: return
func.func @positions_not_range(%x: tensor<1x3x2x8xf32>, %p: tensor<3xf32>) -> tensor<1x3x2x8xf32> {
  %col = tfm.reshape %p : tensor<3xf32> -> tensor<3x1xf32>
  %theta = tfm.constant dense<[1.0, 0.1, 0.01, 0.001]> : tensor<4xf32>
  %a = tfm.mul %col, %theta : tensor<3x1xf32>, tensor<4xf32>
  %aa = tfm.concat %a, %a axis 1 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  %c = tfm.cos %aa : tensor<3x8xf32>
  %s = tfm.sin %aa : tensor<3x8xf32>
  %cb = tfm.reshape %c : tensor<3x8xf32> -> tensor<1x3x1x8xf32>
  %sb = tfm.reshape %s : tensor<3x8xf32> -> tensor<1x3x1x8xf32>
  %x1 = tfm.slice %x axis 3 [0 : 4] : tensor<1x3x2x8xf32> -> tensor<1x3x2x4xf32>
  %x2 = tfm.slice %x axis 3 [4 : 8] : tensor<1x3x2x8xf32> -> tensor<1x3x2x4xf32>
  %nx2 = tfm.scale %x2 by -1.0 : tensor<1x3x2x4xf32>
  %rot = tfm.concat %nx2, %x1 axis 3 : (tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>) -> tensor<1x3x2x8xf32>
  %t1 = tfm.mul %x, %cb : tensor<1x3x2x8xf32>, tensor<1x3x1x8xf32>
  %t2 = tfm.mul %rot, %sb : tensor<1x3x2x8xf32>, tensor<1x3x1x8xf32>
  // expected-remark @below {{not fused into tfm.rotary: the angles' positions are not a tfm.range}}
  %r = tfm.add %t1, %t2 : tensor<1x3x2x8xf32>, tensor<1x3x2x8xf32>
  return %r : tensor<1x3x2x8xf32>
}

// -----

// concat(x2, -x1) rotates the other way: not matched, no remark.
// CHECK-LABEL: func.func @wrong_rotation
// CHECK-NOT: tfm.rotary
// CHECK: return
func.func @wrong_rotation(%x: tensor<1x3x2x8xf32>) -> tensor<1x3x2x8xf32> {
  %pos = tfm.range : tensor<3xi64>
  %pf = tfm.convert %pos : tensor<3xi64> -> tensor<3xf32>
  %col = tfm.reshape %pf : tensor<3xf32> -> tensor<3x1xf32>
  %theta = tfm.constant dense<[1.0, 0.1, 0.01, 0.001]> : tensor<4xf32>
  %a = tfm.mul %col, %theta : tensor<3x1xf32>, tensor<4xf32>
  %aa = tfm.concat %a, %a axis 1 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  %c = tfm.cos %aa : tensor<3x8xf32>
  %s = tfm.sin %aa : tensor<3x8xf32>
  %cb = tfm.reshape %c : tensor<3x8xf32> -> tensor<1x3x1x8xf32>
  %sb = tfm.reshape %s : tensor<3x8xf32> -> tensor<1x3x1x8xf32>
  %x1 = tfm.slice %x axis 3 [0 : 4] : tensor<1x3x2x8xf32> -> tensor<1x3x2x4xf32>
  %x2 = tfm.slice %x axis 3 [4 : 8] : tensor<1x3x2x8xf32> -> tensor<1x3x2x4xf32>
  %nx1 = tfm.scale %x1 by -1.0 : tensor<1x3x2x4xf32>
  %rot = tfm.concat %x2, %nx1 axis 3 : (tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>) -> tensor<1x3x2x8xf32>
  %t1 = tfm.mul %x, %cb : tensor<1x3x2x8xf32>, tensor<1x3x1x8xf32>
  %t2 = tfm.mul %rot, %sb : tensor<1x3x2x8xf32>, tensor<1x3x1x8xf32>
  %r = tfm.add %t1, %t2 : tensor<1x3x2x8xf32>, tensor<1x3x2x8xf32>
  return %r : tensor<1x3x2x8xf32>
}
