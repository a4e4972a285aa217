//===- GraphExport.cpp - model graph as Graphviz DOT ----------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Tools/Inspect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace mlir::tfm;

/// "2x37x96xf32" for tensors, the type otherwise.
static std::string typeLabel(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto st = dyn_cast<ShapedType>(t)) {
    for (int64_t d : st.getShape())
      ShapedType::isDynamic(d) ? os << "?x" : os << d << "x";
    os << st.getElementType();
  } else {
    os << t;
  }
  return s;
}

/// Escapes a string for a DOT record label.
static std::string escape(StringRef s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '{' || c == '}' || c == '<' || c == '>' ||
        c == '|')
      out += '\\';
    out += c;
  }
  return out;
}

/// The innermost name of a location (the model-file name of the op group).
static std::string sourceName(Location loc) {
  if (auto n = dyn_cast<NameLoc>(loc))
    return n.getName().str();
  if (auto f = dyn_cast<FusedLoc>(loc))
    for (Location l : f.getLocations())
      if (std::string s = sourceName(l); !s.empty())
        return s;
  return "";
}

void mlir::tfm::exportGraph(ModuleOp module, llvm::raw_ostream &os) {
  os << "digraph tfm {\n"
     << "  rankdir=TB;\n"
     << "  node [fontname=\"Helvetica\", fontsize=10];\n"
     << "  edge [color=\"#555555\"];\n";
  unsigned cluster = 0;
  llvm::DenseMap<Value, std::string> ids;
  unsigned next = 0;
  for (auto fn : module.getOps<func::FuncOp>()) {
    os << "  subgraph cluster_" << cluster++ << " {\n"
       << "    label=\"@" << escape(fn.getName()) << "\";\n";
    for (BlockArgument arg : fn.getArguments()) {
      std::string id = "n" + std::to_string(next++);
      ids[arg] = id;
      auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "tfm.name");
      os << "    " << id << " [shape=ellipse, style=filled, "
         << "fillcolor=\"#cfe2ff\", label=\""
         << escape(name ? name.getValue().str()
                        : "arg" + std::to_string(arg.getArgNumber()))
         << "\\n" << escape(typeLabel(arg.getType())) << "\"];\n";
    }
    fn.walk([&](Operation *op) {
      if (op->getParentOp() != fn)
        return; // ops nested in epilogue regions belong to their parent
      std::string id = "n" + std::to_string(next++);
      for (Value r : op->getResults())
        ids[r] = id;
      if (auto w = dyn_cast<WeightOp>(op)) {
        os << "    " << id << " [shape=box, style=filled, "
           << "fillcolor=\"#fff3cd\", label=\"" << escape(w.getName())
           << "\\n" << escape(typeLabel(w.getType())) << "\"];\n";
        return;
      }
      std::string label = op->getName().getStringRef().str();
      if (std::string src = sourceName(op->getLoc()); !src.empty())
        label += "\\n" + escape(src);
      for (Type t : op->getResultTypes())
        label += "\\n" + escape(typeLabel(t));
      bool fused = isa<AttentionOp, AddLayerNormOp, AddRMSNormOp>(op) ||
                   (isa<LinearOp>(op) && cast<LinearOp>(op).hasEpilogue());
      os << "    " << id << " [shape=box, style=\"rounded,filled\", fillcolor=\""
         << (fused ? "#d1e7dd" : "#f8f9fa") << "\", label=\"" << label
         << "\"];\n";
      for (Value operand : op->getOperands()) {
        auto it = ids.find(operand);
        if (it != ids.end())
          os << "    " << it->second << " -> " << id << ";\n";
      }
    });
    os << "  }\n";
  }
  os << "}\n";
}
