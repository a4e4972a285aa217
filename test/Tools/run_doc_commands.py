"""Runs every command of the ```sh blocks of the given Markdown files as a
user would type it from the source root; reports each and fails if any
exits non-zero. A block whose preceding paragraph contains "illustrative"
is skipped. The commands run in a scratch
directory that mirrors the source root's top level through symlinks (and
`build` -> the build tree the tools come from), so what they write
(`-o out/`, `maps/`, `prefix/`) stays out of the checkout.
Usage: run_doc_commands.py SRC_ROOT BUILD_BIN (DOC.md ... | --all)
--all: README.md and every docs/*.md."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

root, bindir, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
if docs == ["--all"]:
    docs = ["README.md"] + sorted(os.path.relpath(p, root)
                                  for p in glob.glob(os.path.join(root, "docs", "*.md")))
scratch = tempfile.mkdtemp(prefix="tfmc-doc-commands.")
for entry in os.listdir(root):
    if not entry.startswith(".") and not entry.startswith("build"):
        os.symlink(os.path.join(os.path.abspath(root), entry), os.path.join(scratch, entry))
os.symlink(os.path.dirname(os.path.abspath(bindir.rstrip("/"))), os.path.join(scratch, "build"))
failed = 0
for doc in docs:
    text = open(os.path.join(root, doc)).read()
    for m in re.finditer(r"^```sh\n(?P<body>.*?)^```$", text, re.S | re.M):
        paragraph = text[:m.start()].rstrip("\n").split("\n\n")[-1]
        if "illustrative" in paragraph.lower():
            continue
        for line in m.group("body").splitlines():
            cmd = line.split("  #")[0].strip()
            if not cmd or cmd.startswith("#"):
                continue
            # build/ is the tests' own build tree: a command that would
            # configure it (pip install ., cmake -B build) must be illustrative.
            if re.search(r"pip install|-B\s*build(\s|/|$)", cmd):
                print("%s: %s: FAIL (would reconfigure build/; mark it illustrative)" % (doc, cmd))
                failed += 1
                continue
            # build/bin/ is where the README builds the tools; tests use theirs.
            run = cmd.replace("build/bin/", bindir.rstrip("/") + "/")
            r = subprocess.run(run, shell=True, cwd=scratch, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            status = "OK" if r.returncode == 0 else "FAIL (exit %d)" % r.returncode
            print("%s: %s: %s" % (doc, cmd, status))
            if r.returncode:
                failed += 1
                sys.stderr.write(r.stderr[-2000:])
shutil.rmtree(scratch, ignore_errors=True)
print("FAIL" if failed else "OK")
sys.exit(1 if failed else 0)
