//===- TfmAttrs.td - the typed contract between stages ---------*- tablegen -*-===//
//
// Part of tfmc. Every attribute that crosses a stage boundary is declared
// here, once, with a verifier: the model metadata the frontends record, the
// entry-point ABI and the weight plan the planning passes compute, and the
// buffer placement of every value. Targets and the artifact writer read
// these through their generated accessors; no stage re-parses another's
// strings (docs/architecture.md).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_IR_TFMATTRS_TD
#define TFM_IR_TFMATTRS_TD

include "tfm/IR/TfmBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class Tfm_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Tfm_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

/// A list, printed in square brackets (possibly empty).
class Tfm_ListParameter<string elt>
    : OptionalArrayRefParameter<elt> {
  let parser = [{ ::mlir::tfm::parseList<}] # elt # [{>($_parser) }];
  let printer = [{ ::mlir::tfm::printList<}] # elt # [{>($_printer, $_self) }];
}

/// A `true`/`false` parameter.
class Tfm_BoolParameter<string value> : AttrOrTypeParameter<"bool", ""> {
  let defaultValue = value;
  let parser = [{ ::mlir::tfm::parseBoolParameter($_parser) }];
  let printer = [{ $_printer << ($_self ? "true" : "false") }];
}


//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Tfm_FamilyEncoder : I32EnumAttrCase<"encoder", 0>;
def Tfm_FamilyDecoder : I32EnumAttrCase<"decoder", 1>;
def Tfm_FamilyEncoderDecoder : I32EnumAttrCase<"encoder_decoder", 2>;
def Tfm_ModelFamily : I32EnumAttr<"ModelFamily",
    "the architecture family: which entry points a model has",
    [Tfm_FamilyEncoder, Tfm_FamilyDecoder, Tfm_FamilyEncoderDecoder]> {
  let cppNamespace = "::mlir::tfm";
  let genSpecializedAttr = 0;
}

def Tfm_TokChar : I32EnumAttrCase<"characters", 0, "char">;
def Tfm_TokByteBPE : I32EnumAttrCase<"byte_bpe", 1>;
def Tfm_TokWordPiece : I32EnumAttrCase<"wordpiece", 2>;
def Tfm_TokHFJson : I32EnumAttrCase<"tokenizer_json", 3>;
def Tfm_TokenizerKind : I32EnumAttr<"TokenizerKind",
    "a tokenizer the runtime implements",
    [Tfm_TokChar, Tfm_TokByteBPE, Tfm_TokWordPiece, Tfm_TokHFJson]> {
  let cppNamespace = "::mlir::tfm";
  let genSpecializedAttr = 0;
}

def Tfm_RoleInput : I32EnumAttrCase<"input", 0>;
def Tfm_RoleState : I32EnumAttrCase<"state", 1>;
def Tfm_RoleOutput : I32EnumAttrCase<"output", 2>;
def Tfm_IoRole : I32EnumAttr<"IoRole",
    "how an entry tensor is passed: set by the caller, owned by the session "
    "and updated in place (a KV cache), or produced",
    [Tfm_RoleInput, Tfm_RoleState, Tfm_RoleOutput]> {
  let cppNamespace = "::mlir::tfm";
  let genSpecializedAttr = 0;
}

def Tfm_LayoutRowMajor : I32EnumAttrCase<"row_major", 0>;
def Tfm_LayoutGemmPanels : I32EnumAttrCase<"gemm_panels", 1>;
def Tfm_LayoutSinusoidal : I32EnumAttrCase<"sinusoidal", 2>;
def Tfm_LayoutRotary : I32EnumAttrCase<"rotary", 3>;
def Tfm_LayoutGatedPanels : I32EnumAttrCase<"gated_panels", 4>;
def Tfm_WeightLayout : I32EnumAttr<"WeightLayout",
    "how a tensor is stored in the weights buffer",
    [Tfm_LayoutRowMajor, Tfm_LayoutGemmPanels, Tfm_LayoutSinusoidal,
     Tfm_LayoutRotary, Tfm_LayoutGatedPanels]> {
  let cppNamespace = "::mlir::tfm";
  let genSpecializedAttr = 0;
}

