//===- FuzzSupport.cpp - shared pieces of the libFuzzer harnesses ---------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>

namespace tfmc::fuzz {

namespace {
std::string makeScratch() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/tfmc-fuzz-XXXXXX";
  if (!mkdtemp(pattern.data()))
    violated("cannot create a scratch directory");
  return pattern;
}

void removeScratch() {
  const std::string &dir = scratchDir();
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..")
        unlink((dir + "/" + name).c_str());
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}
} // namespace

const std::string &scratchDir() {
  // Never destroyed: removeScratch runs after static destructors.
  static const std::string *dir = [] {
    auto *d = new std::string(makeScratch());
    std::atexit(removeScratch);
    return d;
  }();
  return *dir;
}

std::string writeScratch(const std::string &name, const std::string &bytes) {
  std::string path = scratchDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush())
    violated("cannot write a scratch file");
  return path;
}

std::vector<std::string> splitInput(const uint8_t *data, size_t size,
                                    size_t parts) {
  std::vector<std::string> out;
  const char *p = reinterpret_cast<const char *>(data), *end = p + size;
  while (out.size() + 1 < parts) {
    const char *nul = p;
    while (nul != end && *nul != '\0')
      ++nul;
    out.emplace_back(p, nul);
    p = nul == end ? end : nul + 1;
  }
  out.emplace_back(p, end);
  return out;
}

} // namespace tfmc::fuzz
