//===- TfmOps.td - tfm operations ------------------------------*- tablegen -*-===//
//
// Part of tfmc. Every op has a summary, a description with an example, an
// assembly format, traits and (where shapes can be wrong) a verifier or a
// type inference that calls the shared shape functions of ShapeUtils.h.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_IR_TFMOPS_TD
#define TFM_IR_TFMOPS_TD

include "tfm/IR/TfmBase.td"
include "tfm/IR/TfmInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Dialect/Linalg/IR/LinalgInterfaces.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums used by ops
//===----------------------------------------------------------------------===//

def Tfm_GeluErf : I32EnumAttrCase<"erf", 0>;
def Tfm_GeluTanh : I32EnumAttrCase<"tanh", 1>;
def Tfm_GeluApproximationAttr : I32EnumAttr<"GeluApproximation",
    "how GELU is computed: exactly with erf, or with the tanh approximation",
    [Tfm_GeluErf, Tfm_GeluTanh]> {
  let cppNamespace = "::mlir::tfm";
}

def Tfm_ActRelu : I32EnumAttrCase<"relu", 0>;
def Tfm_ActGelu : I32EnumAttrCase<"gelu", 1>;
def Tfm_ActGeluTanh : I32EnumAttrCase<"gelu_tanh", 2>;
def Tfm_ActSilu : I32EnumAttrCase<"silu", 3>;
def Tfm_ActivationKindAttr : I32EnumAttr<"ActivationKind",
    "an elementwise activation: relu, gelu (erf), gelu_tanh, silu",
    [Tfm_ActRelu, Tfm_ActGelu, Tfm_ActGeluTanh, Tfm_ActSilu]> {
  let cppNamespace = "::mlir::tfm";
}

def Tfm_RouteTopKSoftmax : I32EnumAttrCase<"topk_softmax", 0>;
def Tfm_RouteSoftmaxTopK : I32EnumAttrCase<"softmax_topk", 1>;
def Tfm_RoutingAttr : I32EnumAttr<"Routing",
    "how router logits become expert weights: top-k of the logits then a "
    "softmax over the selected ones, or a softmax over all experts then top-k",
    [Tfm_RouteTopKSoftmax, Tfm_RouteSoftmaxTopK]> {
  let cppNamespace = "::mlir::tfm";
}


//===----------------------------------------------------------------------===//
// Parameters and constants
//===----------------------------------------------------------------------===//

// #tfm.quant (TfmAttrs.td, generated with the other attributes).
def Tfm_QuantAttr : Attr<CPred<"::llvm::isa<::mlir::tfm::QuantAttr>($_self)">,
                         "quantization of a stored weight"> {
  let storageType = "::mlir::tfm::QuantAttr";
  let returnType = "::mlir::tfm::QuantAttr";
  let convertFromStorage = "$_self";
}

