//===- fuzz_manifest.cpp - libFuzzer harness: loading an artifact ---------===//
//
// Part of tfmc. The input is an artifact's manifest.json; the rest of the
// artifact (model.so, weights.bin, tokenizer files) is a real one, compiled
// by scripts/fuzz.sh into $TFMC_FUZZ_ARTIFACT and copied into a scratch
// directory once. Each input is loaded through the C API as an application
// loads it (manifest checks, weight table against weights.bin, entry
// signatures against the code); a model that loads must run every entry on
// valid inputs (zeros at the smallest shape) without a sanitizer report.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "tfmc/runtime.h"

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace {

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The scratch copy of $TFMC_FUZZ_ARTIFACT (all files but the manifest).
const std::string &artifact() {
  static const std::string dir = [] {
    const char *src = std::getenv("TFMC_FUZZ_ARTIFACT");
    if (!src || !*src)
      tfmc::fuzz::violated("set TFMC_FUZZ_ARTIFACT to a compiled artifact");
    DIR *d = opendir(src);
    if (!d)
      tfmc::fuzz::violated("TFMC_FUZZ_ARTIFACT is not a directory");
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != ".." && name != "manifest.json")
        tfmc::fuzz::writeScratch(name, readAll(std::string(src) + "/" + name));
    }
    closedir(d);
    return tfmc::fuzz::scratchDir();
  }();
  return dir;
}

void runEntry(tfmc_model *model, const char *entry) {
  tfmc_session *session = nullptr;
  if (tfmc_session_create(model, entry, &session) != TFMC_OK)
    return;
  tfmc_session_set_num_threads(session, 1);
  size_t numInputs = 0, numOutputs = 0;
  tfmc_model_entry_signature(model, entry, &numInputs, &numOutputs);
  std::vector<char> zeros;
  for (size_t i = 0; i < numInputs; ++i) {
    tfmc_tensor_spec spec;
    if (tfmc_model_entry_input(model, entry, i, &spec) != TFMC_OK)
      tfmc::fuzz::violated("an input the signature counts is missing");
    if (spec.state)
      continue;
    int64_t shape[TFMC_MAX_RANK];
    size_t elements = 1;
    for (int32_t d = 0; d < spec.rank; ++d) {
      shape[d] = spec.shape[d] < 0 ? 1 : spec.shape[d];
      elements *= static_cast<size_t>(shape[d]);
    }
    if (elements > (size_t(1) << 24))
      break;
    zeros.assign(elements * tfmc_dtype_size(spec.dtype), 0);
    tfmc_session_set_input(session, spec.name, spec.dtype, spec.rank, shape,
                           zeros.data());
  }
  if (tfmc_session_run(session) == TFMC_OK) {
    for (size_t i = 0; i < numOutputs; ++i) {
      tfmc_tensor_spec spec;
      tfmc_tensor_view view;
      if (tfmc_model_entry_output(model, entry, i, &spec) == TFMC_OK &&
          tfmc_session_get_output(session, spec.name, &view) != TFMC_OK)
        tfmc::fuzz::violated("a run succeeded without its outputs");
    }
  }
  tfmc_session_destroy(session);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &dir = artifact();
  tfmc::fuzz::writeScratch(
      "manifest.json", std::string(reinterpret_cast<const char *>(data), size));
  tfmc_model *model = nullptr;
  if (tfmc_model_open(dir.c_str(), &model) != TFMC_OK) {
    if (!tfmc_last_error() || !*tfmc_last_error())
      tfmc::fuzz::violated("a refused artifact has no message");
    return 0;
  }
  for (size_t i = 0, n = tfmc_model_num_entries(model); i < n; ++i)
    runEntry(model, tfmc_model_entry_name(model, i));
  tfmc_model_close(model);
  return 0;
}
