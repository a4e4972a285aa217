//===- Glsl.cpp - scalar program, kernel writer, scalar printer -----------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Glsl.h"

#include "tfmc/abi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::vk;

std::string Sym::glsl() const {
  if (isConst())
    return std::to_string(value);
  return "S[" + std::to_string(slot) + "]";
}

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

Sym Scalars::emit(ScalarOp op, int64_t l, int64_t h) {
  auto key = std::make_tuple(op.op, op.a, op.b);
  auto it = cse.find(key);
  if (it != cse.end())
    return Sym{0, it->second};
  int slot = ops.size();
  ops.push_back(std::move(op));
  lo.push_back(l);
  hi.push_back(h);
  cse[key] = slot;
  return Sym{0, slot};
}

const char *mlir::tfm::vk::scalarCodeName(ScalarCode code) {
  static const char *const names[] = TFMC_VK_SCALAR_OPS;
  return names[static_cast<int>(code)];
}

Sym Scalars::inputDim(int64_t input, int64_t axis, int64_t max) {
  return emit({ScalarCode::Dim, input, axis}, 0, max);
}

Sym Scalars::inputIndex(int64_t input, int64_t max) {
  return emit({ScalarCode::Index, input, 0}, 0, max);
}

int Scalars::slotOf(Sym s) {
  if (!s.isConst())
    return s.slot;
  return emit({ScalarCode::Const, s.value, 0}, s.value, s.value).slot;
}

Sym Scalars::binary(ScalarCode op, Sym a, Sym b, int64_t l, int64_t h) {
  return emit({op, slotOf(a), slotOf(b)}, l, h);
}

Sym Scalars::add(Sym a, Sym b) {
  if (a.isConst() && b.isConst())
    return Sym::c(a.value + b.value);
  if (a.isConst(0))
    return b;
  if (b.isConst(0))
    return a;
  return binary(ScalarCode::Add, a, b, lower(a) + lower(b),
                upper(a) + upper(b));
}

Sym Scalars::sub(Sym a, Sym b) {
  if (a.isConst() && b.isConst())
    return Sym::c(a.value - b.value);
  if (b.isConst(0))
    return a;
  return binary(ScalarCode::Sub, a, b, lower(a) - upper(b),
                upper(a) - lower(b));
}

Sym Scalars::mul(Sym a, Sym b) {
  if (a.isConst() && b.isConst())
    return Sym::c(a.value * b.value);
  if (a.isConst(1))
    return b;
  if (b.isConst(1))
    return a;
  if (a.isConst(0) || b.isConst(0))
    return Sym::c(0);
  return binary(ScalarCode::Mul, a, b, lower(a) * lower(b),
                upper(a) * upper(b));
}

Sym Scalars::div(Sym a, Sym b) {
  if (a.isConst() && b.isConst())
    return Sym::c(b.value ? a.value / b.value : 0);
  if (b.isConst(1))
    return a;
  int64_t bl = std::max<int64_t>(lower(b), 1);
  return binary(ScalarCode::Div, a, b,
                lower(a) / std::max<int64_t>(upper(b), 1), upper(a) / bl);
}

Sym Scalars::ceilDiv(Sym a, Sym b) {
  auto cd = [](int64_t x, int64_t y) { return y ? (x + y - 1) / y : 0; };
  if (a.isConst() && b.isConst())
    return Sym::c(cd(a.value, b.value));
  if (b.isConst(1))
    return a;
  return binary(ScalarCode::CeilDiv, a, b,
                cd(lower(a), std::max<int64_t>(upper(b), 1)),
                cd(upper(a), std::max<int64_t>(lower(b), 1)));
}

Sym Scalars::min(Sym a, Sym b) {
  if (a.isConst() && b.isConst())
    return Sym::c(std::min(a.value, b.value));
  if (a == b)
    return a;
  return binary(ScalarCode::Min, a, b, std::min(lower(a), lower(b)),
                std::min(upper(a), upper(b)));
}

Sym Scalars::max(Sym a, Sym b) {
  if (a.isConst() && b.isConst())
    return Sym::c(std::max(a.value, b.value));
  if (a == b)
    return a;
  return binary(ScalarCode::Max, a, b, std::max(lower(a), lower(b)),
                std::max(upper(a), upper(b)));
}

//===----------------------------------------------------------------------===//
// KernelWriter
//===----------------------------------------------------------------------===//

Elem mlir::tfm::vk::elemOf(Type t) {
  if (t.isF16())
    return Elem::F16;
  if (t.isBF16())
    return Elem::BF16;
  if (t.isInteger(1))
    return Elem::Bool;
  if (t.isInteger(8))
    return Elem::I8;
  if (isa<IntegerType>(t) || t.isIndex())
    return Elem::I32;
  return Elem::F32;
}