def Tfm_WeightOp : Tfm_Op<"weight", [Pure]> {
  let summary = "a named model parameter";
  let description = [{
    A tensor of the model's weights, referred to by name. The compiler reads
    it from the weights source (a safetensors file, or seeded random data)
    only when it writes the artifact, where each backend stores it in the
    layout its kernels want (for example packed GEMM panels on the CPU).

    A weight may be derived at compile time as the concatenation of other
    stored parameters along `axis` (this is how `tfm-merge-qkv` merges the
    Q, K and V projections without any work at run time). Parts of one
    rank less than the weight are stacked: concatenated along axis 0 of the
    weight with its first two dimensions merged (a mixture's `[E, 2F, D]`
    expert stack from each expert's `[F, D]` gate and up projections).

    A `quantized` weight (`tfm-quantize-weights`) is stored as integer codes
    and scales (`#tfm.quant`); its value is the dequantized tensor, in its
    (f32) type, and only GEMMs read it (they dequantize in registers).

    ```mlir
    %wq = tfm.weight "encoder.layers.0.attn.q.weight" : tensor<96x96xf32>
    %w8 = tfm.weight "h.0.mlp.c_fc.weight" quantized #tfm.quant<bits = 8, group = 32>
        : tensor<96x384xf32>
    %qkv = tfm.weight "encoder.layers.0.attn.qkv.weight"
        concat ["encoder.layers.0.attn.q.weight",
                "encoder.layers.0.attn.k.weight",
                "encoder.layers.0.attn.v.weight"] axis 0 : tensor<288x96xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, OptionalAttr<StrArrayAttr>:$parts,
                       OptionalAttr<I64Attr>:$concat_axis,
                       OptionalAttr<Tfm_QuantAttr>:$quant);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = [{
    $name (`concat` $parts^ `axis` $concat_axis)? (`quantized` $quant^)?
    attr-dict `:` type($result)
  }];
  let builders = [
    OpBuilder<(ins "::llvm::StringRef":$name, "::mlir::Type":$type), [{
      build($_builder, $_state, type, $_builder.getStringAttr(name),
            ::mlir::ArrayAttr(), ::mlir::IntegerAttr(), QuantAttr());
    }]>,
    OpBuilder<(ins "::mlir::Type":$type, "::mlir::StringAttr":$name,
                   "::mlir::ArrayAttr":$parts,
                   "::mlir::IntegerAttr":$concat_axis), [{
      build($_builder, $_state, type, name, parts, concat_axis, QuantAttr());
    }]>
  ];
  let hasVerifier = 1;
}

def Tfm_ConstantOp : Tfm_Op<"constant",
    [ConstantLike, Pure, AllTypesMatch<["value", "result"]>]> {
  let summary = "a small constant tensor";
  let description = [{
    A literal tensor, for scalars such as epsilon or a scale factor. Model
    parameters are `tfm.weight`, never constants.

    ```mlir
    %eps = tfm.constant dense<1.000000e-05> : tensor<f32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Embeddings, positions and masks
//===----------------------------------------------------------------------===//

def Tfm_EmbeddingOp : Tfm_Op<"embedding", [Pure, InferTypeOpAdaptor]> {
  let summary = "gathers embedding rows by integer token id";
  let description = [{
    `result[i..., :] = table[ids[i...], :]`. The table is `[vocab, d]`, ids
    are i32 or i64 of any shape, the result has the shape of ids plus `d`.
    Ids outside `[0, vocab)` are rejected by the runtime before any kernel runs.

    ```mlir
    %x = tfm.embedding %table, %ids
        : (tensor<1000x96xf32>, tensor<2x37xi64>) -> tensor<2x37x96xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$table, Tfm_IdTensor:$ids);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` functional-type(operands, results)
  }];
}

def Tfm_PositionalEncodingOp : Tfm_Op<"positional_encoding",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "sinusoidal positional encoding table";
  let description = [{
    The `[seq, d]` table of "Attention Is All You Need":
    `PE(pos, 2i) = sin(pos / base^(2i/d))`, `PE(pos, 2i+1) = cos(pos / base^(2i/d))`
    with `pos = offset + row` (offset 0 when absent) and `base` 10000 by
    default. A dynamic sequence length is given by one size operand.

    ```mlir
    %pe = tfm.positional_encoding : tensor<37x96xf32>
    %pe2 = tfm.positional_encoding offset %pos sizes(%len) : tensor<?x96xf32>
    ```
  }];
  let arguments = (ins Optional<Index>:$offset, Variadic<Index>:$dynamic_sizes,
                       DefaultValuedAttr<F64Attr, "10000.0">:$base);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    (`offset` $offset^)? (`sizes` `(` $dynamic_sizes^ `)`)? attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

def Tfm_RotaryOp : Tfm_Op<"rotary", [Pure, AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]> {
  let summary = "rotary position embedding (RoPE) of queries or keys";
  let description = [{
    Rotates feature pairs of `input` (`[batch, seq, heads, head_dim]`) by
    angles proportional to the position: row `s` is at position
    `p = offset + s` (offset 0 when absent). With `R = rotary_dim` (default
    `head_dim`, even) and, for `i < R/2`, `θ_i = 1 / base^(2i/R)`:

        out[..., i]       = x[..., i] cos(p θ_i) - x[..., i + R/2] sin(p θ_i)
        out[..., i + R/2] = x[..., i + R/2] cos(p θ_i) + x[..., i] sin(p θ_i)
        out[..., j]       = x[..., j]                    for R <= j < head_dim

    the "rotate half" pairing of GPT-NeoX and Llama (Hugging Face's
    `apply_rotary_pos_emb`). With `interleaved` the pairs are adjacent
    features instead (GPT-J's `rotate_every_two`, Meta's original Llama
    checkpoints):

        out[..., 2i]     = x[..., 2i] cos(p θ_i) - x[..., 2i + 1] sin(p θ_i)
        out[..., 2i + 1] = x[..., 2i + 1] cos(p θ_i) + x[..., 2i] sin(p θ_i)

    With `scaling` (linear position scaling, as
    Hugging Face's `rope_scaling = {type = "linear"}`) the angles are
    `(p / scaling) θ_i`. `θ_i`, `p / scaling` and the angles are rounded to f32 as
    PyTorch computes them; the cosines and sines of those angles come from
    a table the weight plan generates (layout `rotary`).

    ```mlir
    %q = tfm.rotary %x base 1.000000e+04 : tensor<1x37x8x64xf32>
    %k = tfm.rotary %y offset %past base 5.000000e+05 dims 32 : tensor<1x?x2x64xf32>
    %j = tfm.rotary %z base 1.000000e+04 interleaved : tensor<1x37x8x64xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, Optional<Index>:$offset,
                       DefaultValuedAttr<F64Attr, "10000.0">:$base,
                       OptionalAttr<I64Attr>:$rotary_dim,
                       OptionalAttr<F64Attr>:$scaling,
                       UnitAttr:$interleaved);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`offset` $offset^)? `base` $base (`dims` $rotary_dim^)?
    (`scaling` $scaling^)? (`interleaved` $interleaved^)? attr-dict
    `:` type($input)
  }];
  let extraClassDeclaration = [{
    /// R: the rotated features of each head.
    int64_t getRotaryDims();
    /// The linear position scaling factor (1 without one).
    double getPositionScaling();
  }];
  let hasVerifier = 1;
}

def Tfm_CausalMaskOp : Tfm_Op<"causal_mask", [Pure, AttrSizedOperandSegments]> {
  let summary = "additive causal (look-ahead) mask";
  let description = [{
    A `[q, k]` tensor that is 0 where key `j` may be attended by query `i`
    (`j <= i + offset`) and `value` (a large negative number, -1e9 as in the
    paper) elsewhere. Added to the attention scores before the softmax.
    With a sliding `window` W (Mistral), query `i` sees only the last W
    positions: keys `j <= i + offset - W` are masked too.

    ```mlir
    %m = tfm.causal_mask : tensor<37x37xf32>
    %w = tfm.causal_mask window 16 : tensor<37x37xf32>
    ```
  }];
  let arguments = (ins Optional<Index>:$offset, Variadic<Index>:$dynamic_sizes,
                       DefaultValuedAttr<F64Attr, "-1.0e9">:$value,
                       OptionalAttr<I64Attr>:$window);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    (`offset` $offset^)? (`window` $window^)? (`sizes` `(` $dynamic_sizes^ `)`)?
    attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

def Tfm_RelativePositionBiasOp : Tfm_Op<"relative_position_bias",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "T5's bucketed relative position bias";
  let description = [{
    A `[1, heads, q, k]` tensor added to the attention scores:
    element `(0, h, i, j)` is `table[bucket(j - (i + offset)), h]`, where
    `table` is `[num_buckets, heads]` and `bucket` is T5's
    `_relative_position_bucket` (Hugging Face transformers): relative
    distances below `num_buckets / 2` (half of that when `bidirectional`,
    which gives later keys their own half of the buckets) have one bucket
    each, longer ones share logarithmically wider buckets up to
    `max_distance`, beyond which everything is the last bucket. The bucket
    boundaries are those of PyTorch's f32 arithmetic (`log` of
    `distance / max_exact`, scaled and truncated), computed once at compile
    time (`relativeBucketThresholds`). `offset` places the queries after a
    KV cache (decoding).

    ```mlir
    %b = tfm.relative_position_bias %table max_distance 128 bidirectional
        : tensor<32x8xf32> -> tensor<1x8x37x37xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$table, Optional<Index>:$offset,
                       Variadic<Index>:$dynamic_sizes, I64Attr:$max_distance,
                       UnitAttr:$bidirectional);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $table (`offset` $offset^)? `max_distance` $max_distance
    (`bidirectional` $bidirectional^)? (`sizes` `(` $dynamic_sizes^ `)`)?
    attr-dict `:` type($table) `->` type($result)
  }];
  let extraClassDeclaration = [{
    int64_t getNumBuckets() { return getTable().getType().getDimSize(0); }
  }];
  let hasVerifier = 1;
}

def Tfm_PaddingMaskOp : Tfm_Op<"padding_mask", [Pure]> {
  let summary = "additive padding mask from an attention_mask";
  let description = [{
    Turns a `[batch, k]` attention mask (1 = token, 0 = padding, as in Hugging
    Face) into an additive `[batch, 1, 1, k]` mask: 0 for tokens and `value`
    (default -1e9) for padding, broadcastable against `[batch, heads, q, k]`
    scores.

    ```mlir
    %m = tfm.padding_mask %attention_mask
        : tensor<2x37xi64> -> tensor<2x1x1x37xf32>
    ```
  }];
  let arguments = (ins Tfm_MaskSourceTensor:$input,
                       DefaultValuedAttr<F64Attr, "-1.0e9">:$value);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def Tfm_MatmulOp : Tfm_Op<"matmul", [Pure, InferTypeOpAdaptor]> {
  let summary = "batched matrix product with optional transposes";
  let description = [{
    `result[b..., m, n] = sum_k lhs[b..., m, k] * rhs[b..., k, n]`, where
    `transpose_lhs`/`transpose_rhs` swap the last two dimensions of an operand
    first. Both operands have rank >= 2; leading (batch) dimensions broadcast
    as in NumPy.

    ```mlir
    %s = tfm.matmul %q, %k transpose_rhs
        : (tensor<2x3x37x32xf32>, tensor<2x3x37x32xf32>) -> tensor<2x3x37x37xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$lhs, Tfm_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`transpose_lhs` $transpose_lhs^)?
    (`transpose_rhs` $transpose_rhs^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Tfm_LinearOp : Tfm_Op<"linear", [Pure, AttrSizedOperandSegments,
    IsolatedFromAbove,
    InferTypeOpAdaptor, DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]> {
  let summary = "x * W^T + b, optionally followed by a fused elementwise epilogue";
  let description = [{
    A fully connected layer on the last dimension: `input` is `[..., K]`, the
    weight is `[N, K]` (PyTorch `nn.Linear`), or `[K, N]` when `weight_kn` is
    set (GPT-2 `Conv1D`, ONNX `MatMul`), the optional bias is `[N]` and the
    result is `[..., N]`.

    The optional `epilogue` region is the fused elementwise computation applied
    to every output element before it is stored. Its block arguments are the
    accumulated value (after the bias) followed by one element of each
    `epilogue_inputs` tensor (broadcast to the result shape, e.g. a residual);
    its body is `arith`/`math` ops on scalars and it ends in `tfm.yield`; the
    region is isolated from above, so it is a self-contained formula. The
    backends generate the epilogue from this region, so any elementwise chain
    the fusion pass absorbs runs in the GEMM's write-back.

    A `gated` linear computes two halves of `2H` features at once and
    combines them in the epilogue (a gated feed-forward's `act(gate) * up`):
    the weight has `2H` output features, the bias (if any) `2H`, the result
    `H`, and the epilogue's first two arguments are features `j` and `H + j`
    (after the bias), followed by the epilogue inputs. The backends pack the
    weight so that both features of a pair land in one GEMM tile
    (`gated_panels`).

    ```mlir
    %h = tfm.linear %x, %w1 bias %b1
        : (tensor<2x37x96xf32>, tensor<384x96xf32>, tensor<384xf32>) -> tensor<2x37x384xf32>
        epilogue {
    ^bb0(%acc: f32):
      %zero = arith.constant 0.0 : f32
      %r = arith.maximumf %acc, %zero : f32
      tfm.yield %r : f32
    }
    %g = tfm.linear %x, %wgu gated
        : (tensor<2x37x96xf32>, tensor<512x96xf32>) -> tensor<2x37x256xf32>
        epilogue {
    ^bb0(%gate: f32, %up: f32):
      %one = arith.constant 1.0 : f32
      %n = arith.negf %gate : f32
      %e = math.exp %n : f32
      %d = arith.addf %one, %e : f32
      %s = arith.divf %gate, %d : f32
      %r = arith.mulf %s, %up : f32
      tfm.yield %r : f32
    }
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, Tfm_FloatTensor:$weight,
                       Optional<Tfm_FloatTensor>:$bias,
                       Variadic<Tfm_FloatTensor>:$epilogue_inputs,
                       UnitAttr:$weight_kn, UnitAttr:$gated);
  let results = (outs Tfm_FloatTensor:$result);
  let regions = (region MaxSizedRegion<1>:$epilogue);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`weight_kn` $weight_kn^)?
    (`gated` $gated^)? (`inputs` `(` $epilogue_inputs^ `)`)? attr-dict `:` functional-type(operands, results)
    (`epilogue` $epilogue^)?
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Value":$input, "::mlir::Value":$weight,
                   "::mlir::Value":$bias, CArg<"bool", "false">:$weightKN)>
  ];
  let extraClassDeclaration = [{
    /// True when the op has a fused epilogue region.
    bool hasEpilogue() { return !getEpilogue().empty(); }
    /// Number of output features N (of the result).
    int64_t getNumOutputFeatures();
    /// Number of the weight's output features: 2N when gated, else N.
    int64_t getNumWeightFeatures();
    /// Epilogue block arguments that carry accumulators (2 when gated).
    unsigned getNumAccumulators() { return getGated() ? 2 : 1; }
  }];
  let hasVerifier = 1;
}

def Tfm_YieldOp : Tfm_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"LinearOp">]> {
  let summary = "ends a fused epilogue region";
  let description = [{
    Returns the final element value of a `tfm.linear` epilogue.

    ```mlir
    tfm.yield %r : f32
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Tfm_BinaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : Tfm_Op<mnemonic, !listconcat(traits, [Pure, InferTypeOpAdaptor,
        DeclareOpInterfaceMethods<Tfm_ScalarComputeOpInterface>])> {
  let summary = "elementwise " # formula # " with NumPy broadcasting";
  let description = [{
    Elementwise `}] # formula # [{` of two float tensors with the same element
    type; shapes broadcast as in NumPy (right-aligned, size-1 dims stretch).

    ```mlir
    %r = tfm.}] # mnemonic # [{ %a, %b : tensor<2x37x96xf32>, tensor<96xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$lhs, Tfm_FloatTensor:$rhs);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
}

def Tfm_AddOp : Tfm_BinaryOp<"add", "lhs + rhs", [Commutative]> {
  let hasFolder = 1;
}
def Tfm_SubOp : Tfm_BinaryOp<"sub", "lhs - rhs"> { let hasFolder = 1; }
def Tfm_MulOp : Tfm_BinaryOp<"mul", "lhs * rhs", [Commutative]> {
  let hasFolder = 1;
}
def Tfm_DivOp : Tfm_BinaryOp<"div", "lhs / rhs"> { let hasFolder = 1; }
def Tfm_PowOp : Tfm_BinaryOp<"pow", "lhs ^ rhs">;

class Tfm_UnaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : Tfm_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType,
        DeclareOpInterfaceMethods<Tfm_ScalarComputeOpInterface>])> {
  let summary = "elementwise " # formula;
  let description = [{
    Elementwise `}] # formula # [{` of a float tensor.

    ```mlir
    %r = tfm.}] # mnemonic # [{ %x : tensor<2x37x96xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Tfm_ExpOp : Tfm_UnaryOp<"exp", "exp(x)">;
def Tfm_SqrtOp : Tfm_UnaryOp<"sqrt", "sqrt(x)">;
def Tfm_RsqrtOp : Tfm_UnaryOp<"rsqrt", "1 / sqrt(x)">;
def Tfm_TanhOp : Tfm_UnaryOp<"tanh", "tanh(x)">;
def Tfm_CosOp : Tfm_UnaryOp<"cos", "cos(x)">;
def Tfm_SinOp : Tfm_UnaryOp<"sin", "sin(x)">;
def Tfm_ErfOp : Tfm_UnaryOp<"erf", "erf(x)">;
def Tfm_ReluOp : Tfm_UnaryOp<"relu", "max(x, 0)">;
def Tfm_SigmoidOp : Tfm_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;
def Tfm_SiluOp : Tfm_UnaryOp<"silu", "x * sigmoid(x)",
    [DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]>;

def Tfm_GeluOp : Tfm_Op<"gelu", [Pure, SameOperandsAndResultType,
    DeclareOpInterfaceMethods<Tfm_ScalarComputeOpInterface>,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]> {
  let summary = "Gaussian error linear unit (erf or tanh form)";
  let description = [{
    `erf`: `0.5 * x * (1 + erf(x / sqrt(2)))` (BERT, PyTorch default);
    `tanh`: `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))`
    (GPT-2's `gelu_new`).

    ```mlir
    %g = tfm.gelu %x approximate tanh : tensor<2x37x384xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input,
      DefaultValuedAttr<Tfm_GeluApproximationAttr, "GeluApproximation::erf">:$approximate);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`approximate` $approximate^)? attr-dict `:` type($input)
  }];
}

