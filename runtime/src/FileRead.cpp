//===- FileRead.cpp - the runtime's one way to read a file ----------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "FileRead.h"

#include "tfmc/limits.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace tfmc::rt;

bool tfmc::rt::readFile(const std::string &path, uint64_t maxBytes,
                        std::string &out, std::string &error) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // below like every other file that is not regular.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = path + ": not a regular file";
    return false;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > maxBytes) {
    ::close(fd);
    error = path + ": is " + std::to_string(size) + " bytes; the limit is " +
            std::to_string(maxBytes) + " (docs/limits.md)";
    return false;
  }
  out.resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out.data() + done, size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ::close(fd);
      error = path + ": read failed" +
              (n < 0 ? std::string(": ") + std::strerror(errno)
                     : std::string(" (the file shrank)"));
      return false;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return true;
}

bool tfmc::rt::parseJson(const std::string &path, const std::string &text,
                         nlohmann::json &doc, std::string &error) {
  size_t at = 0;
  if (!tfmc_json_depth_ok(text.data(), text.size(), TFMC_MAX_JSON_DEPTH, &at)) {
    error = path + ": JSON nested deeper than " +
            std::to_string(TFMC_MAX_JSON_DEPTH) + " levels (at byte " +
            std::to_string(at) + ")";
    return false;
  }
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error &e) {
    error = path + ": not valid JSON (at byte " + std::to_string(e.byte) + ")";
    return false;
  } catch (const nlohmann::json::exception &e) {
    // A value the parser cannot hold (out_of_range: a number too large).
    error = path + ": not valid JSON (" + e.what() + ")";
    return false;
  }
  return true;
}
