"""Every ```python block of docs/python.md and README.md runs as written,
in order (one namespace per file), from the repository root."""
import contextlib
import io
import os
import re

import pytest

from conftest import ROOT

DOCS = ["docs/python.md", "README.md"]


def blocks(doc):
    text = open(os.path.join(ROOT, doc), encoding="utf-8").read()
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.parametrize("doc", DOCS)
def test_doc_examples_run(doc, monkeypatch):
    found = blocks(doc)
    assert found, "%s has no python examples" % doc
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": "__doc_example__"}
    for i, code in enumerate(found):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "%s block %d" % (doc, i + 1), "exec"),
                 namespace)
        # `print(...)  # -> text`: what the block prints contains text.
        printed = out.getvalue()
        for want in re.findall(r"print\(.*\)\s+# -> (.+)$", code, re.M):
            assert want in printed, (doc, i + 1, want, printed)
