//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// Part of tfmc. The header is a Python dict literal; this parser accepts
// exactly the subset NumPy writes: string keys, string/bool/tuple values.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include "../../src/FileRead.h"
#include "tfmc/limits.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <unistd.h>

namespace tfmc {
namespace {

/// A cursor over the header dict.
struct HeaderParser {
  const std::string &s;
  size_t pos = 0;
  std::string error;

  void skipSpace() {
    while (pos < s.size() &&
           (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\t'))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool expect(char c) {
    if (consume(c))
      return true;
    error = std::string("expected '") + c + "' at header offset " +
            std::to_string(pos);
    return false;
  }
  bool string(std::string &out) {
    skipSpace();
    if (pos >= s.size() || (s[pos] != '\'' && s[pos] != '"')) {
      error = "expected a string at header offset " + std::to_string(pos);
      return false;
    }
    char quote = s[pos++];
    size_t end = s.find(quote, pos);
    if (end == std::string::npos) {
      error = "unterminated string in header";
      return false;
    }
    out = s.substr(pos, end - pos);
    pos = end + 1;
    return true;
  }
  bool word(const char *w) {
    skipSpace();
    size_t n = std::strlen(w);
    if (s.compare(pos, n, w) == 0) {
      pos += n;
      return true;
    }
    return false;
  }
  bool tuple(std::vector<int64_t> &out) {
    if (!expect('('))
      return false;
    while (!consume(')')) {
      skipSpace();
      size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
        ++pos;
      // NumPy may write Python ints with an L suffix (Python 2 files).
      if (pos == start || pos - start > 15) {
        error = "bad dimension in 'shape' at header offset " +
                std::to_string(start);
        return false;
      }
      out.push_back(std::stoll(s.substr(start, pos - start)));
      if (pos < s.size() && s[pos] == 'L')
        ++pos;
      if (!consume(',') && !(skipSpace(), pos < s.size() && s[pos] == ')')) {
        error = "expected ',' or ')' in 'shape'";
        return false;
      }
    }
    return true;
  }
};

/// numpy's descriptors of the runtime's element types. numpy has no
/// bfloat16: such tensors are read and written as their 16-bit patterns
/// ('<u2', the upper half of the float32).
static const std::pair<const char *, tfmc_dtype> kDescrs[] = {
    {"<f4", TFMC_DTYPE_FLOAT32},  {"<i8", TFMC_DTYPE_INT64},
    {"<i4", TFMC_DTYPE_INT32},    {"<f2", TFMC_DTYPE_FLOAT16},
    {"<u2", TFMC_DTYPE_BFLOAT16}, {"|i1", TFMC_DTYPE_INT8},
    {"|b1", TFMC_DTYPE_BOOL}};

bool dtypeFromDescr(const std::string &descr, tfmc_dtype &out,
                    std::string &why) {
  for (auto [d, t] : kDescrs)
    if (descr == d) {
      out = t;
      return true;
    }
  if (!descr.empty() && descr[0] == '>')
    why = "dtype '" + descr +
          "' is big-endian; only little-endian files "
          "are read (numpy: a.astype(a.dtype.newbyteorder('<')))";
  else
    why = "dtype '" + descr +
          "' is not supported; use float32 ('<f4'), "
          "int64 ('<i8') or int32 ('<i4'), or for models with such inputs "
          "float16 ('<f2'), int8 ('|i1'), bool ('|b1') or bfloat16 as its "
          "bits ('<u2')";
  return false;
}

const char *descrOf(tfmc_dtype dtype) {
  for (auto [d, t] : kDescrs)
    if (t == dtype)
      return d;
  return "?";
}
} // namespace

bool parseNpy(const std::string &path, const std::string &bytes, NpyArray &out,
              std::string &error) {
  auto bad = [&](const std::string &why) {
    error = path + ": " + why;
    return false;
  };
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0)
    return bad("not a NumPy .npy file (bad magic)");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen, start;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) |
                static_cast<unsigned char>(bytes[9]) << 8;
    start = 10;
  } else if (major == 2) {
    if (bytes.size() < 12)
      return bad("truncated .npy header");
    headerLen = 0;
    for (int i = 3; i >= 0; --i)
      headerLen = headerLen << 8 | static_cast<unsigned char>(bytes[8 + i]);
    start = 12;
  } else {
    return bad(".npy format version " + std::to_string(major) + "." +
               std::to_string(static_cast<unsigned char>(bytes[7])) +
               " is not supported (versions 1.0 and 2.0 are)");
  }
  if (bytes.size() < start + headerLen)
    return bad("truncated .npy header");
  std::string header = bytes.substr(start, headerLen);

