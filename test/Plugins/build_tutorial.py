"""Builds docs/writing-passes.md's in-tree pass from the tutorial's own code
blocks and runs its tests, so the tutorial cannot drift from the codebase.

Each block marked `<!-- tutorial: KEY -->` goes where its step says:
  passes-td        appended to a copy of passes/include/tfm/Transforms/Passes.td
  transforms-h     declared in a copy of tfm/Transforms/Transforms.h
  source           the blocks, in order, are passes/lib/Transforms/ApproximateGelu.cpp
  pipeline-option  a member of FusionPipelineOptions in a copy of Pipelines.h
  pipeline-slot    replaces its first line in a copy of Pipelines.cpp
  lit              step 5's test, run with its RUN lines
The copies shadow the originals through an include directory searched first;
the new and changed translation units and tfmc-opt.cpp are compiled with the
project's own commands (compile_commands.json) and linked with tfmc-opt's
link line, which gives a tfmc-opt that has the tutorial's pass.
Usage: build_tutorial.py SRC_ROOT BUILD_ROOT WORK_DIR"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

src, build, work = (os.path.abspath(a) for a in sys.argv[1:4])
doc_path = os.path.join(src, "docs", "writing-passes.md")
doc = open(doc_path).read()
blocks = {}
for m in re.finditer(r"^<!-- tutorial: ([\w-]+) -->\n```[\w+]*\n(.*?)^```$", doc, re.M | re.S):
    blocks.setdefault(m.group(1), []).append(m.group(2))
for key in ("passes-td", "transforms-h", "source", "pipeline-option", "pipeline-slot", "lit"):
    if key not in blocks:
        sys.exit("%s: no block marked 'tutorial: %s'" % (doc_path, key))
    print("block %s: %d" % (key, len(blocks[key])))


def insert(text, anchor, new, where, what):
    """`new` placed before/after/instead of the last (before) or first
    occurrence of `anchor` in `text`."""
    i = text.rfind(anchor) if where == "before" else text.find(anchor)
    if i < 0:
        sys.exit("%s: '%s' not found" % (what, anchor.strip()))
    if where == "before":
        return text[:i] + new + text[i:]
    if where == "instead":
        return text[:i] + new + text[i + len(anchor):]
    return text[:i + len(anchor)] + new + text[i + len(anchor):]


def read(*parts):
    return open(os.path.join(src, *parts)).read()


def write(path, text):
    path = os.path.join(work, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text)
    return path


inc = os.path.join(work, "include")
# Step 1: the pass declaration, generated as the build generates it.
td = write("include/tfm/Transforms/Passes.td",
           insert(read("passes/include/tfm/Transforms/Passes.td"), "#endif",
                  blocks["passes-td"][0] + "\n", "before", "Passes.td"))
subprocess.run(["mlir-tblgen", "-gen-pass-decls", "-name", "Tfm",
                "-I", os.path.join(src, "passes/include"), "-I", "/usr/lib/llvm-22/include",
                td, "-o", os.path.join(inc, "tfm/Transforms/Passes.h.inc")], check=True)
# Step 2: the populate function's declaration.
write("include/tfm/Transforms/Transforms.h",
      insert(read("passes/include/tfm/Transforms/Transforms.h"), "} // namespace mlir::tfm",
             blocks["transforms-h"][0] + "\n", "before", "Transforms.h"))
# Steps 2 and 3: the new source file.
gelu_cpp = write("passes/lib/Transforms/ApproximateGelu.cpp", "\n".join(blocks["source"]))
# Step 4: the option and the pipeline slot.
pipelines_h = read("passes/include/tfm/Pipelines/Pipelines.h")
struct = pipelines_h.find("struct FusionPipelineOptions")
end = pipelines_h.find("\n};", struct)
if struct < 0 or end < 0:
    sys.exit("Pipelines.h: no FusionPipelineOptions")
write("include/tfm/Pipelines/Pipelines.h",
      pipelines_h[:end + 1] + blocks["pipeline-option"][0] + pipelines_h[end + 1:])
slot = blocks["pipeline-slot"][0]
pipelines_cpp = write("passes/lib/Pipelines/Pipelines.cpp",
                      insert(read("passes/lib/Pipelines/Pipelines.cpp"), slot.splitlines(True)[0],
                             slot, "instead", "Pipelines.cpp"))

# Compile with the project's flags, the copies' directory searched first.
commands = {os.path.relpath(e["file"], src): e
            for e in json.load(open(os.path.join(build, "compile_commands.json")))}


def compile_like(original, source):
    entry = commands[original]
    args = shlex.split(entry["command"])
    out = os.path.join(work, os.path.basename(source) + ".o")
    i = args.index("-o")
    del args[i:i + 2]
    i = args.index("-c")
    del args[i:i + 2]
    args = [args[0], "-I" + inc] + args[1:] + ["-o", out, "-c", source]
    r = subprocess.run(args, cwd=entry["directory"], capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr)
        sys.exit("compiling %s failed" % source)
    return out


units = [("passes/lib/Transforms/FuseEpilogue.cpp", gelu_cpp),
         ("passes/lib/Pipelines/Pipelines.cpp", pipelines_cpp),
         ("compiler/tools/tfmc-opt/tfmc-opt.cpp", os.path.join(src, "compiler/tools/tfmc-opt/tfmc-opt.cpp"))]
with ThreadPoolExecutor(2) as pool:
    objects = list(pool.map(lambda u: compile_like(*u), units))
print("compiled: ApproximateGelu.cpp Pipelines.cpp tfmc-opt.cpp")

link = subprocess.run(["ninja", "-C", build, "-t", "commands", "bin/tfmc-opt"],
                      capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
link = link.removeprefix(": && ").removesuffix(" && :")
tool = os.path.join(work, "bin", "tfmc-opt")
os.makedirs(os.path.dirname(tool), exist_ok=True)
main_obj = "compiler/tools/tfmc-opt/CMakeFiles/tfmc-opt.dir/tfmc-opt.cpp.o"
if main_obj not in link or "-o bin/tfmc-opt" not in link:
    sys.exit("unexpected tfmc-opt link line: " + link)
link = link.replace(main_obj, " ".join(objects)).replace("-o bin/tfmc-opt", "-o " + tool)
r = subprocess.run(link, shell=True, cwd=build, capture_output=True, text=True)
if r.returncode:
    sys.stderr.write(r.stderr)
    sys.exit("linking tfmc-opt failed")
print("linked: tfmc-opt")

# The pass is registered with the others and runs its step-5 test.
help_text = subprocess.run([tool, "--help"], capture_output=True, text=True, check=True).stdout
print("help:", " ".join(l.strip() for l in help_text.splitlines() if "approximate-gelu" in l))
lit_file = write("test/Transforms/approximate-gelu.mlir", blocks["lit"][0])
filecheck = shutil.which("FileCheck") or "/usr/lib/llvm-22/bin/FileCheck"
for line in blocks["lit"][0].splitlines():
    if not line.startswith("// RUN:"):
        continue
    cmd = line[len("// RUN:"):].strip().replace("%s", shlex.quote(lit_file))
    cmd = re.sub(r"^tfmc-opt\b", shlex.quote(tool), cmd).replace("| FileCheck", "| " + filecheck)
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    print("lit RUN %s: %s" % (line[len("// RUN: "):].split("|")[0].strip(),
                              "OK" if r.returncode == 0 else "FAIL"))
    if r.returncode:
        sys.stderr.write(r.stdout + r.stderr)
        sys.exit(1)

# Step 4: the pipeline option puts the pass before the epilogue fusion.
model = write("linear-gelu.mlir", """
func.func @ffn(%x: tensor<3x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>) -> tensor<3x16xf32> {
  %y = tfm.linear %x, %w bias %b : (tensor<3x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<3x16xf32>
  %g = tfm.gelu %y : tensor<3x16xf32>
  return %g : tensor<3x16xf32>
}
""")
for option in ("", "{approximate-gelu=true}"):
    out = subprocess.run([tool, model, "--pass-pipeline=builtin.module(tfm-fusion-pipeline%s)" % option],
                         capture_output=True, text=True, check=True).stdout
    body = out[out.find("epilogue"):]
    print("tfm-fusion-pipeline%s: epilogue with %s" % (
        option, ", ".join(op for op in ("math.erf", "math.tanh") if op in body) or "neither"))
print("OK")