int64_t mlir::tfm::vk::elemBytes(Elem e) {
  switch (e) {
  case Elem::F32:
  case Elem::I32:
    return 4;
  case Elem::F16:
  case Elem::BF16:
    return 2;
  case Elem::I8:
  case Elem::Bool:
    return 1;
  }
  return 4;
}

std::string KernelWriter::array(const View &v) {
  Buf b = v.storage >= 0 ? entry.storages[v.storage].buf : Buf::Weights;
  bool half = v.elt == Elem::F16 || v.elt == Elem::BF16;
  bool byte = v.elt == Elem::I8 || v.elt == Elem::Bool;
  std::string name;
  if (b == Buf::Weights)
    name = half ? "WU" : "W";
  else if (b == Buf::State)
    name = "ST";
  else
    name = half ? "AH" : byte ? "AB" : isIntElem(v.elt) ? "AI" : "A";
  arrays.insert(name);
  return name;
}

std::string KernelWriter::loadAt(const View &v, const std::string &absolute) {
  std::string i = absolute;
  std::string a = array(v);
  switch (v.elt) {
  case Elem::F32:
  case Elem::I32:
    return a + "[" + i + "]";
  case Elem::F16:
  case Elem::BF16:
    if (a == "WU") {
      std::string fn = v.elt == Elem::F16 ? "tfm_w_f16" : "tfm_w_bf16";
      needs.insert(fn);
      return fn + "(" + i + ")";
    }
    return v.elt == Elem::F16 ? "unpackHalf2x16(uint(AH[" + i + "])).x"
                              : "uintBitsToFloat(uint(AH[" + i + "]) << 16)";
  case Elem::I8:
  case Elem::Bool:
    return "int(AB[" + i + "])";
  }
  return a + "[" + i + "]";
}

std::string KernelWriter::store(const View &v, const std::string &index,
                                const std::string &value) {
  std::string at = array(v) + "[" + base(v) + " + " + index + "]";
  switch (v.elt) {
  case Elem::F32:
  case Elem::I32:
    return at + " = " + value + ";";
  case Elem::F16:
    return at + " = uint16_t(packHalf2x16(vec2(" + value + ", 0.0)));";
  case Elem::BF16:
    needs.insert("tfm_to_bf16");
    return at + " = uint16_t(tfm_to_bf16(" + value + "));";
  case Elem::I8:
    return at + " = int8_t(" + value + ");";
  case Elem::Bool:
    return at + " = int8_t((" + value + ") != 0 ? 1 : 0);";
  }
  return at + " = " + value + ";";
}

std::string KernelWriter::base(const View &v) {
  // Offsets are in elements of the array the view is read through.
  int64_t bytes = elemBytes(v.elt);
  std::tuple<int, int64_t, int64_t> key(v.storage, v.offset, bytes);
  auto it = pushIndex.find(key);
  int index;
  if (it != pushIndex.end()) {
    index = it->second;
  } else {
    index = push.size();
    push.push_back({v.storage, v.offset, bytes});
    pushIndex[key] = index;
  }
  std::string b = "pc.o[" + std::to_string(index) + "]";
  if (!v.dynOffset.isConst(0))
    b = "(" + b + " + " + v.dynOffset.glsl() + ")";
  return b;
}

std::string KernelWriter::linear(const View &v,
                                 llvm::ArrayRef<std::string> coords) {
  std::string s;
  size_t skip = coords.size() - v.rank();
  for (int64_t d = 0; d < v.rank(); ++d) {
    const Sym &st = v.strides[d];
    if (st.isConst(0) || v.dims[d].isConst(1))
      continue;
    std::string term = coords[skip + d];
    if (!st.isConst(1))
      term += " * " + st.glsl();
    s += (s.empty() ? "" : " + ") + term;
  }
  return s.empty() ? "0" : s;
}

