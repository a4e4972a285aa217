//===- PipelineCache.cpp - the Vulkan pipeline cache on disk --------------===//
//
// Part of tfmc. See PipelineCache.h.
//
//===----------------------------------------------------------------------===//

#include "PipelineCache.h"

#include "../FileRead.h"
#include "tfmc/checksum.h"
#include "tfmc/limits.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include <sys/stat.h>
#include <unistd.h>

using namespace tfmc::rt;

namespace {

std::string cacheDirectory() {
  if (const char *dir = std::getenv("TFMC_VULKAN_PIPELINE_CACHE")) {
    std::string d = dir;
    if (d == "0" || d == "off")
      return "";
    if (!d.empty())
      return d;
  }
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
    return std::string(xdg) + "/tfmc/vulkan";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/tfmc/vulkan";
  return "";
}

/// mkdir -p; true when `dir` exists afterwards.
bool makeDirs(const std::string &dir) {
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at != dir.size() && dir[at] != '/')
      continue;
    std::string prefix = dir.substr(0, at);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return false;
  }
  struct stat st;
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace

std::string vk::pipelineCachePath(const VkPhysicalDeviceProperties &device,
                                  uint64_t kernels) {
  std::string dir = cacheDirectory();
  if (dir.empty())
    return "";
  struct Key {
    uint32_t vendor, deviceId, driver, pad;
    uint8_t uuid[VK_UUID_SIZE];
    uint64_t kernels;
  } key{device.vendorID, device.deviceID, device.driverVersion, 0, {}, kernels};
  std::memcpy(key.uuid, device.pipelineCacheUUID, VK_UUID_SIZE);
  char name[32];
  std::snprintf(
      name, sizeof name, "%016llx.bin",
      static_cast<unsigned long long>(tfmc_checksum(&key, sizeof key)));
  return dir + "/" + name;
}

std::vector<char>
vk::readPipelineCache(const std::string &path,
                      const VkPhysicalDeviceProperties &device) {
  std::string text, error;
  if (!readFile(path, TFMC_MAX_DATA_FILE_BYTES, text, error))
    return {}; // no cache yet (or not one to trust): compile afresh
  std::vector<char> data(text.begin(), text.end());
  // VkPipelineCacheHeaderVersionOne: length, version, vendor, device, UUID.
  VkPipelineCacheHeaderVersionOne header;
  if (data.size() < sizeof header)
    return {};
  std::memcpy(&header, data.data(), sizeof header);
  if (header.headerSize < sizeof header || header.headerSize > data.size() ||
      header.headerVersion != VK_PIPELINE_CACHE_HEADER_VERSION_ONE ||
      header.vendorID != device.vendorID ||
      header.deviceID != device.deviceID ||
      std::memcmp(header.pipelineCacheUUID, device.pipelineCacheUUID,
                  VK_UUID_SIZE) != 0)
    return {};
  return data;
}

bool vk::writePipelineCache(const std::string &path,
                            const std::vector<char> &data) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || !makeDirs(path.substr(0, slash)))
    return false;
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return false;
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}
