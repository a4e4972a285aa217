# -*- Python -*- lit configuration for tfmc.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "tfmc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".toml"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tfm_obj_root, "test")
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py",
                   "unit", "lib", "fuzz"]

llvm_config.with_system_environment(["HOME", "TMP", "TEMP", "TFMC_VENV"])
llvm_config.use_default_substitutions()
config.environment["FILECHECK_OPTS"] = (
    "-enable-var-scope --allow-unused-prefixes=false")

# `--param tfm_tools_dir=BUILD/san/bin` runs the tests on the sanitizer
# copies of the tools (scripts/sanitize-check.sh).
config.tfm_tools_dir = lit_config.params.get("tfm_tools_dir", config.tfm_tools_dir)
tool_dirs = [config.tfm_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["tfmc-opt", "tfmc-run", "tfmc"], tool_dirs)
llvm_config.with_environment("PATH", config.tfm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
config.substitutions.append(("%tfm_src_root", config.tfm_src_root))
config.substitutions.append(("%tfm_obj_root", config.tfm_obj_root))

# Reference tests run PyTorch (Debian's) through the project's virtual
# environment, which adds the PyPI packages of scripts/requirements.txt.
venv = os.environ.get("TFMC_VENV", os.path.join(config.tfm_src_root, ".venv"))
python = os.path.join(venv, "bin", "python")
if not os.path.exists(python):
    python = "/usr/bin/python3"
config.substitutions.append(("%refpython", python))
config.environment["TFMC_TOOLS"] = config.tfm_tools_dir
config.environment["PYTHONPATH"] = os.path.join(config.tfm_src_root, "test", "lib")
# Vulkan pipeline caches of the tests stay in the build tree, not the user's
# ~/.cache (test/Vulkan/pipeline-cache.test checks the default location).
config.environment["TFMC_VULKAN_PIPELINE_CACHE"] = os.path.join(
    config.tfm_obj_root, "test", "vulkan-pipeline-cache")
config.environment["HF_HUB_OFFLINE"] = "1"
config.environment["TRANSFORMERS_OFFLINE"] = "1"