def Tfm_ScaleOp : Tfm_Op<"scale", [Pure, SameOperandsAndResultType,
    DeclareOpInterfaceMethods<Tfm_ScalarComputeOpInterface>]> {
  let summary = "multiplication by a compile-time constant";
  let description = [{
    `x * factor`; the attention scores are scaled by `1/sqrt(d_head)` with it.

    ```mlir
    %s = tfm.scale %scores by 1.250000e-01 : tensor<2x3x37x37xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, F64Attr:$factor);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = "$input `by` $factor attr-dict `:` type($input)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Tfm_ConvertOp : Tfm_Op<"convert", [Pure, SameOperandsAndResultShape,
    DeclareOpInterfaceMethods<Tfm_ScalarComputeOpInterface>]> {
  let summary = "converts every element to another element type";
  let description = [{
    Float to float rounds to nearest even (`arith.truncf`) or widens exactly
    (`arith.extf`); integers widen with sign extension or truncate; integers
    (and i1) convert to floats exactly where representable, floats to
    integers toward zero. Weights stored in half precision are widened by a
    `tfm.convert` that the consuming `tfm.linear` or `tfm.embedding` absorbs
    (its kernel widens while it loads).

    ```mlir
    %w32 = tfm.convert %w : tensor<384x96xbf16> -> tensor<384x96xf32>
    ```
  }];
  let arguments = (ins Tfm_AnyTensor:$input);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Planning
//===----------------------------------------------------------------------===//

def Tfm_CopyOp : Tfm_Op<"copy", [Pure, SameOperandsAndResultType]> {
  let summary = "the identity, materialised in a buffer of its own";
  let description = [{
    Inserted by `tfm-plan-views` where a kernel needs an operand in a layout
    the value's view does not have (a contiguous row, a transposed view fed
    to a reshape), where an entry result must be written to an output buffer
    of its own, and before an in-place update of a value that is read
    again. Semantically `result = input`; it is never folded away, so the
    plan it belongs to stays valid.

    ```mlir
    %c = tfm.copy %t : tensor<2x3x37x32xf32>
    ```
  }];
  let arguments = (ins Tfm_AnyTensor:$input);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Tfm_ReduceOp<string mnemonic, string what>
    : Tfm_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = what # " over the given axes";
  let description = [{
    Reduces `input` over `axes` (distinct, in `[0, rank)`); with `keep_dims`
    the reduced dimensions stay as size 1.

    ```mlir
    %m = tfm.}] # mnemonic # [{ %x [2] keep_dims : tensor<2x37x96xf32> -> tensor<2x37x1xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, DenseI64ArrayAttr:$axes,
                       UnitAttr:$keep_dims);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $input $axes (`keep_dims` $keep_dims^)? attr-dict `:` type($input) `->` type($result)
  }];
}

