// RUN: tfmc-opt %s -split-input-file -verify-diagnostics

// One case per verifier / shape rule of the tfm dialect.

func.func @weight_empty_name() {
  // expected-error @+1 {{weight name must not be empty}}
  %w = tfm.weight "" : tensor<4xf32>
  return
}

// -----

func.func @weight_parts_without_axis() {
  // expected-error @+1 {{'parts' and 'concat_axis' must be given together}}
  %w = tfm.weight "qkv" {parts = ["q", "k"]} : tensor<8x4xf32>
  return
}

// -----

func.func @weight_single_part() {
  // expected-error @+1 {{a concatenated weight needs at least two parts}}
  %w = tfm.weight "qkv" concat ["q"] axis 0 : tensor<8x4xf32>
  return
}

// -----

func.func @weight_concat_axis_out_of_range() {
  // expected-error @+1 {{concatenation axis 2 is out of range for rank 2}}
  %w = tfm.weight "qkv" concat ["q", "k"] axis 2 : tensor<8x4xf32>
  return
}

// -----

func.func @weight_dynamic() {
  // expected-error @+1 {{weights must have a static shape}}
  %w = tfm.weight "w" : tensor<?x4xf32>
  return
}

// -----

func.func @constant_type_mismatch() {
  // expected-error @+1 {{failed to verify that all of {value, result} have same type}}
  %c = "tfm.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<3xf32>
  return
}

// -----

func.func @embedding_table_rank(%ids: tensor<2x5xi64>) {
  %t = tfm.weight "emb" : tensor<10x4x2xf32>
  // expected-error @+2 {{embedding table must be [vocab, d], got 10x4x2}}
  // expected-error @+1 {{failed to infer returned types}}
  %e = tfm.embedding %t, %ids : (tensor<10x4x2xf32>, tensor<2x5xi64>) -> tensor<2x5x4xf32>
  return
}

// -----

func.func @embedding_float_ids(%ids: tensor<2x5xf32>) {
  %t = tfm.weight "emb" : tensor<10x4xf32>
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %e = tfm.embedding %t, %ids : (tensor<10x4xf32>, tensor<2x5xf32>) -> tensor<2x5x4xf32>
  return
}

// -----

func.func @embedding_wrong_result(%ids: tensor<2x5xi64>) {
  %t = tfm.weight "emb" : tensor<10x4xf32>
  // expected-error @+2 {{inferred type(s) 'tensor<2x5x4xf32>' are incompatible with return type(s) of operation 'tensor<2x5x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %e = tfm.embedding %t, %ids : (tensor<10x4xf32>, tensor<2x5xi64>) -> tensor<2x5x8xf32>
  return
}

// -----

func.func @rotary_rank(%x: tensor<37x8x64xf32>) {
  // expected-error @+1 {{input must be [batch, seq, heads, head_dim], got 37x8x64}}
  %r = tfm.rotary %x base 1.000000e+04 : tensor<37x8x64xf32>
  return
}

// -----

func.func @rotary_dynamic_head_dim(%x: tensor<1x37x8x?xf32>) {
  // expected-error @+1 {{heads and head_dim must be static}}
  %r = tfm.rotary %x base 1.000000e+04 : tensor<1x37x8x?xf32>
  return
}

// -----

func.func @rotary_odd_dims(%x: tensor<1x37x8x64xf32>) {
  // expected-error @+1 {{rotates 31 features; it must be an even number from 2 to head_dim = 64}}
  %r = tfm.rotary %x base 1.000000e+04 dims 31 : tensor<1x37x8x64xf32>
  return
}

// -----

func.func @rotary_too_many_dims(%x: tensor<1x37x8x64xf32>) {
  // expected-error @+1 {{rotates 66 features; it must be an even number from 2 to head_dim = 64}}
  %r = tfm.rotary %x base 1.000000e+04 dims 66 : tensor<1x37x8x64xf32>
  return
}

// -----

func.func @rotary_base(%x: tensor<1x37x8x64xf32>) {
  // expected-error @+1 {{base must be greater than 1}}
  %r = tfm.rotary %x base 1.000000e+00 : tensor<1x37x8x64xf32>
  return
}

// -----

func.func @rotary_scaling(%x: tensor<1x37x8x64xf32>) {
  // expected-error @+1 {{scaling must be positive}}
  %r = tfm.rotary %x base 1.000000e+04 scaling 0.000000e+00 : tensor<1x37x8x64xf32>
  return
}

