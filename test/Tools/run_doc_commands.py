"""Runs every command of the ```sh blocks of the given Markdown files, from
the source root, as a user would type it; fails on the first that exits
non-zero. A block preceded by a line containing "illustrative" is skipped.
Usage: run_doc_commands.py SRC_ROOT BUILD_BIN DOC.md [DOC.md ...]"""
import os
import re
import subprocess
import sys

root, bindir, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
failed = 0
for doc in docs:
    text = open(os.path.join(root, doc)).read()
    for m in re.finditer(r"(?P<before>[^\n]*)\n```sh\n(?P<body>.*?)```", text, re.S):
        if "illustrative" in m.group("before").lower():
            continue
        for line in m.group("body").splitlines():
            cmd = line.split("  #")[0].strip()
            if not cmd or cmd.startswith("#"):
                continue
            # build/bin/ is where the README builds the tools; tests use theirs.
            run = cmd.replace("build/bin/", bindir.rstrip("/") + "/")
            r = subprocess.run(run, shell=True, cwd=root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            status = "OK" if r.returncode == 0 else "FAIL (exit %d)" % r.returncode
            print("%s: %s: %s" % (doc, cmd, status))
            if r.returncode:
                failed += 1
                sys.stderr.write(r.stderr[-2000:])
print("FAIL" if failed else "OK")
sys.exit(1 if failed else 0)