def Tfm_BufArena : I32EnumAttrCase<"arena", 0>;
def Tfm_BufInput : I32EnumAttrCase<"input", 1>;
def Tfm_BufOutput : I32EnumAttrCase<"output", 2>;
def Tfm_BufState : I32EnumAttrCase<"state", 3>;
def Tfm_BufView : I32EnumAttrCase<"view", 4>;
def Tfm_BufferKind : I32EnumAttr<"BufferKind",
    "where a value lives at run time",
    [Tfm_BufArena, Tfm_BufInput, Tfm_BufOutput, Tfm_BufState, Tfm_BufView]> {
  let cppNamespace = "::mlir::tfm";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Model metadata (module attribute `tfm.model`, set by the frontends)
//===----------------------------------------------------------------------===//

def Tfm_TokenizerAttr : Tfm_Attr<"Tokenizer", "tokenizer"> {
  let summary = "the tokenizer compiled into the artifact";
  let description = [{
    The kind of tokenizer and the directory holding its files (checked by
    the frontend, copied into the artifact by the writer).

    ```mlir
    #tfm.tokenizer<kind = byte_bpe, directory = "models/gpt2">
    ```
  }];
  let parameters = (ins EnumParameter<Tfm_TokenizerKind>:$kind,
                        "StringAttr":$directory,
                        Tfm_BoolParameter<"false">:$lowercase);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Tfm_ModelAttr : Tfm_Attr<"Model", "model"> {
  let summary = "what the runtime needs to know about a model";
  let description = [{
    Set on the module by the frontends and written into the artifact's
    manifest: the family (which entry points exist), the vocabulary size,
    the longest sequence (the KV cache's capacity), special token ids (-1:
    none) and the tokenizer.

    ```mlir
    module attributes {tfm.model = #tfm.model<family = decoder,
        vocab_size = 1000, max_seq_len = 64, eos_id = 3>} { ... }
    ```
  }];
  let parameters = (ins EnumParameter<Tfm_ModelFamily>:$family,
                        "int64_t":$vocab_size, "int64_t":$max_seq_len,
                        DefaultValuedParameter<"int64_t", "-1">:$bos_id,
                        DefaultValuedParameter<"int64_t", "-1">:$eos_id,
                        DefaultValuedParameter<"int64_t", "-1">:$pad_id,
                        OptionalParameter<"TokenizerAttr">:$tokenizer);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Entry-point ABI (function attribute `tfm.entry`, set by tfm-plan-entries)
//===----------------------------------------------------------------------===//

def Tfm_IoAttr : Tfm_Attr<"Io", "io"> {
  let summary = "one tensor an entry point takes or returns";
  let description = [{
    `name` is what users and the runtime call it; `type` its tensor type
    (element type included) or `index` for a scalar position; `dims` names
    every dynamic dimension (`""` for static ones; equal names have equal
    sizes); `id_bound` (> 0) bounds token ids; `arg` is the function
    argument (inputs, state) or result (outputs) it is. `offset` is the byte
    offset of its storage where the target keeps entry tensors in one buffer
    (state: the session's state buffer; inputs and outputs: the arena),
    -1 otherwise.

    ```mlir
    #tfm.io<name = "input_ids", type = tensor<1x?xi64>, role = input,
            dims = ["", "seq"], id_bound = 1000, arg = 0>
    ```
  }];
  let parameters = (ins "StringAttr":$name, "Type":$type,
                        EnumParameter<Tfm_IoRole>:$role,
                        Tfm_ListParameter<"StringAttr">:$dims,
                        DefaultValuedParameter<"int64_t", "0">:$id_bound,
                        "int64_t":$arg,
                        DefaultValuedParameter<"int64_t", "-1">:$offset,
                        DefaultValuedParameter<"int64_t", "0">:$bytes);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The name of dimension `d` ("" when static or unnamed).
    ::llvm::StringRef getDimName(unsigned d) const;
  }];
}

def Tfm_EntryAttr : Tfm_Attr<"Entry", "entry"> {
  let summary = "the planned ABI of an entry point";
  let description = [{
    Computed once by `tfm-plan-entries` from the frontend's argument and
    result attributes, completed by `tfm-plan-buffers` (offsets, the arena
    size), and read by every target and by the manifest writer: inputs in
    argument order (state included), outputs in result order (results tied
    to state excluded), the bounds of the named dimensions, and the bytes of
    scratch memory (`arena`) one run needs.

    ```mlir
    func.func @prefill(...) attributes {tfm.entry = #tfm.entry<
        inputs = [#tfm.io<name = "input_ids", ...>, ...],
        outputs = [#tfm.io<name = "logits", ...>],
        bounds = {seq = 64 : i64}, arena = 184320>}
    ```
  }];
  let parameters = (ins Tfm_ListParameter<"IoAttr">:$inputs,
                        Tfm_ListParameter<"IoAttr">:$outputs,
                        "DictionaryAttr":$bounds,
                        DefaultValuedParameter<"int64_t", "0">:$arena);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bound of the named dimension (0 when unknown).
    int64_t getBound(::llvm::StringRef name) const;
    /// The input or output named `name`, or null.
    IoAttr lookup(::llvm::StringRef name) const;
    /// Bytes of the session state this entry uses (state offsets + sizes).
    int64_t getStateBytes() const;
    /// The signature of code compiled for this ABI and weight plan
    /// (tfmc/abi.h): the runtime checks the manifest against it.
    uint64_t getSignature(WeightPlanAttr plan) const;
  }];
}

