//===- PipelineCache.h - the Vulkan pipeline cache on disk -------*- C++
//-*-===//
//
// Part of tfmc. A VkPipelineCache's data persists between processes, one
// file per (device, driver, kernels) in the user's cache directory:
//
//   $TFMC_VULKAN_PIPELINE_CACHE   a directory to use instead, or "0"/"off"
//                                 to neither read nor write a cache
//   $XDG_CACHE_HOME/tfmc/vulkan   otherwise, else ~/.cache/tfmc/vulkan
//
// The file name hashes the device's vendor, device id, driver version and
// pipelineCacheUUID with the checksum of kernels.spv, so another GPU, a
// driver update or a recompiled model never reads a stale cache; the data's
// own header is checked against the device again before it is handed to
// the driver. A cache that cannot be read or written is not an error (the
// pipelines are then built from SPIR-V as without one).
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUNTIME_VULKAN_PIPELINECACHE_H
#define TFMC_RUNTIME_VULKAN_PIPELINECACHE_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tfmc::rt::vk {

/// The cache file of kernels with checksum `kernels` on this device, or ""
/// when caching is off or there is no cache directory.
std::string pipelineCachePath(const VkPhysicalDeviceProperties &device,
                              uint64_t kernels);

/// The file's bytes when it exists and its header matches `device`; empty
/// otherwise.
std::vector<char> readPipelineCache(const std::string &path,
                                    const VkPhysicalDeviceProperties &device);

/// Writes `data` to `path` (creating its directory) through a temporary
/// file and a rename, so a concurrent reader never sees half a cache.
/// Returns false when it could not.
bool writePipelineCache(const std::string &path, const std::vector<char> &data);

} // namespace tfmc::rt::vk

#endif // TFMC_RUNTIME_VULKAN_PIPELINECACHE_H