def Tfm_ReduceMaxOp : Tfm_ReduceOp<"reduce_max", "maximum">;
def Tfm_ReduceSumOp : Tfm_ReduceOp<"reduce_sum", "sum">;
def Tfm_ReduceMeanOp : Tfm_ReduceOp<"reduce_mean", "arithmetic mean">;

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def Tfm_ReshapeOp : Tfm_Op<"reshape", [Pure]> {
  let summary = "reinterprets a tensor with another shape of the same size";
  let description = [{
    Row-major reshape; element counts must match. Splitting heads is a
    reshape `[b, s, h*d] -> [b, s, h, d]` followed by a transpose.

    Dynamic dimensions: either one on each side (its size follows from the
    element count), or the same number on both sides, kept in order, with
    only the static dimensions between them regrouped (grouped-query
    attention's `[b, kv, g, ?, ?] -> [b, kv*g, ?, ?]`).

    ```mlir
    %r = tfm.reshape %x : tensor<2x37x96xf32> -> tensor<2x37x3x32xf32>
    ```
  }];
  let arguments = (ins Tfm_AnyTensor:$input);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Tfm_TransposeOp : Tfm_Op<"transpose", [Pure, InferTypeOpAdaptor]> {
  let summary = "permutes dimensions";
  let description = [{
    `result.shape[i] = input.shape[permutation[i]]`.

    ```mlir
    %t = tfm.transpose %x [0, 2, 1, 3] : tensor<2x37x3x32xf32> -> tensor<2x3x37x32xf32>
    ```
  }];
  let arguments = (ins Tfm_AnyTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = [{
    $input $permutation attr-dict `:` type($input) `->` type($result)
  }];
  let hasFolder = 1;
}

def Tfm_ConcatOp : Tfm_Op<"concat", [Pure, InferTypeOpAdaptor]> {
  let summary = "concatenates tensors along an axis";
  let description = [{
    ```mlir
    %c = tfm.concat %a, %b axis 2
        : (tensor<2x37x32xf32>, tensor<2x37x64xf32>) -> tensor<2x37x96xf32>
    ```
  }];
  let arguments = (ins Variadic<Tfm_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = [{
    $inputs `axis` $axis attr-dict `:` functional-type($inputs, $result)
  }];
  let hasFolder = 1;
}

def Tfm_SliceOp : Tfm_Op<"slice", [Pure, InferTypeOpAdaptor]> {
  let summary = "takes elements [start, end) along one axis";
  let description = [{
    Used to split a merged QKV projection back into its parts. With an
    `offset` operand the window starts at run time: elements
    `[offset + start, offset + end)`, e.g. the last position of a sequence
    of dynamic length (the caller guarantees the window is in bounds).

    ```mlir
    %q = tfm.slice %qkv axis 2 [0 : 96] : tensor<2x37x288xf32> -> tensor<2x37x96xf32>
    %last = tfm.slice %h axis 1 [0 : 1] offset %n1 : tensor<1x?x96xf32> -> tensor<1x1x96xf32>
    ```
  }];
  let arguments = (ins Tfm_AnyTensor:$input, I64Attr:$axis, I64Attr:$start,
                       I64Attr:$end, Optional<Index>:$offset);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = [{
    $input `axis` $axis ` ` `[` $start `:` $end `]` (`offset` $offset^)? attr-dict
    `:` type($input) `->` type($result)
  }];
  let builders = [
    OpBuilder<(ins "Value":$input, "int64_t":$axis, "int64_t":$start,
                   "int64_t":$end), [{
      build($_builder, $_state, input, axis, start, end, Value());
    }]>
  ];
  let hasFolder = 1;
}

def Tfm_RangeOp : Tfm_Op<"range", [Pure, AttrSizedOperandSegments]> {
  let summary = "consecutive integers: offset, offset + 1, ...";
  let description = [{
    A 1-D tensor of `offset + i` (offset 0 when absent), the position ids of
    a sequence that starts after `offset` cached tokens. A dynamic length is
    given by one size operand.

    ```mlir
    %pos = tfm.range offset %past sizes(%len) : tensor<?xi64>
    %p = tfm.embedding %wpe, %pos : (tensor<1024x768xf32>, tensor<?xi64>) -> tensor<?x768xf32>
    ```
  }];
  let arguments = (ins Optional<Index>:$offset, Variadic<Index>:$dynamic_sizes);
  let results = (outs Tfm_IdTensor:$result);
  let assemblyFormat = [{
    (`offset` $offset^)? (`sizes` `(` $dynamic_sizes^ `)`)? attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

def Tfm_CacheWriteOp : Tfm_Op<"cache_write", [Pure,
    AllTypesMatch<["cache", "result"]>]> {
  let summary = "writes new keys or values into a KV cache";
  let description = [{
    The cache with the rows `[offset, offset + n)` along `axis` replaced by
    `update` (`n` is the update's size on that axis). A KV cache is
    `[batch, max_seq, heads * head_dim]`, the layout `tfm.attention` reads
    keys and values in, so attention over the cache needs no copy: with
    `causal` and the same `offset` it never reads rows past the new ones.

    When the cache is an entry argument whose updated value is returned
    through a result tied to it (`tfm.tied_to`), the backends write the rows
    in place; otherwise the result is a new tensor.

    ```mlir
    %k2 = tfm.cache_write %kcache, %k offset %past axis 1
        : (tensor<1x64x96xf32>, tensor<1x?x96xf32>) -> tensor<1x64x96xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$cache, Tfm_FloatTensor:$update,
                       Index:$offset, I64Attr:$axis);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $cache `,` $update `offset` $offset `axis` $axis attr-dict
    `:` `(` type($cache) `,` type($update) `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Tfm_GatherOp : Tfm_Op<"gather", [Pure, InferTypeOpAdaptor]> {
  let summary = "gathers slices along an axis by integer indices";
  let description = [{
    ONNX `Gather`: the result shape is
    `input.shape[:axis] + indices.shape + input.shape[axis+1:]`.

    ```mlir
    %g = tfm.gather %x, %idx axis 1
        : (tensor<2x37x96xf32>, tensor<4xi64>) -> tensor<2x4x96xf32>
    ```
  }];
  let arguments = (ins Tfm_AnyTensor:$input, Tfm_IdTensor:$indices, I64Attr:$axis);
  let results = (outs Tfm_AnyTensor:$result);
  let assemblyFormat = [{
    $input `,` $indices `axis` $axis attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Normalisation and softmax (primitive level, decomposable)
//===----------------------------------------------------------------------===//

def Tfm_SoftmaxOp : Tfm_Op<"softmax", [Pure, SameOperandsAndResultType,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]> {
  let summary = "numerically stable softmax along an axis";
  let description = [{
    `exp(x - max(x)) / sum(exp(x - max(x)))` along `axis`.

    ```mlir
    %p = tfm.softmax %s axis 3 : tensor<2x3x37x37xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = "$input `axis` $axis attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Tfm_LayerNormOp : Tfm_Op<"layer_norm", [Pure, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]> {
  let summary = "layer normalisation over the trailing dimensions";
  let description = [{
    Normalises over dimensions `[axis, rank)` (ONNX `LayerNormalization`
    semantics): `(x - mean) / sqrt(var + epsilon) * scale + bias`, with the
    biased variance. `scale` and `bias` are optional and have the normalised
    shape `input.shape[axis:]`.

    ```mlir
    %y = tfm.layer_norm %x scale %g bias %b axis 2 eps 1.000000e-05
        : (tensor<2x37x96xf32>, tensor<96xf32>, tensor<96xf32>) -> tensor<2x37x96xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input,
                       Optional<Tfm_FloatTensor>:$scale,
                       Optional<Tfm_FloatTensor>:$bias,
                       I64Attr:$axis, F64Attr:$epsilon);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`bias` $bias^)? `axis` $axis `eps` $epsilon attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Tfm_RMSNormOp : Tfm_Op<"rms_norm", [Pure,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]> {
  let summary = "root-mean-square normalisation over the trailing dimensions";
  let description = [{
    `x / sqrt(mean(x^2) + epsilon) * scale` over dimensions `[axis, rank)`.

    ```mlir
    %y = tfm.rms_norm %x scale %g axis 2 eps 1.000000e-06
        : (tensor<2x37x96xf32>, tensor<96xf32>) -> tensor<2x37x96xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, Optional<Tfm_FloatTensor>:$scale,
                       I64Attr:$axis, F64Attr:$epsilon);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? `axis` $axis `eps` $epsilon attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused ops
//===----------------------------------------------------------------------===//

def Tfm_AttentionOp : Tfm_Op<"attention", [Pure, AttrSizedOperandSegments,
    InferTypeOpAdaptor, DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]> {
  let summary = "fused multi-head scaled dot-product attention";
  let description = [{
    `softmax(Q K^T * scale + mask) V` for every head, as one op.

    Two layouts are accepted (all three operands use the same one):
    * heads folded into features: `q: [B, Sq, H*D]`, `k: [B, Sk, H*D]`,
      `v: [B, Sk, H*Dv]`, result `[B, Sq, H*Dv]` (the split/merge-heads
      reshapes and transposes are absorbed);
    * heads explicit: `q: [B, H, Sq, D]`, `k: [B, H, Sk, D]`,
      `v: [B, H, Sk, Dv]`, result `[B, H, Sq, Dv]`; `heads` must equal H.

    The scores have shape `[B, H, Sq, Sk]`; the optional additive `mask` must
    broadcast to it. `causal` masks key `j` for query `i` when
    `j > i + offset`, where `offset` (0 when absent) is the absolute position
    of the first query: with a KV cache, `k`/`v` hold every cached position and
    `offset` is the number of tokens before the queries. Cross-attention is
    simply `Sk != Sq`. With `kv_heads` (fewer than `heads`, dividing it:
    grouped-query attention) `k` and `v` have `kv_heads` heads and query
    head `h` attends with key/value head `h / (heads / kv_heads)`, without
    repeating K and V. With `causal` and a sliding `window` W, query `i`
    also ignores keys `j <= i + offset - W` (it sees the last W positions,
    itself included); kernels do not visit those keys.

    ```mlir
    %o = tfm.attention %q, %k, %v heads 3 scale 0.17677669529663687 causal
        : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>)
        -> tensor<2x37x96xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$query, Tfm_FloatTensor:$key,
                       Tfm_FloatTensor:$value, Optional<Tfm_FloatTensor>:$mask,
                       Optional<Index>:$offset, I64Attr:$num_heads,
                       F64Attr:$scale, UnitAttr:$causal,
                       OptionalAttr<I64Attr>:$num_kv_heads,
                       OptionalAttr<I64Attr>:$window);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` $mask^)? (`offset` $offset^)?
    `heads` $num_heads (`kv_heads` $num_kv_heads^)? `scale` $scale
    (`causal` $causal^)? (`window` $window^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// True for the `[B, H, S, D]` layout.
    bool hasExplicitHeads() { return getQuery().getType().getRank() == 4; }
    /// Size of one query/key head.
    int64_t getHeadDim();
    /// Key/value heads (fewer than query heads: grouped-query attention,
    /// query head h reads key/value head h / (heads / kv_heads)).
    int64_t getKVHeads() {
      std::optional<int64_t> kv = getNumKvHeads();
      return kv ? *kv : getNumHeads();
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Tfm_MoEGateOp : Tfm_Op<"moe_gate", [Pure, SameOperandsAndResultType]> {
  let summary = "top-k routing weights of a mixture of experts";
  let description = [{
    Turns router logits `[..., E]` into dense routing weights of the same
    shape. Each row's logits go through a softmax over all E experts; the
    `top_k` largest probabilities are selected (on equal values the lower
    expert index wins) and every other expert gets weight 0. With
    `topk_softmax` (Mixtral) the selected probabilities are renormalised to
    sum to 1 -- the softmax over the selected logits, computed the way
    Hugging Face's Mixtral computes it; with `softmax_topk` they are kept
    as they are (Qwen2-MoE without `norm_topk_prob`, Switch).
    Top-k selection has no primitive form in `tfm`, so this op is
    primitive: `tfm.moe` consumes its result.

    ```mlir
    %w = tfm.moe_gate %logits top_k 2 routing topk_softmax : tensor<1x37x8xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, I64Attr:$top_k,
                       Tfm_RoutingAttr:$routing);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $input `top_k` $top_k `routing` $routing attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def Tfm_MoEOp : Tfm_Op<"moe", [Pure,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>]> {
  let summary = "mixture of gated feed-forward experts, selected per token";
  let description = [{
    For every row `t` of `input` (`[..., D]`) and routing weights `gate`
    (`[..., E]`, from `tfm.moe_gate`, at most `top_k` non-zero per row):

        result[t] = sum over e with gate[t, e] != 0 of
                    gate[t, e] * down_e(act(gate_e x[t]) * up_e x[t])

    summed in increasing expert order (as Hugging Face's Mixtral
    accumulates). `gate_up` is `[E, 2F, D]`: expert `e`'s gate projection
    in features `[0, F)` and its up projection in `[F, 2F)` (PyTorch
    `nn.Linear` layout, no biases); `down` is `[E, D, F]`. Backends compute
    only the selected experts: the rows routed to one expert form one GEMM
    pair, and an expert no row selected is not read. The decomposition is
    the dense form (every expert on every row, weighted by `gate`).

    ```mlir
    %y = tfm.moe %x, %w, %gate_up, %down top_k 2 act silu
        : (tensor<1x37x96xf32>, tensor<1x37x8xf32>, tensor<8x320x96xf32>,
           tensor<8x96x160xf32>) -> tensor<1x37x96xf32>
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, Tfm_FloatTensor:$gate,
                       Tfm_FloatTensor:$gate_up, Tfm_FloatTensor:$down,
                       I64Attr:$top_k, Tfm_ActivationKindAttr:$activation);
  let results = (outs Tfm_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gate `,` $gate_up `,` $down `top_k` $top_k `act` $activation
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    int64_t getNumExperts() { return getDown().getType().getDimSize(0); }
    /// F: the hidden features of one expert.
    int64_t getExpertFeatures() { return getDown().getType().getDimSize(2); }
  }];
  let hasVerifier = 1;
}

class Tfm_AddNormOp<string mnemonic, string norm, list<Trait> traits = []>
    : Tfm_Op<mnemonic, !listconcat(traits, [Pure,
        DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>])> {
  let summary = "residual add fused with " # norm;
  let results = (outs Tfm_FloatTensor:$output, Tfm_FloatTensor:$sum);
  let hasVerifier = 1;
}

def Tfm_AddLayerNormOp : Tfm_AddNormOp<"add_layer_norm", "layer_norm",
    [AttrSizedOperandSegments]> {
  let description = [{
    `sum = input + residual; output = layer_norm(sum)` in one pass over each
    row. Both results are available: `sum` is the residual stream that a
    pre-LN block carries on.

    ```mlir
    %y, %s = tfm.add_layer_norm %x, %res scale %g bias %b axis 2 eps 1.000000e-05
        : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<96xf32>, tensor<96xf32>)
        -> (tensor<2x37x96xf32>, tensor<2x37x96xf32>)
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, Tfm_FloatTensor:$residual,
                       Optional<Tfm_FloatTensor>:$scale,
                       Optional<Tfm_FloatTensor>:$bias,
                       I64Attr:$axis, F64Attr:$epsilon);
  let assemblyFormat = [{
    $input `,` $residual (`scale` $scale^)? (`bias` $bias^)? `axis` $axis
    `eps` $epsilon attr-dict `:` functional-type(operands, results)
  }];
}

def Tfm_AddRMSNormOp : Tfm_AddNormOp<"add_rms_norm", "rms_norm"> {
  let description = [{
    `sum = input + residual; output = rms_norm(sum)`, both results available.

    ```mlir
    %y, %s = tfm.add_rms_norm %x, %res scale %g axis 2 eps 1.000000e-06
        : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<96xf32>)
        -> (tensor<2x37x96xf32>, tensor<2x37x96xf32>)
    ```
  }];
  let arguments = (ins Tfm_FloatTensor:$input, Tfm_FloatTensor:$residual,
                       Optional<Tfm_FloatTensor>:$scale,
                       I64Attr:$axis, F64Attr:$epsilon);
  let assemblyFormat = [{
    $input `,` $residual (`scale` $scale^)? `axis` $axis `eps` $epsilon attr-dict
    `:` functional-type(operands, results)
  }];
}

#endif // TFM_IR_TFMOPS_TD
