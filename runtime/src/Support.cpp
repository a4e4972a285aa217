//===- Support.cpp - errors, dtypes, shapes -------------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "tfmc/abi.h"

#include <iterator>

using namespace tfmc::rt;

static thread_local std::string lastError;

tfmc_status tfmc::rt::fail(tfmc_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

extern "C" const char *tfmc_last_error(void) { return lastError.c_str(); }

extern "C" const char *tfmc_status_name(tfmc_status status) {
  switch (status) {
  case TFMC_OK:
    return "ok";
  case TFMC_ERROR_IO:
    return "I/O error";
  case TFMC_ERROR_FORMAT:
    return "malformed artifact";
  case TFMC_ERROR_VERSION:
    return "unsupported artifact version";
  case TFMC_ERROR_CHECKSUM:
    return "weights checksum mismatch";
  case TFMC_ERROR_CPU:
    return "unsupported CPU";
  case TFMC_ERROR_NOT_FOUND:
    return "not found";
  case TFMC_ERROR_SHAPE:
    return "shape mismatch";
  case TFMC_ERROR_DTYPE:
    return "dtype mismatch";
  case TFMC_ERROR_RANGE:
    return "value out of range";
  case TFMC_ERROR_MISSING_INPUT:
    return "missing input";
  case TFMC_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case TFMC_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case TFMC_ERROR_STATE:
    return "invalid state";
  case TFMC_ERROR_DEVICE:
    return "device error";
  }
  return "unknown status";
}

extern "C" const char *tfmc_dtype_name(tfmc_dtype dtype) {
  static const char *const names[] = TFMC_DTYPE_NAMES;
  if (dtype < 0 || dtype >= static_cast<int>(std::size(names)))
    return "unknown";
  return names[dtype];
}

extern "C" size_t tfmc_dtype_size(tfmc_dtype dtype) {
  switch (dtype) {
  case TFMC_DTYPE_FLOAT32:
  case TFMC_DTYPE_INT32:
    return 4;
  case TFMC_DTYPE_INT64:
    return 8;
  case TFMC_DTYPE_FLOAT16:
  case TFMC_DTYPE_BFLOAT16:
    return 2;
  case TFMC_DTYPE_INT8:
  case TFMC_DTYPE_BOOL:
    return 1;
  }
  return 0;
}

std::string tfmc::rt::shapeString(const int64_t *shape, size_t rank) {
  std::string s = "[";
  for (size_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}
