//===- VulkanTarget.cpp - profiles, planning, text output, artifact -------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Planner.h"
#include "Spirv.h"

#include "tfm/Conversion/Passes.h"
#include "tfm/Target/Artifact.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::vk;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

llvm::Expected<VulkanTarget> mlir::tfm::resolveVulkanTarget(StringRef name) {
  VulkanTarget t;
  t.name = name.str();
  if (name == "lavapipe") {
    // Mesa's llvmpipe Vulkan device: 32 KiB of shared memory, 8-wide SIMD
    // (256-bit) subgroups, workgroups run as loops over SIMD batches.
    t.maxSharedBytes = 32768;
    t.maxInvocations = 1024;
    t.subgroupSize = 8;
    return t;
  }
  if (name == "nvidia") {
    // NVIDIA (Ampere/Hopper) under its Vulkan driver: 48 KiB of shared
    // memory per workgroup without opt-in, 32-wide subgroups.
    t.maxSharedBytes = 49152;
    t.maxInvocations = 1024;
    t.maxGroupCount = 65535;
    t.subgroupSize = 32;
    t.gemmBM = 128;
    t.gemmBN = 128;
    t.gemmBK = 16;
    t.gemmTM = 8;
    t.gemmTN = 8;
    t.attnBQ = 64;
    t.attnBK = 32;
    t.decodeChunk = 256;
    t.decodeThreads = 128;
    t.rowThreads = 256;
    t.pointThreads = 256;
    return t;
  }
  return error("unknown Vulkan target '" + name +
               "' (known: lavapipe, nvidia)");
}

static std::string dtypeName(Type t) {
  return t.isF32()         ? "float32"
         : t.isInteger(64) ? "int64"
         : t.isInteger(32) ? "int32"
         : t.isIndex()     ? "int64"
                           : "unsupported";
}

/// The manifest's view of an entry function of the fused module.
static EntrySpec entrySpec(func::FuncOp fn) {
  EntrySpec e;
  e.name = fn.getName().str();
  if (auto bounds = fn->getAttrOfType<DictionaryAttr>(kDimBoundsAttr))
    for (NamedAttribute b : bounds)
      e.dimBounds.push_back(
          {b.getName().str(), cast<IntegerAttr>(b.getValue()).getInt()});
  FunctionType type = fn.getFunctionType();
  llvm::DenseSet<int64_t> tied;
  for (unsigned r = 0; r < type.getNumResults(); ++r)
    if (auto t = fn.getResultAttrOfType<IntegerAttr>(r, kTiedToAttr))
      tied.insert(t.getInt());
  auto spec = [&](Type t, DictionaryAttr attrs, std::string fallback) {
    TensorSpec s;
    auto name = attrs ? attrs.getAs<StringAttr>(kNameAttr) : StringAttr();
    s.name = name ? name.getValue().str() : fallback;
    if (auto rt = dyn_cast<RankedTensorType>(t)) {
      s.dtype = dtypeName(rt.getElementType());
      for (int64_t d : rt.getShape())
        s.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
    } else {
      s.dtype = dtypeName(t);
    }
    if (auto names = attrs ? attrs.getAs<ArrayAttr>(kDimNamesAttr) : ArrayAttr())
      for (Attribute n : names)
        s.dimNames.push_back(cast<StringAttr>(n).getValue().str());
    return s;
  };
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    TensorSpec s =
        spec(type.getInput(i), fn.getArgAttrDict(i), "arg" + std::to_string(i));
    s.idBound = tokenIdBound(fn.getArgument(i));
    s.state = tied.count(i);
    e.inputs.push_back(std::move(s));
  }
  for (unsigned r = 0; r < type.getNumResults(); ++r)
    if (!fn.getResultAttrOfType<IntegerAttr>(r, kTiedToAttr))
      e.outputs.push_back(spec(type.getResult(r), fn.getResultAttrDict(r),
                               "result" + std::to_string(r)));
  return e;
}

/// Plans every entry and compiles every kernel.
static llvm::Expected<ModulePlan> buildPlan(ModuleOp module,
                                            const VulkanTarget &target,
                                            WeightPlan &weights) {
  ModulePlan plan;
  int64_t maxPositions = 0;
  if (auto m = module->getAttrOfType<IntegerAttr>("tfm.max_seq_len"))
    maxPositions = m.getInt();
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isExternal())
      continue;
    plan.entries.emplace_back();
    Planner p(plan, plan.entries.back(), target, weights, maxPositions);
    if (failed(p.run(fn)))
      return error("the model cannot be compiled for Vulkan (see the "
                   "diagnostics above)");
  }
  for (Kernel &k : plan.kernels)
    if (llvm::Error e = compileKernel(k))
      return std::move(e);
  Builder b(module.getContext());
  module->setAttr(kWeightPlanAttr, weights.toAttr(b));
  module->setAttr(kWeightBytesAttr, b.getI64IntegerAttr(weights.totalBytes()));
  return plan;
}

