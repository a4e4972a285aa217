"""Fixtures of the Python package's tests (run by scripts/test.sh after
`pip install .`): the repository, the CLI tools the package is compared
with, and artifacts compiled once per run."""
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.environ.get("TFMC_TOOLS", os.path.join(ROOT, "build", "bin"))


def tool(name):
    return os.path.join(TOOLS, name)


def cli(*args, check=True):
    """Runs a tfmc CLI tool; returns (returncode, stdout, stderr)."""
    r = subprocess.run([str(a) for a in args], capture_output=True,
                       text=True)
    if check and r.returncode != 0:
        raise AssertionError("%s failed:\n%s" % (args[0], r.stderr))
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """Compiles a bundled model once (in-process); {key: Artifact}."""
    import tfmc
    cache = {}
    base = tmp_path_factory.mktemp("artifacts")

    def get(key, model, **options):
        if key not in cache:
            cache[key] = tfmc.compile(os.path.join(ROOT, model),
                                      str(base / key), **options)
        return cache[key]
    return get
