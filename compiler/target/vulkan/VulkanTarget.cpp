//===- VulkanTarget.cpp - profiles, planning, text output, artifact -------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Planner.h"
#include "Spirv.h"

#include "tfm/Plan/Plan.h"
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

//===----------------------------------------------------------------------===//
// The plan's view of the target
//===----------------------------------------------------------------------===//

int64_t mlir::tfm::vulkanScratchBytes(Operation *op, ShapeBounds &bounds,
                                      const VulkanTarget &target) {
  // Split-K decode attention: per (batch, head, chunk of keys) a partial
  // maximum, sum and output row (KernelsAttention.cpp); mixture-of-experts
  // routing tables and hidden rows (KernelsMoE.cpp).
  if (int64_t moe = vk::moeScratchBytes(op, bounds))
    return moe;
  auto a = dyn_cast<AttentionOp>(op);
  if (!a)
    return 0;
  bool explicitHeads = a.hasExplicitHeads();
  int64_t seqAxis = explicitHeads ? 2 : 1;
  auto qt = a.getQuery().getType();
  if (qt.isDynamicDim(seqAxis) || qt.getDimSize(seqAxis) != 1)
    return 0;
  FailureOr<ArrayRef<int64_t>> k = bounds.shape(a.getKey());
  FailureOr<ArrayRef<int64_t>> q = bounds.shape(a.getQuery());
  if (failed(k) || failed(q))
    return 0;
  int64_t heads = a.getNumHeads();
  auto vt = a.getValue().getType();
  int64_t dv =
      explicitHeads ? vt.getDimSize(3) : vt.getDimSize(2) / a.getKVHeads();
  int64_t chunks =
      ((*k)[seqAxis] + target.decodeChunk - 1) / target.decodeChunk;
  return (*q)[0] * heads * chunks * (dv + 2) * 4;
}

PlanOptions mlir::tfm::vulkanPlanOptions(const VulkanTarget &target) {
  PlanOptions opts;
  opts.panelWidth = target.gemmBN;
  opts.embeddingFromPanels = false;
  opts.alignment = 256; // minStorageBufferOffsetAlignment of every device
  opts.ioInArena = true;
  opts.scratch = [target](Operation *op, ShapeBounds &bounds) {
    return vulkanScratchBytes(op, bounds, target);
  };
  return opts;
}

void mlir::tfm::buildVulkanPlanPipeline(OpPassManager &pm,
                                        const VulkanTarget &target) {
  buildPlanPipeline(pm, vulkanPlanOptions(target));
}

void mlir::tfm::registerVulkanPlanTarget() {
  auto target = resolveVulkanTarget("lavapipe");
  registerPlanTarget("vulkan", vulkanPlanOptions(*target).scratch);
}

/// Plans every entry and compiles every kernel.
static llvm::Expected<ModulePlan> buildPlan(ModuleOp module,
                                            const VulkanTarget &target) {
  ModulePlan plan;
  WeightPlanAttr weights = getWeightPlan(module);
  if (!weights)
    return error("the module is not planned (run the Vulkan plan pipeline)");
  int64_t indexBound = 1;
  if (ModelAttr model = getModelAttr(module))
    indexBound = model.getMaxSeqLen();
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isExternal())
      continue;
    if (EntryAttr e = getEntryAttr(fn)) {
      plan.stateBytes = std::max(plan.stateBytes, e.getStateBytes());
      for (NamedAttribute b : e.getBounds())
        indexBound =
            std::max(indexBound, cast<IntegerAttr>(b.getValue()).getInt());
    }
  }
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (fn.isExternal())
      continue;
    plan.entries.emplace_back();
    Planner p(plan, plan.entries.back(), target, weights, indexBound);
    if (failed(p.run(fn)))
      return error("the model cannot be compiled for Vulkan (see the "
                   "diagnostics above)");
  }
  for (Kernel &k : plan.kernels)
    if (llvm::Error e = compileKernel(k))
      return std::move(e);
  return plan;
}

static void printProvenance(const Kernel &k, llvm::raw_ostream &os) {
  os << "// kernel " << k.name << " (" << k.localSize
     << " invocations per workgroup)\n";
  for (const std::string &o : k.origins)
    os << "//   from " << o << "\n";
}

llvm::Error mlir::tfm::emitVulkanText(ModuleOp planned,
                                      const VulkanTarget &target,
                                      VulkanText kind, llvm::raw_ostream &os) {
  auto plan = buildPlan(planned, target);
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
    return e.storages[p.storage].offset / p.elemBytes + p.offset;
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
          j.value(scalarCodeName(s.op));
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

llvm::Error mlir::tfm::writeVulkanArtifact(ModuleOp planned,
                                           const WeightSource &weights,
                                           const VulkanTarget &target,
                                           StringRef outDir) {
  ArtifactInfo info = artifactInfoFor(planned);
  auto plan = buildPlan(planned, target);
  if (!plan)
    return plan.takeError();
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
    j.attributeArray("features", [&] {
      for (const std::string &f : plan->features)
        j.value(f);
    });
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
    auto checksum = writeWeights(info.weights, weights, at("weights.bin"));
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
      // Trailer: the signature of every entry's code, which the runtime
      // checks the manifest against (tfmc/abi.h), their count, a magic.
      for (const EntrySpec &e : info.entries)
        os.write(reinterpret_cast<const char *>(&e.signature), 8);
      uint64_t n = info.entries.size();
      os.write(reinterpret_cast<const char *>(&n), 8);
      os.write("TFMCSPV2", 8);
      os.close();
      if (os.has_error())
        return error("cannot write kernels.spv: " + os.error().message());
    }
    if (llvm::Error e = copyTokenizerFiles(info, at))
      return e;
    return writeManifest(at("manifest.json"), info);
  });
}
