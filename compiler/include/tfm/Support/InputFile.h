//===- InputFile.h - the compiler's one way to read an input file -*- C++
//-*-===//
//
// Part of tfmc. Every file a frontend or the artifact writer reads from the
// user (model files, config.json and the other JSON files of a folder,
// tokenizer files, safetensors) goes through readInputFile: it must be a
// regular file -- a FIFO would block, a device never end -- no larger than
// the caller's cap (tfmc/limits.h, docs/limits.md). JSON text must then
// pass checkJsonDepth before it is parsed.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_SUPPORT_INPUTFILE_H
#define TFM_SUPPORT_INPUTFILE_H

#include "tfmc/limits.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <string>

namespace mlir::tfm {

/// The file's contents, or an error whose message is the reason alone
/// ("No such file or directory", "not a regular file", "is N bytes; the
/// limit is M ..."): callers put the path and what the file is in front.
inline llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readInputFile(llvm::StringRef path, uint64_t maxBytes, bool isText = true,
              bool requiresNullTerminator = true) {
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(path, st))
    return llvm::createStringError(ec, ec.message());
  if (st.type() != llvm::sys::fs::file_type::regular_file)
    return llvm::createStringError(
        std::make_error_code(std::errc::invalid_argument),
        "not a regular file");
  if (st.getSize() > maxBytes)
    return llvm::createStringError(
        std::make_error_code(std::errc::file_too_large),
        "is " + std::to_string(st.getSize()) + " bytes; the limit is " +
            std::to_string(maxBytes) + " (docs/limits.md)");
  auto buf = llvm::MemoryBuffer::getFile(path, isText, requiresNullTerminator);
  if (!buf)
    return llvm::createStringError(buf.getError(), buf.getError().message());
  return std::move(*buf);
}

/// Empty when `text` nests JSON at most TFMC_MAX_JSON_DEPTH deep; else the
/// reason, naming the byte offset.
inline std::string checkJsonDepth(llvm::StringRef text) {
  size_t at = 0;
  if (tfmc_json_depth_ok(text.data(), text.size(), TFMC_MAX_JSON_DEPTH, &at))
    return {};
  return "JSON nested deeper than " + std::to_string(TFMC_MAX_JSON_DEPTH) +
         " levels (at byte " + std::to_string(at) + ")";
}

} // namespace mlir::tfm

#endif // TFM_SUPPORT_INPUTFILE_H