// -----

func.func @rotary_int(%x: tensor<1x37x8x64xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %r = tfm.rotary %x base 1.000000e+04 : tensor<1x37x8x64xi32>
  return
}

// -----

func.func @pe_rank() {
  // expected-error @+1 {{result must be [seq, d], got 2x37x96}}
  %pe = tfm.positional_encoding : tensor<2x37x96xf32>
  return
}

// -----

func.func @pe_dynamic_model_dim(%n: index) {
  // expected-error @+1 {{model dimension must be static}}
  %pe = tfm.positional_encoding sizes(%n) : tensor<37x?xf32>
  return
}

// -----

func.func @pe_base() {
  // expected-error @+1 {{base must be greater than 1}}
  %pe = tfm.positional_encoding {base = 1.0} : tensor<37x96xf32>
  return
}

// -----

func.func @pe_missing_size() {
  // expected-error @+1 {{expects 1 dynamic size operand(s) for 'tensor<?x96xf32>', got 0}}
  %pe = tfm.positional_encoding : tensor<?x96xf32>
  return
}

// -----

func.func @causal_mask_rank() {
  // expected-error @+1 {{result must be [query, key], got 37}}
  %m = tfm.causal_mask : tensor<37xf32>
  return
}

// -----

func.func @causal_mask_positive_value() {
  // expected-error @+1 {{mask value must be negative}}
  %m = tfm.causal_mask {value = 1.0e9} : tensor<37x37xf32>
  return
}

// -----

func.func @causal_mask_extra_size(%n: index) {
  // expected-error @+1 {{expects 0 dynamic size operand(s) for 'tensor<37x37xf32>', got 1}}
  %m = tfm.causal_mask sizes(%n) : tensor<37x37xf32>
  return
}

// -----

func.func @padding_mask_input_rank(%am: tensor<2x3x37xi64>) {
  // expected-error @+1 {{attention mask must be [batch, key], got 2x3x37}}
  %m = tfm.padding_mask %am : tensor<2x3x37xi64> -> tensor<2x1x1x37xf32>
  return
}

// -----

func.func @padding_mask_result_shape(%am: tensor<2x37xi64>) {
  // expected-error @+1 {{result must be [batch, 1, 1, key] for an attention mask of shape 2x37, got 2x1x37}}
  %m = tfm.padding_mask %am : tensor<2x37xi64> -> tensor<2x1x37xf32>
  return
}

// -----

func.func @padding_mask_value(%am: tensor<2x37xi64>) {
  // expected-error @+1 {{mask value must be negative}}
  %m = tfm.padding_mask %am {value = 0.0} : tensor<2x37xi64> -> tensor<2x1x1x37xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<4xf32>, %b: tensor<4x6xf32>) {
  // expected-error @+2 {{matmul operands must have rank >= 2, got 4 and 4x6}}
  // expected-error @+1 {{failed to infer returned types}}
  %m = tfm.matmul %a, %b : (tensor<4xf32>, tensor<4x6xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<5x4xf32>, %b: tensor<5x6xf32>) {
  // expected-error @+2 {{contraction sizes differ: 5x4 times 5x6 (4 vs 5)}}
  // expected-error @+1 {{failed to infer returned types}}
  %m = tfm.matmul %a, %b : (tensor<5x4xf32>, tensor<5x6xf32>) -> tensor<5x6xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x5x4xf32>, %b: tensor<3x4x6xf32>) {
  // expected-error @+2 {{batch dimensions: shapes 2 and 3 do not broadcast}}
  // expected-error @+1 {{failed to infer returned types}}
  %m = tfm.matmul %a, %b : (tensor<2x5x4xf32>, tensor<3x4x6xf32>) -> tensor<2x5x6xf32>
  return
}

// -----

func.func @matmul_element_types(%a: tensor<5x4xf32>, %b: tensor<4x6xf16>) {
  // expected-error @+2 {{matmul operand element types differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %m = tfm.matmul %a, %b : (tensor<5x4xf32>, tensor<4x6xf16>) -> tensor<5x6xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<4x8x1xf32>
  // expected-error @+2 {{linear weight must have rank 2, got 4x8x1}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<4x8x1xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_features(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<4x7xf32>
  // expected-error @+2 {{input features 8 do not match the weight 4x7 ([out, in])}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<4x7xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<4x8xf32>
  %b = tfm.weight "b" : tensor<8xf32>
  // expected-error @+1 {{bias must be [4], got 8}}
  %y = tfm.linear %x, %w bias %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_element_types(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<4x8xf16>
  // expected-error @+1 {{weight/bias element type 'f16' differs from 'f32'}}
  %y = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf16>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_epilogue_input_shape(%x: tensor<2x8xf32>, %r: tensor<3x4xf32>) {
  %w = tfm.weight "w" : tensor<4x8xf32>
  // expected-error @+1 {{epilogue input of shape 3x4 does not broadcast to the result 2x4}}
  %y = tfm.linear %x, %w inputs(%r) : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<3x4xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    tfm.yield %s : f32
  }
  return
}

// -----

func.func @linear_inputs_without_epilogue(%x: tensor<2x8xf32>, %r: tensor<2x4xf32>) {
  %w = tfm.weight "w" : tensor<4x8xf32>
  // expected-error @+1 {{epilogue inputs given without an epilogue region}}
  %y = tfm.linear %x, %w inputs(%r) : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_epilogue_arity(%x: tensor<2x8xf32>, %r: tensor<2x4xf32>) {
  %w = tfm.weight "w" : tensor<4x8xf32>
  // expected-error @+1 {{epilogue block must take the accumulator and one element per epilogue input (2 arguments), got 1}}
  %y = tfm.linear %x, %w inputs(%r) : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<2x4xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%a: f32):
    tfm.yield %a : f32
  }
  return
}

// -----

func.func @linear_epilogue_arg_type(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<4x8xf32>
  // expected-error @+1 {{epilogue arguments must be 'f32' scalars}}
  %y = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%a: f16):
    %e = arith.extf %a : f16 to f32
    tfm.yield %e : f32
  }
  return
}