std::string KernelWriter::finish() const {
  std::ostringstream os;
  os << "#version 450\n";
  if (arrays.count("AH"))
    os << "#extension GL_EXT_shader_16bit_storage : require\n"
          "#extension GL_EXT_shader_explicit_arithmetic_types_int16 : "
          "require\n";
  if (arrays.count("AB"))
    os << "#extension GL_EXT_shader_8bit_storage : require\n"
          "#extension GL_EXT_shader_explicit_arithmetic_types_int8 : "
          "require\n";
  os << "layout(local_size_x = " << localSize << ") in;\n";
  os << "layout(std430, set = 0, binding = 0) readonly buffer Scalars { int "
        "S[]; };\n";
  // One arena, seen through an array per element kind.
  static const std::pair<const char *, const char *> kArena[] = {
      {"A", "ArenaF { float A[]; }"},
      {"AI", "ArenaI { int AI[]; }"},
      {"AH", "ArenaH { uint16_t AH[]; }"},
      {"AB", "ArenaB { int8_t AB[]; }"}};
  for (auto [name, decl] : kArena)
    if (arrays.count(name))
      os << "layout(std430, set = 0, binding = 1) buffer " << decl << ";\n";
  if (arrays.count("W"))
    os << "layout(std430, set = 0, binding = 2) readonly buffer Weights { "
          "float W[]; };\n";
  // 16-bit weights are read as the halves of 32-bit words, which needs no
  // device feature.
  if (arrays.count("WU"))
    os << "layout(std430, set = 0, binding = 2) readonly buffer WeightsU { "
          "uint WU[]; };\n";
  if (arrays.count("ST"))
    os << "layout(std430, set = 0, binding = 3) buffer State { float ST[]; "
          "};\n";
  os << "layout(push_constant) uniform Push { int o["
     << std::max<size_t>(push.size(), 1) << "]; } pc;\n";
  if (needs.count("erf"))
    // erf to ~1.2e-7 (W. J. Cody's rational approximation, as in the
    // Numerical Recipes erfc with Chebyshev coefficients).
    os << "float tfm_erf(float x) {\n"
          "  float z = abs(x);\n"
          "  float t = 1.0 / (1.0 + 0.5 * z);\n"
          "  float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * "
          "(0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * "
          "(0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * "
          "(-0.82215223 + t * 0.17087277)))))))));\n"
          "  return x >= 0.0 ? 1.0 - r : r - 1.0;\n"
          "}\n";
  if (needs.count("tanh"))
    // Stable for large |x| (GLSL's tanh may overflow through exp).
    os << "float tfm_tanh(float x) {\n"
          "  float e = exp(-2.0 * abs(x));\n"
          "  float t = (1.0 - e) / (1.0 + e);\n"
          "  return x < 0.0 ? -t : t;\n"
          "}\n";
  if (needs.count("tfm_w_f16"))
    os << "float tfm_w_f16(int i) {\n"
          "  vec2 h = unpackHalf2x16(WU[i >> 1]);\n"
          "  return (i & 1) == 0 ? h.x : h.y;\n"
          "}\n";
  if (needs.count("tfm_w_bf16"))
    os << "float tfm_w_bf16(int i) {\n"
          "  uint w = WU[i >> 1];\n"
          "  return uintBitsToFloat((i & 1) == 0 ? w << 16 : w & "
          "0xffff0000u);\n"
          "}\n";
  if (needs.count("tfm_to_bf16"))
    // Round to nearest even, as the compiler and PyTorch round.
    os << "uint tfm_to_bf16(float x) {\n"
          "  uint b = floatBitsToUint(x);\n"
          "  if (isnan(x)) return (b >> 16) | 0x40u;\n"
          "  return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;\n"
          "}\n";
  os << helpers;
  os << "void main() {\n" << body.str() << "}\n";
  return os.str();
}

//===----------------------------------------------------------------------===//
// ScalarPrinter
//===----------------------------------------------------------------------===//

std::string mlir::tfm::vk::floatLiteral(double v) {
  float f = static_cast<float>(v);
  if (std::isinf(f))
    return f > 0 ? "uintBitsToFloat(0x7f800000u)"
                 : "uintBitsToFloat(0xff800000u)";
  if (std::isnan(f))
    return "uintBitsToFloat(0x7fc00000u)";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(f));
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  return s;
}

std::string ScalarPrinter::name(Value v) const {
  auto it = names.find(v);
  return it == names.end() ? std::string("<?>") : it->second;
}

