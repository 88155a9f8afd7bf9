# -*- Python -*-
# lit configuration for gshard's FileCheck tests.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "gshard"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".hlo", ".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit",
                   "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.gshard_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.gshard_tools_dir, append_path=True)

tool_dirs = [config.gshard_tools_dir, config.llvm_tools_dir]
tools = ["gshard-opt", "gshard-sim", "gshard-propagation-conformance",
         "gshard-partitioner-conformance", "gshard-random-hlo"]
llvm_config.add_tool_substitutions(
    [t for t in tools if os.path.exists(os.path.join(config.gshard_tools_dir, t))],
    tool_dirs)

# Tests that read ../shared/corpus (or $GSHARD_CORPUS) run only where it is.
corpus = os.environ.get(
    "GSHARD_CORPUS",
    os.path.join(config.gshard_src_root, "..", "shared", "corpus"))
if os.path.isdir(corpus):
    config.available_features.add("corpus")
    config.substitutions.append(("%corpus", os.path.abspath(corpus)))
