//===- FileRead.h - the runtime's one way to read a file --------*- C++ -*-===//
//
// Part of tfmc. Every file the runtime and tfmc-run read whole (manifests,
// tokenizer files, .npy arrays, images, SPIR-V, pipeline caches) goes
// through readFile: it must be a regular file (a FIFO would block, a
// device never end) no larger than the caller's cap (tfmc/limits.h), read
// to its end or refused. JSON goes through parseJson, which also bounds
// the nesting depth before the parser sees it.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUNTIME_FILEREAD_H
#define TFMC_RUNTIME_FILEREAD_H

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace tfmc::rt {

/// Reads all of `path` into `out`; false with `error` = "<path>: <why>"
/// ("cannot open: <errno text>", "not a regular file", "is N bytes; the
/// limit is M").
bool readFile(const std::string &path, uint64_t maxBytes, std::string &out,
              std::string &error);

/// Parses `text` (the contents of `path`); false with `error` naming the
/// path and byte offset when it is not JSON or nests deeper than
/// TFMC_MAX_JSON_DEPTH.
bool parseJson(const std::string &path, const std::string &text,
               nlohmann::json &doc, std::string &error);

} // namespace tfmc::rt

#endif // TFMC_RUNTIME_FILEREAD_H