  HeaderParser p{header, 0, {}};
  std::map<std::string, bool> seen;
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  if (!p.expect('{'))
    return bad("malformed .npy header: " + p.error);
  while (!p.consume('}')) {
    std::string key;
    if (!p.string(key) || !p.expect(':'))
      return bad("malformed .npy header: " + p.error);
    seen[key] = true;
    if (key == "descr") {
      if (!p.string(descr))
        return bad("malformed .npy header: " + p.error);
    } else if (key == "fortran_order") {
      if (p.word("True"))
        fortran = true;
      else if (!p.word("False"))
        return bad("malformed .npy header: 'fortran_order' is not a bool");
    } else if (key == "shape") {
      if (!p.tuple(shape))
        return bad("malformed .npy header: " + p.error);
    } else {
      return bad("malformed .npy header: unknown key '" + key + "'");
    }
    if (!p.consume(',') &&
        !(p.skipSpace(), p.pos < header.size() && header[p.pos] == '}'))
      return bad("malformed .npy header: expected ',' or '}'");
  }
  for (const char *k : {"descr", "fortran_order", "shape"})
    if (!seen.count(k))
      return bad(std::string("malformed .npy header: missing '") + k + "'");
  if (fortran)
    return bad("Fortran-ordered arrays are not supported; save a C-ordered "
               "array (numpy.ascontiguousarray)");
  std::string why;
  if (!dtypeFromDescr(descr, out.dtype, why))
    return bad(why);
  if (shape.size() > TFMC_MAX_RANK)
    return bad("rank " + std::to_string(shape.size()) + " exceeds " +
               std::to_string(TFMC_MAX_RANK));
  out.shape = shape;
  // The byte count, checked: a shape of huge dimensions must not wrap
  // around to a size the file happens to have.
  auto shapeText = [&] {
    std::string t = "(";
    for (size_t i = 0; i < shape.size(); ++i)
      t += (i ? ", " : "") + std::to_string(shape[i]);
    return t + ")";
  };
  uint64_t need = tfmc_dtype_size(out.dtype);
  for (int64_t d : shape)
    if (d < 0 ||
        (d > 0 && need > TFMC_MAX_DATA_FILE_BYTES / static_cast<uint64_t>(d)))
      return bad("shape " + shapeText() + " of " + descr +
                 " holds more than the " +
                 std::to_string(TFMC_MAX_DATA_FILE_BYTES) +
                 " bytes an input may have (docs/limits.md)");
    else
      need *= static_cast<uint64_t>(d);
  size_t have = bytes.size() - start - headerLen;
  if (have < need)
    return bad("truncated: the header promises " + std::to_string(need) +
               " data bytes, the file has " + std::to_string(have));
  if (have > need)
    return bad("has " + std::to_string(have - need) +
               " bytes after the array data");
  out.data.assign(bytes.begin() + start + headerLen, bytes.end());
  return true;
}

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::string bytes;
  if (!tfmc::rt::readFile(path, TFMC_MAX_DATA_FILE_BYTES, bytes, error))
    return false;
  return parseNpy(path, bytes, out, error);
}

std::string formatNpy(tfmc_dtype dtype, const std::vector<int64_t> &shape,
                      const void *data, size_t bytes) {
  std::string dict = std::string("{'descr': '") + descrOf(dtype) +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += std::to_string(shape[i]) +
            (shape.size() == 1 || i + 1 < shape.size() ? "," : "") +
            (i + 1 < shape.size() ? " " : "");
  dict += "), }";
  // Pad with spaces so the data starts 64-byte aligned; newline last.
  bool v2 = dict.size() + 11 > 65535;
  size_t preamble = v2 ? 12 : 10;
  size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - preamble - dict.size() - 1, ' ');
  dict += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  size_t len = dict.size();
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i)
    out += static_cast<char>((len >> (8 * i)) & 0xff);
  out += dict;
  out.append(static_cast<const char *>(data), bytes);
  return out;
}

bool writeNpy(const std::string &path, tfmc_dtype dtype,
              const std::vector<int64_t> &shape, const void *data, size_t bytes,
              std::string &error) {
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
    if (!os) {
      error = path + ": cannot write: " + std::strerror(errno);
      return false;
    }
    std::string blob = formatNpy(dtype, shape, data, bytes);
    os.write(blob.data(), static_cast<std::streamsize>(blob.size()));
    os.close();
    if (!os) {
      std::remove(tmp.c_str());
      error = path + ": write failed (disk full?)";
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": cannot write: " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

} // namespace tfmc

bool tfmc::makeDirs(const std::string &dir, std::string &error) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        error = cur + ": cannot create directory: " + std::strerror(errno);
        return false;
      }
    }
    if (i < dir.size())
      cur += dir[i];
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = dir + ": not a directory";
    return false;
  }
  return true;
}