// -----

func.func @linear_epilogue_yield(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<4x8xf32>
  // expected-error @+1 {{epilogue must end in 'tfm.yield' of one 'f32' value}}
  %y = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%a: f32):
    tfm.yield %a, %a : f32, f32
  }
  return
}

// -----

func.func @linear_epilogue_foreign_op(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<4x8xf32>
  %y = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%a: f32):
    // expected-error @+1 {{is not allowed in a linear epilogue (only pure scalar arith/math ops are)}}
    %t = tensor.from_elements %a : tensor<1xf32>
    tfm.yield %a : f32
  }
  return
}

// -----

func.func @linear_epilogue_uses_outer_value(%x: tensor<2x8xf32>, %c: f32) {
  %w = tfm.weight "w" : tensor<4x8xf32>
  // expected-note @+1 {{required by region isolation constraints}}
  %y = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%a: f32):
    // expected-error @+1 {{using value defined outside the region}}
    %s = arith.addf %a, %c : f32
    tfm.yield %s : f32
  }
  return
}

// -----

func.func @yield_outside_linear(%a: f32) {
  // expected-error @+1 {{expects parent op 'tfm.linear'}}
  tfm.yield %a : f32
}

// -----

func.func @binary_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{shapes 2x3 and 4 do not broadcast (dimension 1: 3 vs 4)}}
  %r = tfm.add %a, %b : tensor<2x3xf32>, tensor<4xf32>
  return
}

// -----

func.func @binary_element_types(%a: tensor<3xf32>, %b: tensor<3xf16>) {
  // expected-error @+1 {{operand element types differ: 'f32' vs 'f16'}}
  %r = tfm.mul %a, %b : tensor<3xf32>, tensor<3xf16>
  return
}

// -----

func.func @binary_integer(%a: tensor<3xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %r = "tfm.sub"(%a, %a) : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  return
}

// -----