//===----------------------------------------------------------------------===//
// Weight plan (module attribute `tfm.weights`, set by tfm-plan-weights)
//===----------------------------------------------------------------------===//

def Tfm_QuantAttr : Tfm_Attr<"Quant", "quant"> {
  let summary = "how a weight is stored quantized";
  let description = [{
    Symmetric integer codes of `bits` bits (8 or 4) with one f32 scale per
    output feature and group of `group` consecutive elements along the
    reduction (K) axis: `s = max |w| / (2^(bits-1) - 1)` over the group,
    `q = clamp(round_half_even(w / s), -(2^(bits-1) - 1), 2^(bits-1) - 1)`,
    and the value every reader sees is `q * s` (computed in f32). The last
    group of a row may be shorter.

    ```mlir
    #tfm.quant<bits = 4, group = 32>
    ```
  }];
  let parameters = (ins "int64_t":$bits, "int64_t":$group);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The largest code magnitude (127 or 7).
    int64_t getMaxCode() const { return (int64_t(1) << (getBits() - 1)) - 1; }
  }];
}

def Tfm_WeightEntryAttr : Tfm_Attr<"WeightEntry", "weight_entry"> {
  let summary = "one tensor of the weights buffer";
  let description = [{
    A stored parameter (or a concatenation of `parts` along `concat_axis`,
    or a generated table) with its logical type — the shape and the element
    type it is stored in — its layout and where it is: `offset` and `bytes`
    in the weights buffer. `gemm_panels` stores the right operand of a GEMM
    as `[ceil(N / panel_width), K, panel_width]` (zero padded; `kn`: the
    logical weight is `[K, N]`); `gated_panels` stores the `2H`-feature
    weight of a gated `tfm.linear` so that each panel pairs feature `j` of
    the first half with feature `H + j` of the second: panel `p`, column
    `c < w/2` is feature `p w/2 + c`, column `w/2 + c` is feature
    `H + p w/2 + c` (`[ceil(H / (w/2)), K, w]`, zero padded per half);
    `sinusoidal` is the table of
    "Attention Is All You Need" with wavelength `base`; `rotary` the
    `[positions, R]` table of `tfm.rotary`: row `p` holds `cos(p θ_i)` in
    columns `i < R/2` and `sin(p θ_i)` after them (positions divided by
    `scaling` first, when given).

    A `quant` entry (panels only) stores integer codes in place of the
    panels' elements — `[P, K, w]` bytes for 8 bits; for 4 bits
    `[P, K, w/2]` bytes whose byte `j` holds column `j` in its low and
    column `j + w/2` in its high nibble (two's complement) — followed, at
    the next 64-byte boundary, by the f32 scales `[P, ceil(K / group), w]`
    (zero in padding columns). `type` stays the logical (f32) type.

    ```mlir
    #tfm.weight_entry<name = "h.0.mlp.c_fc.weight", type = tensor<96x384xbf16>,
        layout = gemm_panels, panel_width = 16, kn = true, offset = 0, bytes = 73728>
    ```
  }];
  let parameters = (ins "StringAttr":$name, "RankedTensorType":$type,
                        EnumParameter<Tfm_WeightLayout>:$layout,
                        DefaultValuedParameter<"int64_t", "0">:$panel_width,
                        Tfm_BoolParameter<"false">:$kn,
                        Tfm_ListParameter<"StringAttr">:$parts,
                        DefaultValuedParameter<"int64_t", "0">:$concat_axis,
                        OptionalParameter<"FloatAttr">:$base,
                        OptionalParameter<"FloatAttr">:$scaling,
                        OptionalParameter<"QuantAttr">:$quant,
                        "int64_t":$offset, "int64_t":$bytes);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The shape the entry occupies: the logical shape, or the panels
    /// [ceil(N / w), K, w].
    ::llvm::SmallVector<int64_t> getStoredShape() const;
    /// Bytes the stored shape needs in the element type (quantized: the
    /// codes, then the scales at the next 64-byte boundary).
    static int64_t storedBytes(::mlir::RankedTensorType type,
                               WeightLayout layout, int64_t panelWidth,
                               bool kn, QuantAttr quant = {});
    /// Quantized panels: the byte offset of the scales within the entry,
    /// and their shape [P, ceil(K / group), w].
    int64_t getScalesOffset() const;
    ::llvm::SmallVector<int64_t> getScalesShape() const;
    /// Quantized panels: the shape of the codes in bytes.
    ::llvm::SmallVector<int64_t> getCodesShape() const;
  }];
}

