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
                   "unit", "e2e"]

llvm_config.with_system_environment(["HOME", "TMP", "TEMP", "TFMC_VENV"])
llvm_config.use_default_substitutions()
config.environment["FILECHECK_OPTS"] = (
    "-enable-var-scope --allow-unused-prefixes=false")

tool_dirs = [config.tfm_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["tfmc-opt"], tool_dirs)
llvm_config.with_environment("PATH", config.tfm_tools_dir, append_path=True)
config.substitutions.append(("%tfm_src_root", config.tfm_src_root))
config.substitutions.append(("%tfm_obj_root", config.tfm_obj_root))
