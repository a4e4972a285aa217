//===- Passes.td - tfm graph transformations -------------------*- tablegen -*-===//
//
// Part of tfmc. Every pass here works on the tfm dialect and is shared by all
// backends; target choices are pass options, never forks of a pass.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_PASSES_TD
#define TFM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertWeightsPass : Pass<"tfm-convert-weights", "ModuleOp"> {
  let summary = "Store GEMM and embedding weights in a narrower float type";
  let description = [{
    Every f32 `tfm.weight` of rank 2 or more that is only read as the weight
    of a `tfm.linear` or the table of a `tfm.embedding` is stored in `dtype`
    instead; a `tfm.convert` widens it back, so the computation stays f32
    and keeps its types. The plan fuses such a convert into the loads of the
    GEMM and gather kernels (no converted copy is ever made), and the weight
    plan stores the weight in 2 bytes per element. Vectors (biases, norm
    scales) and tensors read any other way stay f32, in every entry point:
    a weight that one entry reads through a slice (a learned position table
    with a static length) stays f32 in all of them, so it is stored once.

    ```mlir
    %w = tfm.weight "fc1.weight" : tensor<384x96xf32>
    %y = tfm.linear %x, %w : (tensor<2x96xf32>, tensor<384x96xf32>) -> tensor<2x384xf32>
    // becomes, with dtype=bf16
    %w = tfm.weight "fc1.weight" : tensor<384x96xbf16>
    %w32 = tfm.convert %w : tensor<384x96xbf16> -> tensor<384x96xf32>
    %y = tfm.linear %x, %w32 : (tensor<2x96xf32>, tensor<384x96xf32>) -> tensor<2x384xf32>
    ```
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", "\"bf16\"",
           "Storage type of the converted weights: bf16, f16 or f32 (none)">
  ];
}

def QuantizeWeightsPass : Pass<"tfm-quantize-weights", "ModuleOp"> {
  let summary = "Store GEMM weights as 8- or 4-bit integer codes with scales";
  let description = [{
    Marks every f32 matrix that is read as the weight of a `tfm.linear`
    `quantized` (`#tfm.quant<bits, group>`: symmetric codes, one f32 scale
    per output feature and `group` elements of K). Its value becomes the
    dequantized tensor; the weight plan stores codes and scales and the CPU
    GEMM dequantizes in registers. A weight also read as an embedding table
    (a tied LM head) is split: the table keeps the exact weight, the
    linears read a quantized copy. Weights that any entry reads another way
    stay as they are in every entry. With `skip-lm-head`, the linears whose
    result an entry returns (the LM head) stay unquantized.

    ```mlir
    %w = tfm.weight "fc1.weight" : tensor<384x96xf32>
    // becomes, with bits=8 group=32
    %w = tfm.weight "fc1.weight" quantized #tfm.quant<bits = 8, group = 32>
        : tensor<384x96xf32>
    ```
  }];
  let options = [
    Option<"bits", "bits", "int64_t", "8", "Bits per code: 8 or 4">,
    Option<"group", "group", "int64_t", "32",
           "Elements of K that share one scale">,
    Option<"skipLmHead", "skip-lm-head", "bool", "false",
           "Keep the linears whose results are returned in f32">
  ];
}