def Tfm_WeightPlanAttr : Tfm_Attr<"WeightPlan", "weight_plan"> {
  let summary = "the layout of the weights buffer";
  let description = [{
    Every tensor of `weights.bin`, shared by all entry points: the targets
    view their weights through it and the artifact writer fills the file
    from it. Entries are 64-byte aligned and do not overlap.

    ```mlir
    module attributes {tfm.weights = #tfm.weight_plan<bytes = 73728,
        entries = [#tfm.weight_entry<...>]>} { ... }
    ```
  }];
  let parameters = (ins "int64_t":$bytes,
                        Tfm_ListParameter<"WeightEntryAttr">:$entries);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The entry for `name` in `layout` (and element type `elt` when
    /// given), null when absent.
    WeightEntryAttr lookup(::llvm::StringRef name, WeightLayout layout,
                           ::mlir::Type elt = {}) const;
    /// The longest generated table (`sinusoidal`, `rotary`) of `cols`
    /// columns and wavelength `base`: it serves every shorter length.
    WeightEntryAttr lookupTable(WeightLayout layout, int64_t cols,
                                double base, double scaling = 1.0) const;
  }];
}

//===----------------------------------------------------------------------===//
// Buffer placement (op attributes `tfm.buffers` and `tfm.scratch`)
//===----------------------------------------------------------------------===//

def Tfm_BufferAttr : Tfm_Attr<"Buffer", "buffer"> {
  let summary = "where an op result (or an op's scratch memory) lives";
  let description = [{
    Set by `tfm-plan-buffers` on every op of an entry, one per result
    (`tfm.buffers`): `arena` at byte `offset` of the run's scratch memory,
    `bytes` long (the upper bound of its size); `output`/`state`/`input`
    the entry tensor `index`; `view` a view of an operand (no memory of its
    own). `tfm.scratch` is the arena range a kernel may use while it runs.

    ```mlir
    %y = tfm.gelu %x {tfm.buffers = [#tfm.buffer<kind = arena, offset = 0, bytes = 4096>]}
    ```
  }];
  let parameters = (ins EnumParameter<Tfm_BufferKind>:$kind,
                        DefaultValuedParameter<"int64_t", "0">:$offset,
                        DefaultValuedParameter<"int64_t", "0">:$bytes,
                        DefaultValuedParameter<"int64_t", "-1">:$index);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // TFM_IR_TFMATTRS_TD
