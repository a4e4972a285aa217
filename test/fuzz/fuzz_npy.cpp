//===- fuzz_npy.cpp - libFuzzer harness: tfmc-run's .npy reader -----------===//
//
// Part of tfmc. The input is a .npy file. An accepted array must hold
// exactly elements() * element size bytes, and writing it back and reading
// that again must give the same array.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size), error;
  tfmc::NpyArray array;
  if (!tfmc::parseNpy("fuzz.npy", bytes, array, error)) {
    if (error.empty())
      tfmc::fuzz::violated("a rejected .npy has no message");
    return 0;
  }
  if (array.data.size() != array.elements() * tfmc_dtype_size(array.dtype))
    tfmc::fuzz::violated("data size disagrees with the shape");
  std::string again = tfmc::formatNpy(array.dtype, array.shape,
                                      array.data.data(), array.data.size());
  tfmc::NpyArray round;
  if (!tfmc::parseNpy("again.npy", again, round, error) ||
      round.dtype != array.dtype || round.shape != array.shape ||
      round.data != array.data)
    tfmc::fuzz::violated("write + read does not give the array back");
  return 0;
}