static void printProvenance(const Kernel &k, llvm::raw_ostream &os) {
  os << "// kernel " << k.name << " (" << k.localSize
     << " invocations per workgroup)\n";
  for (const std::string &o : k.origins)
    os << "//   from " << o << "\n";
}

llvm::Error mlir::tfm::emitVulkanText(ModuleOp fused,
                                      const VulkanTarget &target,
                                      VulkanText kind, llvm::raw_ostream &os) {
  WeightPlan weights;
  auto plan = buildPlan(fused, target, weights);
  if (!plan)
    return plan.takeError();
  for (const Kernel &k : plan->kernels) {
    printProvenance(k, os);
    if (kind == VulkanText::GLSL)
      os << k.source << "\n";
    else
      os << disassemble(k) << "\n";
  }
  return llvm::Error::success();
}

/// The scalar-program, storage and dispatch fields of one entry.
static void writePlan(llvm::json::OStream &j, const EntryPlan &e) {
  auto pushValue = [&](const PushValue &p) -> int64_t {
    if (p.storage < 0)
      return p.offset;
    return e.storages[p.storage].offset / 4 + p.offset;
  };
  auto io = [&](const std::vector<IoBinding> &list) {
    j.array([&] {
      for (const IoBinding &b : list)
        j.object([&] {
          j.attribute("buffer", b.buffer);
          if (b.buffer == "scalar")
            j.attribute("slot", b.slot);
          else
            j.attribute("offset", b.offset);
        });
    });
  };
  j.attributeObject("vulkan", [&] {
    j.attribute("arena_bytes", e.arenaBytes);
    j.attributeArray("scalars", [&] {
      for (const ScalarOp &s : e.scalars.program())
        j.array([&] {
          j.value(s.op);
          j.value(s.a);
          j.value(s.b);
        });
    });
    j.attributeBegin("inputs");
    io(e.inputs);
    j.attributeEnd();
    j.attributeBegin("outputs");
    io(e.outputs);
    j.attributeEnd();
    j.attributeArray("dispatches", [&] {
      for (const Dispatch &d : e.dispatches)
        j.object([&] {
          j.attribute("kernel", d.kernel);
          j.attributeArray("push", [&] {
            for (const PushValue &p : d.push)
              j.value(pushValue(p));
          });
          j.attributeArray("groups", [&] {
            for (int g : d.groups)
              j.value(g);
          });
          if (d.barrier)
            j.attribute("barrier", true);
        });
    });
  });
}

llvm::Error mlir::tfm::writeVulkanArtifact(ModuleOp fused, WeightStore &weights,
                                           const VulkanTarget &target,
                                           StringRef outDir) {
  ArtifactInfo info;
  for (auto fn : fused.getOps<func::FuncOp>())
    if (!fn.isExternal())
      info.entries.push_back(entrySpec(fn));
  fillModelInfo(fused, info);
  WeightPlan weightPlan;
  auto plan = buildPlan(fused, target, weightPlan);
  if (!plan)
    return plan.takeError();
  info.weightsBytes = weightPlan.totalBytes();
  size_t maxPush = 1;
  for (const EntryPlan &e : plan->entries)
    for (const Dispatch &d : e.dispatches)
      maxPush = std::max(maxPush, d.push.size());
  info.writeTarget = [&](llvm::json::OStream &j) {
    j.attribute("kind", "vulkan");
    j.attribute("profile", target.name);
    j.attribute("kernels_file", "kernels.spv");
    j.attribute("state_bytes", plan->stateBytes);
    j.attribute("push_constant_words", static_cast<int64_t>(maxPush));
    j.attributeArray("kernels", [&] {
      int64_t offset = 0;
      for (const Kernel &k : plan->kernels) {
        j.object([&] {
          j.attribute("name", k.name);
          j.attribute("offset", offset);
          j.attribute("words", static_cast<int64_t>(k.spirv.size()));
          j.attribute("local_size", static_cast<int64_t>(k.localSize));
        });
        offset += k.spirv.size() * 4;
      }
    });
  };
  info.writeEntryExtra = [&](llvm::json::OStream &j, size_t index) {
    writePlan(j, plan->entries[index]);
  };
  return writeArtifactDir(outDir, [&](auto at) -> llvm::Error {
    auto checksum = writeWeights(fused, weights, at("weights.bin"));
    if (!checksum)
      return checksum.takeError();
    info.weightsChecksum = *checksum;
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(at("kernels.spv"), ec);
      if (ec)
        return error("cannot write kernels.spv: " + ec.message());
      for (const Kernel &k : plan->kernels)
        os.write(reinterpret_cast<const char *>(k.spirv.data()),
                 k.spirv.size() * 4);
      os.close();
      if (os.has_error())
        return error("cannot write kernels.spv: " + os.error().message());
    }
    if (llvm::Error e = copyTokenizerFiles(info, at))
      return e;
    return writeManifest(at("manifest.json"), info);
  });
}