def DecomposePass : Pass<"tfm-decompose", "func::FuncOp"> {
  let summary = "Expand composite tfm ops into elementwise and reduction primitives";
  let description = [{
    Rewrites every tfm op that implements `linalg::AggregatedOpInterface`
    (softmax, layer_norm, rms_norm, gelu, silu, attention, add_layer_norm,
    add_rms_norm, linear with an epilogue) into the primitive sequence an
    ONNX exporter would produce, e.g.

    ```mlir
    %y = tfm.softmax %x axis 1 : tensor<4x8xf32>
    // becomes
    %m = tfm.reduce_max %x [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
    %d = tfm.sub %x, %m : tensor<4x8xf32>, tensor<4x1xf32>
    %e = tfm.exp %d : tensor<4x8xf32>
    %s = tfm.reduce_sum %e [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
    %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<4x1xf32>
    ```

    `tfmc --decompose` runs it on the frontend's output so that the
    recomposition passes see exporter-style graphs on every model.
  }];
  let options = [
    ListOption<"ops", "ops", "std::string",
               "Mnemonics of the ops to decompose (e.g. softmax,gelu); all "
               "composite ops when empty">
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// Fusion: recomposition of exporter-style primitives
//===----------------------------------------------------------------------===//

defvar FusionRemarksOption = Option<"remarks", "remarks", "bool", "false",
    "Emit a remark at every candidate site: what it was fused into, or why "
    "not">;

def RecomposeSoftmaxPass : Pass<"tfm-recompose-softmax", "func::FuncOp"> {
  let summary = "Recompose exp(x - max(x)) / sum(exp(x - max(x))) into tfm.softmax";
  let description = [{
    Recognises softmax written with primitives over one kept axis, with or
    without the maximum subtraction (the unstable variant becomes the stable
    `tfm.softmax`), dividing by the sum or multiplying by its reciprocal:

    ```mlir
    %m = tfm.reduce_max %x [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
    %d = tfm.sub %x, %m : tensor<4x8xf32>, tensor<4x1xf32>
    %e = tfm.exp %d : tensor<4x8xf32>
    %s = tfm.reduce_sum %e [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
    %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<4x1xf32>
    // becomes
    %y = tfm.softmax %x axis 1 : tensor<4x8xf32>
    ```
  }];
  let options = [FusionRemarksOption];
}

def RecomposeNormPass : Pass<"tfm-recompose-norm", "func::FuncOp"> {
  let summary = "Recompose expanded LayerNorm and RMSNorm into tfm.layer_norm / tfm.rms_norm";
  let description = [{
    LayerNorm: `c = x - mean(x)`, `var = mean(c*c)` (or `mean(c^2)`),
    normalised as `c / sqrt(var + eps)`, `c * rsqrt(var + eps)` or
    `c * (1 / sqrt(var + eps))` (ONNX's Reciprocal), then optionally
    `* scale` and `+ bias` (either operand order), over trailing axes.
    RMSNorm: `x * rsqrt(mean(x*x) + eps)` or `x / sqrt(mean(x^2) + eps)`,
    optionally `* scale`.

    ```mlir
    // c = x - mean(x); y = c / sqrt(mean(c * c) + eps) * g + b   becomes
    %y = tfm.layer_norm %x scale %g bias %b axis 2 eps 1.000000e-05
        : (tensor<2x5x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
    ```
  }];
  let options = [FusionRemarksOption];
}

def RecomposeActivationsPass : Pass<"tfm-recompose-activations", "func::FuncOp"> {
  let summary = "Recompose expanded GELU (erf and tanh forms) and SiLU";
  let description = [{
    Recognises `0.5 * x * (1 + erf(x / sqrt(2)))` as `tfm.gelu`,
    `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))` as
    `tfm.gelu approximate tanh` and `x * sigmoid(x)` as `tfm.silu`. The
    constants may be folded into any factor and the products may be in any
    order, as different exporters write them.
  }];
  let options = [FusionRemarksOption];
}

//===----------------------------------------------------------------------===//
// Fusion into fused-level ops
//===----------------------------------------------------------------------===//

def RecomposeRotaryPass : Pass<"tfm-recompose-rotary", "func::FuncOp"> {
  let summary = "Recompose rotary position embeddings written as primitives into tfm.rotary";
  let description = [{
    Hugging Face's (and exporters') `x * cos + rotate_half(x) * sin`, with
    `rotate_half(x) = concat(-x2, x1)` and full-width tables
    `cos(concat(A, A))`, and tfm-decompose's expansion over the halves,
    `concat(x1 * c - x2 * s, x2 * c + x1 * s [, x_pass])`, become
    `tfm.rotary`. The angles `A` must be `positions (x) theta` with
    positions `tfm.range` (its offset becomes the op's) converted to float
    and optionally divided by a constant (the op's `scaling`), and theta
    the table `1 / base^(2i/R)` for one base, recovered from `theta_1` and
    checked entry by entry. The tables must broadcast as `[1, seq, 1, w]`
    over `[batch, seq, heads, dim]`.

    ```mlir
    %c = tfm.cos %a : tensor<?x16xf32>   // %a = positions x theta
    ...
    %r = tfm.concat %o1, %o2 axis 3 : ...
    // becomes
    %r = tfm.rotary %x base 1.000000e+04 : tensor<1x?x4x32xf32>
    ```
  }];
  let options = [FusionRemarksOption];
}

def FuseAttentionPass : Pass<"tfm-fuse-attention", "func::FuncOp"> {
  let summary = "Fuse scaled dot-product attention into tfm.attention";
  let description = [{
    Matches `softmax(Q K^T * scale + mask) V` over the key axis, with the
    scale as `tfm.scale`, a multiplication or division by a constant, applied
    to the scores, to Q (pre-scaled) or after the mask ("mask then scale");
    the additive masks split into the `causal` flag (`tfm.causal_mask`) and a
    mask operand (anything else, e.g. `tfm.padding_mask`). When every operand
    comes from a split-heads reshape+transpose and the result goes through a
    merge-heads transpose+reshape, those are absorbed and the fused op works
    on `[B, S, H*D]`; otherwise it works on explicit heads `[B, H, S, D]`.

    ```mlir
    %s = tfm.matmul %qh, %kh transpose_rhs : ... -> tensor<1x3x37x37xf32>
    %t = tfm.scale %s by 0.17677669529663687 : tensor<1x3x37x37xf32>
    %c = tfm.causal_mask : tensor<37x37xf32>
    %u = tfm.add %t, %c : tensor<1x3x37x37xf32>, tensor<37x37xf32>
    %p = tfm.softmax %u axis 3 : tensor<1x3x37x37xf32>
    %o = tfm.matmul %p, %vh : ... -> tensor<1x3x37x32xf32>
    // becomes
    %o = tfm.attention %q, %k, %v heads 3 scale 0.17677669529663687 causal : ...
    ```
  }];
  let options = [FusionRemarksOption];
}

def FuseResidualNormPass : Pass<"tfm-fuse-residual-norm", "func::FuncOp"> {
  let summary = "Fuse a residual add into the norm that reads it";
  let description = [{
    `layer_norm(x + r)` becomes `tfm.add_layer_norm x, r` (and likewise for
    RMSNorm); other users of the sum (a pre-LN residual stream) read the
    fused op's second result, so the sum is computed once, in the same pass
    over each row as the normalisation.
  }];
  let options = [FusionRemarksOption];
}

def FuseEpiloguePass : Pass<"tfm-fuse-epilogue", "func::FuncOp"> {
  let summary = "Fuse bias, activation and elementwise consumers into tfm.linear";
  let description = [{
    A `tfm.matmul` by a `[K, N]` weight becomes a `tfm.linear ... weight_kn`;
    an added `[N]` bias becomes the linear's bias; then the cluster of
    elementwise ops that only the linear's result feeds (activations, scales,
    additions of constants or of broadcastable tensors such as a residual)
    becomes the linear's epilogue region, built from each op's
    ScalarComputeOpInterface, so the backends apply it in the GEMM's
    write-back. Elementwise ops that combine the two halves `[0, H)` and
    `[H, 2H)` of one linear with a stored weight (a merged gate/up
    projection's `act(gate) * up`) make it a `gated` linear whose epilogue
    takes both halves.

    ```mlir
    %h = tfm.linear %x, %w bias %b : ...
    %g = tfm.gelu %h : tensor<1x37x384xf32>
    // becomes
    %g = tfm.linear %x, %w bias %b : ... epilogue {
    ^bb0(%acc: f32):
      ... // 0.5 * acc * (1 + erf(acc / sqrt(2)))
      tfm.yield %r : f32
    }
    ```
  }];
  let options = [FusionRemarksOption];
}

def MergeQKVPass : Pass<"tfm-merge-qkv", "func::FuncOp"> {
  let summary = "Merge linears that read the same input into one wider linear";
  let description = [{
    Two or more `tfm.linear` ops on the same input with model weights of the
    same input size (the Q, K and V projections of self-attention, the K and
    V projections of cross-attention) become one linear on a concatenated
    weight, followed by `tfm.slice`s. The concatenation is a derived
    `tfm.weight` (`concat [...] axis N`) that the backends materialise at
    compile time, so nothing is copied at run time.
  }];
  let options = [FusionRemarksOption,
    Option<"minGroup", "min-group", "unsigned", "2",
           "Smallest number of linears merged into one">];
}

#endif // TFM_TRANSFORMS_PASSES_TD
