//===- Npy.h - NumPy .npy files --------------------------------*- C++ -*-===//
//
// Part of tfmc. Reads and writes NumPy's .npy format, versions 1.0 and 2.0,
// little-endian, C order, for the dtypes the runtime takes (float32, int64,
// int32). Anything else is rejected with a message naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_TOOLS_NPY_H
#define TFMC_TOOLS_NPY_H

#include "tfmc/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tfmc {

struct NpyArray {
  tfmc_dtype dtype = TFMC_DTYPE_FLOAT32;
  std::vector<int64_t> shape;
  std::vector<char> data; // C order

  size_t elements() const {
    size_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<size_t>(d);
    return n;
  }
};

/// Parses the bytes of a .npy file; `path` names it in errors.
bool parseNpy(const std::string &path, const std::string &bytes, NpyArray &out,
              std::string &error);
bool readNpy(const std::string &path, NpyArray &out, std::string &error);

/// Serialises an array as .npy version 1.0 (2.0 if the header needs it).
std::string formatNpy(tfmc_dtype dtype, const std::vector<int64_t> &shape,
                      const void *data, size_t bytes);
/// Writes atomically: a temporary file renamed over `path`.
bool writeNpy(const std::string &path, tfmc_dtype dtype,
              const std::vector<int64_t> &shape, const void *data, size_t bytes,
              std::string &error);

/// Creates `dir` and its parents; false with `error` set when it cannot
/// (or when `dir` exists and is not a directory).
bool makeDirs(const std::string &dir, std::string &error);

} // namespace tfmc

#endif // TFMC_TOOLS_NPY_H