LogicalResult ScalarPrinter::printOp(Operation &op, const std::string &indent) {
  if (op.getNumResults() != 1)
    return op.emitOpError("cannot be printed as GLSL by the Vulkan backend");
  auto a = [&](unsigned i) { return name(op.getOperand(i)); };
  auto bin = [&](const char *sym) {
    return "(" + a(0) + " " + sym + " " + a(1) + ")";
  };
  auto call = [&](const std::string &fn) {
    std::string s = fn + "(";
    for (unsigned i = 0; i < op.getNumOperands(); ++i)
      s += (i ? ", " : "") + a(i);
    return s + ")";
  };
  std::string expr =
      llvm::TypeSwitch<Operation *, std::string>(&op)
          .Case<arith::ConstantOp>([&](arith::ConstantOp c) -> std::string {
            if (auto f = dyn_cast<FloatAttr>(c.getValue()))
              return floatLiteral(f.getValueAsDouble());
            if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
              return std::to_string(i.getInt());
            return "";
          })
          .Case<arith::AddFOp>([&](auto) { return bin("+"); })
          .Case<arith::SubFOp>([&](auto) { return bin("-"); })
          .Case<arith::MulFOp>([&](auto) { return bin("*"); })
          .Case<arith::DivFOp>([&](auto) { return bin("/"); })
          .Case<arith::NegFOp>([&](auto) { return "(-" + a(0) + ")"; })
          // maximumf/minimumf propagate NaN; GLSL's max/min need not.
          .Case<arith::MaximumFOp>([&](auto) {
            return "(isnan(" + a(0) + ") || isnan(" + a(1) + ") ? " + a(0) +
                   " + " + a(1) + " : max(" + a(0) + ", " + a(1) + "))";
          })
          .Case<arith::MinimumFOp>([&](auto) {
            return "(isnan(" + a(0) + ") || isnan(" + a(1) + ") ? " + a(0) +
                   " + " + a(1) + " : min(" + a(0) + ", " + a(1) + "))";
          })
          .Case<arith::MaxNumFOp>([&](auto) { return call("max"); })
          .Case<arith::MinNumFOp>([&](auto) { return call("min"); })
          .Case<arith::SelectOp>([&](auto) {
            return "(" + a(0) + " ? " + a(1) + " : " + a(2) + ")";
          })
          .Case<arith::CmpFOp>([&](arith::CmpFOp c) -> std::string {
            using P = arith::CmpFPredicate;
            switch (c.getPredicate()) {
            case P::OGT:
            case P::UGT:
              return bin(">");
            case P::OGE:
            case P::UGE:
              return bin(">=");
            case P::OLT:
            case P::ULT:
              return bin("<");
            case P::OLE:
            case P::ULE:
              return bin("<=");
            case P::OEQ:
            case P::UEQ:
              return bin("==");
            case P::ONE:
            case P::UNE:
              return bin("!=");
            default:
              return "";
            }
          })
          // Element type conversions: arithmetic is f32 (or int); the
          // narrow storage types round when stored (KernelWriter::store).
          .Case<arith::ExtFOp, arith::TruncFOp>(
              [&](auto) { return "(" + a(0) + ")"; })
          .Case<arith::SIToFPOp, arith::UIToFPOp>(
              [&](auto) { return "float(" + a(0) + ")"; })
          .Case<arith::FPToSIOp, arith::ExtSIOp, arith::ExtUIOp,
                arith::TruncIOp>([&](auto) { return "int(" + a(0) + ")"; })
          .Case<math::ExpOp>([&](auto) { return call("exp"); })
          .Case<math::LogOp>([&](auto) { return call("log"); })
          .Case<math::SqrtOp>([&](auto) { return call("sqrt"); })
          .Case<math::CosOp>([&](auto) { return call("cos"); })
          .Case<math::SinOp>([&](auto) { return call("sin"); })
          .Case<math::RsqrtOp>(
              [&](auto) { return "(1.0 / sqrt(" + a(0) + "))"; })
          .Case<math::AbsFOp>([&](auto) { return call("abs"); })
          .Case<math::PowFOp>([&](auto) { return call("pow"); })
          .Case<math::TanhOp>([&](auto) {
            w.needs.insert("tanh");
            return call("tfm_tanh");
          })
          .Case<math::ErfOp>([&](auto) {
            w.needs.insert("erf");
            return call("tfm_erf");
          })
          .Default([](Operation *) { return std::string(); });
  if (expr.empty())
    return op.emitOpError("cannot be printed as GLSL by the Vulkan backend");
  Type t = op.getResult(0).getType();
  std::string type = t.isInteger(1)      ? "bool"
                     : isa<FloatType>(t) ? "float"
                                         : "int";
  std::string var = prefix + std::to_string(counter++);
  w.body << indent << type << " " << var << " = " << expr << ";\n";
  names[op.getResult(0)] = var;
  return success();
}

LogicalResult ScalarPrinter::print(Block &block,
                                   llvm::SmallVectorImpl<std::string> &out,
                                   const std::string &indent) {
  for (Operation &op : block.without_terminator())
    if (failed(printOp(op, indent)))
      return failure();
  for (Value v : block.getTerminator()->getOperands())
    out.push_back(name(v));
  return success();
}

LogicalResult ScalarPrinter::printUpTo(Block &block, Value result,
                                       std::string &out,
                                       const std::string &indent) {
  for (Operation &op : block) {
    if (failed(printOp(op, indent)))
      return failure();
    if (op.getNumResults() && op.getResult(0) == result)
      break;
  }
  out = name(result);
  return success();
}
