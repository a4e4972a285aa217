//===- FuzzSupport.h - shared pieces of the libFuzzer harnesses -*- C++ -*-===//
//
// Part of tfmc. Readers that take a path get their input through a private
// scratch directory (under $TMPDIR, removed at exit); inputs that hold
// several files split them at NUL bytes.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_TEST_FUZZ_FUZZSUPPORT_H
#define TFMC_TEST_FUZZ_FUZZSUPPORT_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace tfmc::fuzz {

/// A directory of this process's own, removed (with its files) at exit.
const std::string &scratchDir();

/// Writes `bytes` to scratchDir()/name; aborts if it cannot (a harness bug,
/// not a finding).
std::string writeScratch(const std::string &name, const std::string &bytes);

/// `data` cut at its first `parts - 1` NUL bytes; missing parts are empty.
std::vector<std::string> splitInput(const uint8_t *data, size_t size,
                                    size_t parts);

/// Aborts with `what`: a harness invariant was broken (libFuzzer reports
/// the input as a crash).
[[noreturn]] inline void violated(const char *what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

} // namespace tfmc::fuzz

#endif // TFMC_TEST_FUZZ_FUZZSUPPORT_H
