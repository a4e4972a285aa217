// The example plugin of examples/pass-plugin, loaded into tfmc-opt and tfmc.
// (MLIR cannot add a plugin's pass flags after the command line is parsed,
// so plugin passes are named in --pass-pipeline, or in one of tfmc's
// insertion points: --passes-before-fusion, --passes-after-fusion,
// --passes-before-lowering; test/Plugins/insertion-points.test.)
// RUN: tfmc-opt %s --load-pass-plugin=%tfm_obj_root/lib/libTfmApproximateGelu.so --pass-pipeline='builtin.module(func.func(tfm-approximate-gelu))' | FileCheck %s
// RUN: tfmc-opt %s --load-pass-plugin=%tfm_obj_root/lib/libTfmApproximateGelu.so --pass-pipeline='builtin.module(func.func(tfm-approximate-gelu{min-elements=8}))' | FileCheck %s --check-prefix=MIN8
// RUN: tfmc %s --load-pass-plugin=%tfm_obj_root/lib/libTfmApproximateGelu.so --passes-before-fusion='func.func(tfm-approximate-gelu)' --emit=tfm | FileCheck %s
// RUN: not tfmc %s --load-pass-plugin=%t.missing.so 2>&1 | FileCheck %s --check-prefix=MISSING

// CHECK-LABEL: func.func @small
// CHECK: tfm.gelu %{{.+}} approximate tanh : tensor<4xf32>
// MIN8-LABEL: func.func @small
// MIN8: tfm.gelu %{{.+}} : tensor<4xf32>
func.func @small(%x: tensor<4xf32>) -> tensor<4xf32> {
  %g = tfm.gelu %x : tensor<4xf32>
  return %g : tensor<4xf32>
}

// CHECK-LABEL: func.func @large
// CHECK: tfm.gelu %{{.+}} approximate tanh : tensor<2x8xf32>
// MIN8-LABEL: func.func @large
// MIN8: tfm.gelu %{{.+}} approximate tanh : tensor<2x8xf32>
func.func @large(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %g = tfm.gelu %x : tensor<2x8xf32>
  return %g : tensor<2x8xf32>
}

// MISSING: missing.so: error: cannot load pass plugin