func.func @unary_type_change(%a: tensor<3xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %r = "tfm.exp"(%a) : (tensor<3xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @reduce_axis_range(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{reduction axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %r = tfm.reduce_sum %x [2] : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @reduce_axis_repeated(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{reduction axis 1 is repeated}}
  // expected-error @+1 {{failed to infer returned types}}
  %r = tfm.reduce_max %x [1, 1] : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @reduce_no_axis(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{reduction needs at least one axis}}
  // expected-error @+1 {{failed to infer returned types}}
  %r = tfm.reduce_mean %x [] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @reduce_wrong_result(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<2x1xf32>' are incompatible with return type(s) of operation 'tensor<2xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %r = tfm.reduce_mean %x [1] keep_dims : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @reshape_elements(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot reshape 2x3 (6 elements) to 7 (7 elements)}}
  %r = tfm.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return
}

// -----

func.func @reshape_element_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{reshape cannot change the element type}}
  %r = tfm.reshape %x : tensor<2x3xf32> -> tensor<6xf16>
  return
}

// -----

func.func @reshape_dynamic(%x: tensor<?x?xf32>) {
  // expected-error @+1 {{a dynamic reshape needs exactly one dynamic dimension on each side}}
  %r = tfm.reshape %x : tensor<?x?xf32> -> tensor<?xf32>
  return
}

// -----

func.func @reshape_dynamic_groups(%x: tensor<2x?x3x?xf32>) {
  // expected-error @+1 {{or the same number on both sides with equal static products between them (2x?x3x? -> 2x?x?x3)}}
  %r = tfm.reshape %x : tensor<2x?x3x?xf32> -> tensor<2x?x?x3xf32>
  return
}

// -----

func.func @reshape_dynamic_static_part(%x: tensor<?x6xf32>) {
  // expected-error @+1 {{static parts of ?x6 and ?x4 differ}}
  %r = tfm.reshape %x : tensor<?x6xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @transpose_duplicate(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{permutation [0, 1, 1] is not a permutation of [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %t = tfm.transpose %x [0, 1, 1] : tensor<2x3x4xf32> -> tensor<2x3x3xf32>
  return
}

// -----

func.func @transpose_length(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{permutation has 2 entries but the input has rank 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %t = tfm.transpose %x [1, 0] : tensor<2x3x4xf32> -> tensor<3x2xf32>
  return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{concatenation axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = tfm.concat %a, %a axis 2 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) {
  // expected-error @+2 {{concat inputs 2x3 and 3x3 differ in dimension 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = tfm.concat %a, %b axis 1 : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) {
  // expected-error @+2 {{concat inputs have different ranks}}
  // expected-error @+1 {{failed to infer returned types}}
  %c = tfm.concat %a, %b axis 1 : (tensor<2x3xf32>, tensor<2x3x1xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @slice_range(%x: tensor<2x96xf32>) {
  // expected-error @+2 {{slice [64:128) is empty or outside dimension 1 of size 96}}
  // expected-error @+1 {{failed to infer returned types}}
  %s = tfm.slice %x axis 1 [64 : 128] : tensor<2x96xf32> -> tensor<2x64xf32>
  return
}

// -----

func.func @slice_axis(%x: tensor<2x96xf32>) {
  // expected-error @+2 {{slice axis 3 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %s = tfm.slice %x axis 3 [0 : 1] : tensor<2x96xf32> -> tensor<2x96xf32>
  return
}

// -----

func.func @gather_axis(%x: tensor<2x96xf32>, %i: tensor<3xi32>) {
  // expected-error @+2 {{gather axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %g = tfm.gather %x, %i axis 2 : (tensor<2x96xf32>, tensor<3xi32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x96xf32>) {
  // expected-error @+1 {{softmax axis 2 is out of range for rank 2}}
  %s = tfm.softmax %x axis 2 : tensor<2x96xf32>
  return
}

// -----

func.func @layer_norm_axis(%x: tensor<2x96xf32>) {
  // expected-error @+1 {{normalisation axis 5 is out of range for rank 2}}
  %y = tfm.layer_norm %x axis 5 eps 1.0e-5 : (tensor<2x96xf32>) -> tensor<2x96xf32>
  return
}

// -----

func.func @layer_norm_epsilon(%x: tensor<2x96xf32>) {
  // expected-error @+1 {{epsilon must be non-negative, got -1.000000e-05}}
  %y = tfm.layer_norm %x axis 1 eps -1.0e-5 : (tensor<2x96xf32>) -> tensor<2x96xf32>
  return
}

// -----

func.func @layer_norm_scale_shape(%x: tensor<2x96xf32>, %g: tensor<95xf32>) {
  // expected-error @+1 {{scale has shape 95 but the normalised shape is 96}}
  %y = tfm.layer_norm %x scale %g axis 1 eps 1.0e-5 : (tensor<2x96xf32>, tensor<95xf32>) -> tensor<2x96xf32>
  return
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x96xf32>, %g: tensor<96xf32>, %b: tensor<2x96xf32>) {
  // expected-error @+1 {{bias has shape 2x96 but the normalised shape is 96}}
  %y = tfm.layer_norm %x scale %g bias %b axis 1 eps 1.0e-5 : (tensor<2x96xf32>, tensor<96xf32>, tensor<2x96xf32>) -> tensor<2x96xf32>
  return
}

// -----

func.func @layer_norm_result(%x: tensor<2x96xf32>) {
  // expected-error @+1 {{result type must equal the input type}}
  %y = tfm.layer_norm %x axis 1 eps 1.0e-5 : (tensor<2x96xf32>) -> tensor<2x95xf32>
  return
}

// -----

func.func @rms_norm_scale_type(%x: tensor<2x96xf32>, %g: tensor<96xf16>) {
  // expected-error @+1 {{scale/bias element type 'f16' differs from 'f32'}}
  %y = tfm.rms_norm %x scale %g axis 1 eps 1.0e-6 : (tensor<2x96xf32>, tensor<96xf16>) -> tensor<2x96xf32>
  return
}

// -----

func.func @rms_norm_axis(%x: tensor<2x96xf32>) {
  // expected-error @+1 {{normalisation axis 2 is out of range for rank 2}}
  %y = tfm.rms_norm %x axis 2 eps 1.0e-6 : (tensor<2x96xf32>) -> tensor<2x96xf32>
  return
}

// -----

func.func @add_layer_norm_residual(%x: tensor<2x96xf32>, %r: tensor<1x96xf32>) {
  // expected-error @+1 {{residual type 'tensor<1x96xf32>' differs from the input type 'tensor<2x96xf32>'}}
  %y:2 = tfm.add_layer_norm %x, %r axis 1 eps 1.0e-5 : (tensor<2x96xf32>, tensor<1x96xf32>) -> (tensor<2x96xf32>, tensor<2x96xf32>)
  return
}

// -----

func.func @add_rms_norm_results(%x: tensor<2x96xf32>) {
  // expected-error @+1 {{both results must have the input type 'tensor<2x96xf32>'}}
  %y:2 = tfm.add_rms_norm %x, %x axis 1 eps 1.0e-5 : (tensor<2x96xf32>, tensor<2x96xf32>) -> (tensor<2x96xf32>, tensor<96xf32>)
  return
}

// -----

func.func @add_layer_norm_scale(%x: tensor<2x96xf32>, %g: tensor<2xf32>) {
  // expected-error @+1 {{scale has shape 2 but the normalised shape is 96}}
  %y:2 = tfm.add_layer_norm %x, %x scale %g axis 1 eps 1.0e-5 : (tensor<2x96xf32>, tensor<2x96xf32>, tensor<2xf32>) -> (tensor<2x96xf32>, tensor<2x96xf32>)
  return
}

// -----

func.func @attention_ranks(%q: tensor<2x37x96xf32>, %k: tensor<2x3x37x32xf32>) {
  // expected-error @+1 {{query, key and value must all have rank 3 ([B, S, H*D]) or all rank 4 ([B, H, S, D]), got 2x37x96, 2x3x37x32, 2x3x37x32}}
  %o = tfm.attention %q, %k, %k heads 3 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x3x37x32xf32>, tensor<2x3x37x32xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_heads_divide(%q: tensor<2x37x96xf32>) {
  // expected-error @+1 {{query/key features 96 are not divisible by heads = 5}}
  %o = tfm.attention %q, %q, %q heads 5 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_heads_positive(%q: tensor<2x37x96xf32>) {
  // expected-error @+1 {{number of heads must be positive, got 0}}
  %o = tfm.attention %q, %q, %q heads 0 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_explicit_heads(%q: tensor<2x3x37x32xf32>) {
  // expected-error @+1 {{heads = 4 does not match the head dimension of 2x3x37x32, 2x3x37x32, 2x3x37x32}}
  %o = tfm.attention %q, %q, %q heads 4 scale 0.125 : (tensor<2x3x37x32xf32>, tensor<2x3x37x32xf32>, tensor<2x3x37x32xf32>) -> tensor<2x3x37x32xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<2x37x96xf32>, %k: tensor<3x37x96xf32>) {
  // expected-error @+1 {{batch sizes of query, key and value differ}}
  %o = tfm.attention %q, %k, %k heads 3 scale 0.125 : (tensor<2x37x96xf32>, tensor<3x37x96xf32>, tensor<3x37x96xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_kv_heads_divide(%q: tensor<2x37x96xf32>, %k: tensor<2x37x64xf32>) {
  // expected-error @+1 {{heads = 6 is not a multiple of kv_heads = 4}}
  %o = tfm.attention %q, %k, %k heads 6 kv_heads 4 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x37x64xf32>, tensor<2x37x64xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_kv_features(%q: tensor<2x37x96xf32>, %k: tensor<2x37x48xf32>) {
  // expected-error @+1 {{key features 48 are not kv_heads = 2 heads of the query's 16}}
  %o = tfm.attention %q, %k, %k heads 6 kv_heads 2 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x37x48xf32>, tensor<2x37x48xf32>) -> tensor<2x37x72xf32>
  return
}

// -----

func.func @attention_kv_explicit(%q: tensor<2x6x37x16xf32>, %k: tensor<2x3x37x16xf32>) {
  // expected-error @+1 {{heads = 6 (kv_heads = 2) does not match the head dimension of 2x6x37x16, 2x3x37x16, 2x3x37x16}}
  %o = tfm.attention %q, %k, %k heads 6 kv_heads 2 scale 0.125 : (tensor<2x6x37x16xf32>, tensor<2x3x37x16xf32>, tensor<2x3x37x16xf32>) -> tensor<2x6x37x16xf32>
  return
}

// -----

func.func @attention_qk_features(%q: tensor<2x37x96xf32>, %k: tensor<2x37x48xf32>, %v: tensor<2x37x96xf32>) {
  // expected-error @+1 {{query and key feature sizes differ (96 vs 48)}}
  %o = tfm.attention %q, %k, %v heads 3 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x37x48xf32>, tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_kv_length(%q: tensor<2x37x96xf32>, %k: tensor<2x11x96xf32>, %v: tensor<2x12x96xf32>) {
  // expected-error @+1 {{key and value sequence lengths differ (11 vs 12)}}
  %o = tfm.attention %q, %k, %v heads 3 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x11x96xf32>, tensor<2x12x96xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_mask_shape(%q: tensor<2x37x96xf32>, %m: tensor<2x1x1x36xf32>) {
  // expected-error @+1 {{mask of shape 2x1x1x36 does not broadcast to the scores 2x3x37x37 ([batch, heads, query, key])}}
  %o = tfm.attention %q, %q, %q mask %m heads 3 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x1x1x36xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<2x37x96xf32>) {
  // expected-error @+1 {{scale must be a positive finite number, got -1.250000e-01}}
  %o = tfm.attention %q, %q, %q heads 3 scale -0.125 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_offset_needs_causal(%q: tensor<2x37x96xf32>, %off: index) {
  // expected-error @+1 {{an offset only applies to causal attention}}
  %o = tfm.attention %q, %q, %q offset %off heads 3 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>, index) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_mask_type(%q: tensor<2x37x96xf32>, %m: tensor<37x37xf16>) {
  // expected-error @+1 {{key/value/mask element type 'f16' differs from 'f32'}}
  %o = tfm.attention %q, %q, %q mask %m heads 3 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<37x37xf16>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @cache_write_rank(%c: tensor<1x64x96xf32>, %u: tensor<64x96xf32>, %p: index) {
  // expected-error @+1 {{update rank 2 differs from the cache rank 3}}
  %0 = tfm.cache_write %c, %u offset %p axis 1 : (tensor<1x64x96xf32>, tensor<64x96xf32>) -> tensor<1x64x96xf32>
  return
}

// -----

func.func @cache_write_too_long(%c: tensor<1x64x96xf32>, %u: tensor<1x65x96xf32>, %p: index) {
  // expected-error @+1 {{update of 65 rows does not fit a cache of 64}}
  %0 = tfm.cache_write %c, %u offset %p axis 1 : (tensor<1x64x96xf32>, tensor<1x65x96xf32>) -> tensor<1x64x96xf32>
  return
}

// -----

func.func @cache_write_width(%c: tensor<1x64x96xf32>, %u: tensor<1x1x48xf32>, %p: index) {
  // expected-error @+1 {{update shape 1x1x48 does not match cache shape 1x64x96 outside axis 1}}
  %0 = tfm.cache_write %c, %u offset %p axis 1 : (tensor<1x64x96xf32>, tensor<1x1x48xf32>) -> tensor<1x64x96xf32>
  return
}

// -----

func.func @cache_write_dynamic_cache(%c: tensor<1x?x96xf32>, %u: tensor<1x1x96xf32>, %p: index) {
  // expected-error @+1 {{the cache must have a static shape, got 1x?x96}}
  %0 = tfm.cache_write %c, %u offset %p axis 1 : (tensor<1x?x96xf32>, tensor<1x1x96xf32>) -> tensor<1x?x96xf32>
  return
}

// -----

func.func @cache_write_axis(%c: tensor<1x64x96xf32>, %u: tensor<1x1x96xf32>, %p: index) {
  // expected-error @+1 {{cache axis 3 is out of range for rank 3}}
  %0 = tfm.cache_write %c, %u offset %p axis 3 : (tensor<1x64x96xf32>, tensor<1x1x96xf32>) -> tensor<1x64x96xf32>
  return
}

// -----

func.func @range_rank(%n: index) {
  // expected-error @+1 {{result must be 1-D, got 1x?}}
  %0 = tfm.range sizes(%n) : tensor<1x?xi64>
  return
}

// -----

func.func @range_sizes() {
  // expected-error @+1 {{expects 1 dynamic size operand(s) for 'tensor<?xi64>', got 0}}
  %0 = tfm.range : tensor<?xi64>
  return
}

// -----

func.func @causal_mask_window() {
  // expected-error @+1 {{window must be positive, got 0}}
  %m = tfm.causal_mask window 0 : tensor<37x37xf32>
  return
}

// -----

func.func @attention_window_needs_causal(%q: tensor<2x37x96xf32>) {
  // expected-error @+1 {{a sliding window only applies to causal attention}}
  %o = tfm.attention %q, %q, %q heads 3 scale 0.125 window 8 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @attention_window_positive(%q: tensor<2x37x96xf32>) {
  // expected-error @+1 {{window must be positive, got -2}}
  %o = tfm.attention %q, %q, %q heads 3 scale 0.125 causal window -2 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  return
}

// -----

func.func @gated_linear_without_epilogue(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<8x8xf32>
  // expected-error @+1 {{a gated linear needs an epilogue that combines the two halves}}
  %y = tfm.linear %x, %w gated : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @gated_linear_odd_features(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<7x8xf32>
  // expected-error @+1 {{a gated linear needs an even number of weight features, got 7}}
  %y = tfm.linear %x, %w gated : (tensor<2x8xf32>, tensor<7x8xf32>) -> tensor<2x3xf32> epilogue {
  ^bb0(%g: f32, %u: f32):
    %m = arith.mulf %g, %u : f32
    tfm.yield %m : f32
  }
  return
}

// -----

func.func @gated_linear_epilogue_arity(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<8x8xf32>
  // expected-error @+1 {{epilogue block must take both accumulators and one element per epilogue input (2 arguments), got 1}}
  %y = tfm.linear %x, %w gated : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%g: f32):
    tfm.yield %g : f32
  }
  return
}

// -----

func.func @gated_linear_bias(%x: tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<8x8xf32>
  %b = tfm.weight "b" : tensor<4xf32>
  // expected-error @+1 {{bias must be [8], got 4}}
  %y = tfm.linear %x, %w bias %b gated : (tensor<2x8xf32>, tensor<8x8xf32>, tensor<4xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%g: f32, %u: f32):
    %m = arith.mulf %g, %u : f32
    tfm.yield %m : f32
  }
  return
}

// -----

func.func @moe_gate_top_k(%l: tensor<5x8xf32>) {
  // expected-error @+1 {{top_k = 9 must be between 1 and the 8 experts}}
  %w = tfm.moe_gate %l top_k 9 routing topk_softmax : tensor<5x8xf32>
  return
}

// -----

func.func @moe_gate_dynamic_experts(%l: tensor<5x?xf32>) {
  // expected-error @+1 {{router logits must be [..., experts] with a static number of experts}}
  %w = tfm.moe_gate %l top_k 1 routing topk_softmax : tensor<5x?xf32>
  return
}

// -----

func.func @moe_weights_mismatch(%x: tensor<5x96xf32>, %w: tensor<5x8xf32>,
                                %gu: tensor<8x320x96xf32>, %dn: tensor<8x96x150xf32>) {
  // expected-error @+1 {{expert weights gate_up 8x320x96 and down 8x96x150 do not match}}
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<5x96xf32>, tensor<5x8xf32>, tensor<8x320x96xf32>, tensor<8x96x150xf32>) -> tensor<5x96xf32>
  return
}

// -----

func.func @moe_weights_rank(%x: tensor<5x96xf32>, %w: tensor<5x8xf32>,
                            %gu: tensor<320x96xf32>, %dn: tensor<8x96x160xf32>) {
  // expected-error @+1 {{expert weights must be gate_up [E, 2F, D] and down [E, D, F]}}
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<5x96xf32>, tensor<5x8xf32>, tensor<320x96xf32>, tensor<8x96x160xf32>) -> tensor<5x96xf32>
  return
}

// -----

func.func @moe_routing_rows(%x: tensor<5x96xf32>, %w: tensor<4x8xf32>,
                            %gu: tensor<8x320x96xf32>, %dn: tensor<8x96x160xf32>) {
  // expected-error @+1 {{routing weights 4x8 do not match the rows of input 5x96}}
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<5x96xf32>, tensor<4x8xf32>, tensor<8x320x96xf32>, tensor<8x96x160xf32>) -> tensor<5x96xf32>
  return
}

// -----

func.func @moe_routing_experts(%x: tensor<5x96xf32>, %w: tensor<5x7xf32>,
                               %gu: tensor<8x320x96xf32>, %dn: tensor<8x96x160xf32>) {
  // expected-error @+1 {{routing weights must be [..., 8] with the input's leading dimensions}}
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<5x96xf32>, tensor<5x7xf32>, tensor<8x320x96xf32>, tensor<8x96x160xf32>) -> tensor<5x96xf32>
  return
}

// -----

func.func @moe_top_k(%x: tensor<5x96xf32>, %w: tensor<5x8xf32>,
                     %gu: tensor<8x320x96xf32>, %dn: tensor<8x96x160xf32>) {
  // expected-error @+1 {{top_k = 0 must be between 1 and the 8 experts}}
  %y = tfm.moe %x, %w, %gu, %dn top_k 0 act silu
      : (tensor<5x96xf32>, tensor<5x8xf32>, tensor<8x320x96xf32>, tensor<8x96x160xf32>) -> tensor<5x96xf32>
  return
}

// -----

func.func @moe_result_type(%x: tensor<5x96xf32>, %w: tensor<5x8xf32>,
                           %gu: tensor<8x320x96xf32>, %dn: tensor<8x96x160xf32>) {
  // expected-error @+1 {{must have one element type and the result the input's type}}
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<5x96xf32>, tensor<5x8xf32>, tensor<8x320x96xf32>, tensor<8x96x160xf32>) -> tensor<5x95xf32>
  return
}

// -----

func.func @relative_bias_heads(%t: tensor<32x6xf32>) {
  // expected-error @+1 {{result must be [1, 6, query, key] for a table of 6 heads, got 1x4x5x5}}
  %b = tfm.relative_position_bias %t max_distance 128 : tensor<32x6xf32> -> tensor<1x4x5x5xf32>
  return
}

// -----

func.func @relative_bias_table(%t: tensor<?x6xf32>) {
  // expected-error @+1 {{table must be a static [num_buckets, heads], got ?x6}}
  %b = tfm.relative_position_bias %t max_distance 128 : tensor<?x6xf32> -> tensor<1x6x5x5xf32>
  return
}

// -----

func.func @relative_bias_buckets(%t: tensor<3x6xf32>) {
  // expected-error @+1 {{needs at least 4 buckets, got 3}}
  %b = tfm.relative_position_bias %t max_distance 128 bidirectional : tensor<3x6xf32> -> tensor<1x6x5x5xf32>
  return
}

// -----

func.func @relative_bias_distance(%t: tensor<32x6xf32>) {
  // expected-error @+1 {{max_distance must exceed the 8 exact buckets, got 8}}
  %b = tfm.relative_position_bias %t max_distance 8 bidirectional : tensor<32x6xf32> -> tensor<1x6x5x5xf32>
  return
}

// -----

func.func @relative_bias_sizes(%t: tensor<32x6xf32>) {
  // expected-error @+1 {{expects 1 dynamic size operand(s) for 'tensor<1x6x5x?xf32>', got 0}}
  %b = tfm.relative_position_bias %t max_distance 128 : tensor<32x6xf32> -> tensor<1x6x5x?xf32>
  return
}

// -----

func.func @quantized_vector() -> tensor<4xf32> {
  // expected-error @below {{a quantized weight must be an f32 matrix}}
  %w = tfm.weight "b" quantized <bits = 8, group = 32> : tensor<4xf32>
  return %w : tensor<4xf32>
}
