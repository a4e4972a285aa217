//===- Vulkan.cpp - device, model upload, sessions, runs ------------------===//
//
// Part of tfmc. See Vulkan.h. Environment:
//   TFMC_VULKAN_DEVICE      index or (part of the) name of the device to use
//   TFMC_VULKAN_PIPELINE_CACHE  where pipeline caches persist, or 0/off
//                           (PipelineCache.h)
//   TFMC_VULKAN_VALIDATION  1 (or "sync"): enable VK_LAYER_KHRONOS_validation
//                           with synchronization validation; "core": the
//                           layer without synchronization validation (it
//                           re-validates every submitted command buffer and
//                           is slow for token-by-token generation). Every
//                           message is printed to stderr prefixed "tfmc:
//                           vulkan validation:" (the tests require none)
//   TFMC_VULKAN_FAULT       fault injection for tests: "alloc:N" makes the
//                           N-th device memory allocation of each opened
//                           model fail (out of device memory), "submit:N"
//                           the N-th queue submission (device lost); both
//                           may be given, comma-separated
//
//===----------------------------------------------------------------------===//

#define VK_NO_PROTOTYPES
#include "Vulkan.h"
#include "PipelineCache.h"

#include "../FileRead.h"
#include "../Internal.h"
#include "tfmc/checksum.h"
#include "tfmc/limits.h"

#include <vulkan/vulkan.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>

#include <dlfcn.h>

using namespace tfmc::rt;
using namespace tfmc::rt::vk;

namespace tfmc::rt::vk {

#define TFMC_VK_INSTANCE_FNS(X)                                                \
  X(vkDestroyInstance)                                                         \
  X(vkEnumeratePhysicalDevices)                                                \
  X(vkGetPhysicalDeviceProperties)                                             \
  X(vkGetPhysicalDeviceFeatures2)                                              \
  X(vkGetPhysicalDeviceQueueFamilyProperties)                                  \
  X(vkGetPhysicalDeviceMemoryProperties)                                       \
  X(vkCreateDevice)                                                            \
  X(vkGetDeviceProcAddr)

#define TFMC_VK_DEVICE_FNS(X)                                                  \
  X(vkDestroyDevice)                                                           \
  X(vkGetDeviceQueue)                                                          \
  X(vkCreateBuffer)                                                            \
  X(vkDestroyBuffer)                                                           \
  X(vkGetBufferMemoryRequirements)                                             \
  X(vkAllocateMemory)                                                          \
  X(vkFreeMemory)                                                              \
  X(vkBindBufferMemory)                                                        \
  X(vkMapMemory)                                                               \
  X(vkUnmapMemory)                                                             \
  X(vkCreateShaderModule)                                                      \
  X(vkDestroyShaderModule)                                                     \
  X(vkCreateDescriptorSetLayout)                                               \
  X(vkDestroyDescriptorSetLayout)                                              \
  X(vkCreatePipelineLayout)                                                    \
  X(vkDestroyPipelineLayout)                                                   \
  X(vkCreatePipelineCache)                                                     \
  X(vkDestroyPipelineCache)                                                    \
  X(vkGetPipelineCacheData)                                                    \
  X(vkCreateComputePipelines)                                                  \
  X(vkDestroyPipeline)                                                         \
  X(vkCreateDescriptorPool)                                                    \
  X(vkDestroyDescriptorPool)                                                   \
  X(vkAllocateDescriptorSets)                                                  \
  X(vkUpdateDescriptorSets)                                                    \
  X(vkCreateCommandPool)                                                       \
  X(vkDestroyCommandPool)                                                      \
  X(vkAllocateCommandBuffers)                                                  \
  X(vkFreeCommandBuffers)                                                      \
  X(vkBeginCommandBuffer)                                                      \
  X(vkEndCommandBuffer)                                                        \
  X(vkResetCommandBuffer)                                                      \
  X(vkCmdBindPipeline)                                                         \
  X(vkCmdBindDescriptorSets)                                                   \
  X(vkCmdPushConstants)                                                        \
  X(vkCmdDispatchIndirect)                                                     \
  X(vkCmdPipelineBarrier)                                                      \
  X(vkCmdCopyBuffer)                                                           \
  X(vkCmdFillBuffer)                                                           \
  X(vkCmdResetQueryPool)                                                       \
  X(vkCmdWriteTimestamp)                                                       \
  X(vkCreateFence)                                                             \
  X(vkDestroyFence)                                                            \
  X(vkWaitForFences)                                                           \
  X(vkResetFences)                                                             \
  X(vkQueueSubmit)                                                             \
  X(vkDeviceWaitIdle)                                                          \
  X(vkCreateQueryPool)                                                         \
  X(vkDestroyQueryPool)                                                        \
  X(vkGetQueryPoolResults)

/// A buffer and its memory; host-visible ones stay mapped.
struct Buffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  void *mapped = nullptr;
};

class Context {
public:
  ~Context();
  void *loader = nullptr;
  PFN_vkGetInstanceProcAddr getInstanceProcAddr = nullptr;
#define TFMC_DECLARE(name) PFN_##name name = nullptr;
  TFMC_VK_INSTANCE_FNS(TFMC_DECLARE)
  TFMC_VK_DEVICE_FNS(TFMC_DECLARE)
#undef TFMC_DECLARE
  PFN_vkDestroyDebugUtilsMessengerEXT destroyMessenger = nullptr;
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceMemoryProperties memory{};
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queueFamily = 0;
  bool timestamps = false;
  VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
  VkPipelineLayout pipelineLayout = VK_NULL_HANDLE;
  VkPipelineCache cache = VK_NULL_HANDLE;
  std::vector<VkPipeline> pipelines;
  std::vector<std::string> kernelNames;
  /// How the pipelines were made ready (tfmc_model_pipeline_stats).
  tfmc_pipeline_stats stats{};
  std::string cachePath;
  size_t cacheReadBytes = 0; ///< of the cache file read at open
  VkCommandPool pool = VK_NULL_HANDLE;
  Buffer weights;
  /// TFMC_VULKAN_FAULT: which allocation / submission fails (0: none), and
  /// how many there were.
  int64_t allocFault = 0, submitFault = 0, allocs = 0, submits = 0;
  bool injected = false; ///< the result check() sees was injected
  /// A submission reported the device lost: nothing runs on it any more.
  bool lost = false;

  /// Fails with a message naming `what` for a non-success result.
  tfmc_status check(VkResult r, const std::string &what);
  /// vkAllocateMemory and vkQueueSubmit, through the fault injection.
  VkResult allocate(const VkMemoryAllocateInfo &info, VkDeviceMemory &out);
  VkResult submit(const VkSubmitInfo &info, VkFence fence);
  /// TFMC_ERROR_DEVICE once the device was lost.
  tfmc_status usable();
  tfmc_status createBuffer(VkDeviceSize size, VkBufferUsageFlags usage,
                           bool hostVisible, Buffer &out);
  void destroy(Buffer &b);
  /// Runs `record` in a one-off command buffer and waits.
  template <typename F> tfmc_status oneShot(F record);
};

class StateBlock {
public:
  StateBlock(std::shared_ptr<Context> ctx) : ctx(std::move(ctx)) {}
  ~StateBlock() { ctx->destroy(buffer); }
  std::shared_ptr<Context> ctx;
  Buffer buffer;
};

class SessionState {
public:
  ~SessionState();
  std::shared_ptr<Context> ctx;
  std::shared_ptr<StateBlock> state;
  Buffer arena, scalars, indirect, upload, readback;
  VkDescriptorPool descriptorPool = VK_NULL_HANDLE;
  VkDescriptorSet set = VK_NULL_HANDLE;
  VkCommandBuffer commands = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  VkQueryPool queries = VK_NULL_HANDLE;
  bool recorded = false, profiling = false, profiled = false;
  std::vector<double> times; ///< microseconds per dispatch of the last run
  /// Host staging offsets of the arena inputs and outputs.
  std::vector<VkDeviceSize> uploadAt, readbackAt;
};

} // namespace tfmc::rt::vk

//===----------------------------------------------------------------------===//
// Context
//===----------------------------------------------------------------------===//

static std::string resultName(VkResult r) {
  switch (r) {
  case VK_ERROR_OUT_OF_HOST_MEMORY:
    return "out of host memory";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    return "out of device memory";
  case VK_ERROR_DEVICE_LOST:
    return "the device was lost";
  case VK_ERROR_INITIALIZATION_FAILED:
    return "initialization failed";
  case VK_ERROR_LAYER_NOT_PRESENT:
    return "a requested layer is not installed";
  case VK_ERROR_EXTENSION_NOT_PRESENT:
    return "a requested extension is not present";
  case VK_ERROR_INCOMPATIBLE_DRIVER:
    return "no compatible Vulkan driver is installed (without a GPU, install "
           "Mesa's lavapipe: mesa-vulkan-drivers)";
  case VK_TIMEOUT:
    return "timed out";
  default:
    return "VkResult " + std::to_string(static_cast<int>(r));
  }
}

tfmc_status Context::check(VkResult r, const std::string &what) {
  if (r == VK_SUCCESS)
    return TFMC_OK;
  tfmc_status s =
      r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY
          ? TFMC_ERROR_OUT_OF_MEMORY
          : TFMC_ERROR_DEVICE;
  lost |= r == VK_ERROR_DEVICE_LOST;
  std::string note = injected ? " (injected by TFMC_VULKAN_FAULT)" : "";
  injected = false;
  return fail(s, "vulkan: " + what + ": " + resultName(r) + note +
                     (properties.deviceName[0] ? std::string(" (device ") +
                                                     properties.deviceName + ")"
                                               : std::string()));
}

VkResult Context::allocate(const VkMemoryAllocateInfo &info,
                           VkDeviceMemory &out) {
  if (++allocs == allocFault) {
    injected = true;
    return VK_ERROR_OUT_OF_DEVICE_MEMORY;
  }
  return vkAllocateMemory(device, &info, nullptr, &out);
}

VkResult Context::submit(const VkSubmitInfo &info, VkFence fence) {
  if (++submits == submitFault) {
    injected = true;
    return VK_ERROR_DEVICE_LOST;
  }
  return vkQueueSubmit(queue, 1, &info, fence);
}

tfmc_status Context::usable() {
  if (!lost)
    return TFMC_OK;
  return fail(TFMC_ERROR_DEVICE, "vulkan: the device was lost earlier "
                                 "(close the model and open it again)");
}

/// Reads TFMC_VULKAN_FAULT ("alloc:N", "submit:N", comma-separated).
static tfmc_status readFaults(Context &c) {
  const char *v = std::getenv("TFMC_VULKAN_FAULT");
  if (!v || !*v)
    return TFMC_OK;
  std::string spec = v;
  for (size_t at = 0; at <= spec.size();) {
    size_t end = std::min(spec.find(',', at), spec.size());
    std::string item = spec.substr(at, end - at);
    size_t colon = item.find(':');
    std::string kind = item.substr(0, colon), count;
    if (colon != std::string::npos)
      count = item.substr(colon + 1);
    int64_t n = 0;
    bool digits = !count.empty() && count.size() <= 12 &&
                  count.find_first_not_of("0123456789") == std::string::npos;
    if (digits)
      n = std::stoll(count);
    if (!digits || n < 1 || (kind != "alloc" && kind != "submit"))
      return fail(TFMC_ERROR_INVALID_ARGUMENT,
                  "TFMC_VULKAN_FAULT: expected alloc:N and/or submit:N "
                  "(N >= 1), got '" +
                      spec + "'");
    (kind == "alloc" ? c.allocFault : c.submitFault) = n;
    at = end + 1;
  }
  return TFMC_OK;
}

tfmc_status Context::createBuffer(VkDeviceSize size, VkBufferUsageFlags usage,
                                  bool hostVisible, Buffer &out) {
  out.size = std::max<VkDeviceSize>(size, 256);
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = out.size;
  info.usage = usage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  if (tfmc_status s =
          check(vkCreateBuffer(device, &info, nullptr, &out.buffer),
                "creating a buffer of " + std::to_string(size) + " bytes"))
    return s;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device, out.buffer, &req);
  VkMemoryPropertyFlags want = hostVisible
                                   ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                         VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                   : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  int type = -1;
  for (uint32_t i = 0; i < memory.memoryTypeCount && type < 0; ++i)
    if ((req.memoryTypeBits & (1u << i)) &&
        (memory.memoryTypes[i].propertyFlags & want) == want)
      type = i;
  if (type < 0)
    return fail(TFMC_ERROR_DEVICE,
                "vulkan: no suitable memory type for a buffer");
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = type;
  if (tfmc_status s =
          check(allocate(alloc, out.memory),
                "allocating " + std::to_string(req.size) + " bytes"))
    return s;
  if (tfmc_status s =
          check(vkBindBufferMemory(device, out.buffer, out.memory, 0),
                "binding buffer memory"))
    return s;
  if (hostVisible)
    return check(
        vkMapMemory(device, out.memory, 0, VK_WHOLE_SIZE, 0, &out.mapped),
        "mapping memory");
  return TFMC_OK;
}

void Context::destroy(Buffer &b) {
  if (b.buffer)
    vkDestroyBuffer(device, b.buffer, nullptr);
  if (b.memory)
    vkFreeMemory(device, b.memory, nullptr);
  b = Buffer();
}

template <typename F> tfmc_status Context::oneShot(F record) {
  VkCommandBufferAllocateInfo ai{
      VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb;
  if (tfmc_status s = check(vkAllocateCommandBuffers(device, &ai, &cb),
                            "allocating a command buffer"))
    return s;
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vkBeginCommandBuffer(cb, &bi);
  record(cb);
  vkEndCommandBuffer(cb);
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence;
  tfmc_status s =
      check(vkCreateFence(device, &fi, nullptr, &fence), "creating a fence");
  if (s == TFMC_OK) {
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    s = check(submit(si, fence), "submitting");
    if (s == TFMC_OK)
      s = check(vkWaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX),
                "waiting for the device");
    vkDestroyFence(device, fence, nullptr);
  }
  vkFreeCommandBuffers(device, pool, 1, &cb);
  return s;
}

Context::~Context() {
  if (device) {
    vkDeviceWaitIdle(device);
    for (VkPipeline p : pipelines)
      vkDestroyPipeline(device, p, nullptr);
    if (cache)
      vkDestroyPipelineCache(device, cache, nullptr);
    if (pipelineLayout)
      vkDestroyPipelineLayout(device, pipelineLayout, nullptr);
    if (setLayout)
      vkDestroyDescriptorSetLayout(device, setLayout, nullptr);
    destroy(weights);
    if (pool)
      vkDestroyCommandPool(device, pool, nullptr);
    vkDestroyDevice(device, nullptr);
  }
  if (messenger && destroyMessenger)
    destroyMessenger(instance, messenger, nullptr);
  if (instance)
    vkDestroyInstance(instance, nullptr);
  if (loader)
    dlclose(loader);
}

void ContextDeleter::operator()(Context *c) const { delete c; }

//===----------------------------------------------------------------------===//
// Opening
//===----------------------------------------------------------------------===//

static VKAPI_ATTR VkBool32 VKAPI_CALL
validationMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                  VkDebugUtilsMessageTypeFlagsEXT,
                  const VkDebugUtilsMessengerCallbackDataEXT *data, void *) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
    std::fprintf(stderr, "tfmc: vulkan validation: %s\n", data->pMessage);
  return VK_FALSE;
}

static bool envEnabled(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

static tfmc_status createInstance(Context &c) {
  c.loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!c.loader)
    return fail(TFMC_ERROR_DEVICE,
                "vulkan: cannot load the Vulkan loader libvulkan.so.1 "
                "(install libvulkan1 and a driver, e.g. mesa-vulkan-drivers)");
  c.getInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(
      dlsym(c.loader, "vkGetInstanceProcAddr"));
  auto createInstanceFn = reinterpret_cast<PFN_vkCreateInstance>(
      c.getInstanceProcAddr(nullptr, "vkCreateInstance"));
  if (!createInstanceFn)
    return fail(TFMC_ERROR_DEVICE, "vulkan: the loader lacks vkCreateInstance");
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "tfmc";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  bool validate = envEnabled("TFMC_VULKAN_VALIDATION");
  bool syncValidation =
      validate && std::string(std::getenv("TFMC_VULKAN_VALIDATION")) != "core";
  const char *layer = "VK_LAYER_KHRONOS_validation";
  const char *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  VkValidationFeatureEnableEXT enables[] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = syncValidation ? 1 : 0;
  features.pEnabledValidationFeatures = enables;
  VkDebugUtilsMessengerCreateInfoEXT messenger{
      VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  messenger.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                              VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  messenger.pfnUserCallback = validationMessage;
  if (validate) {
    info.enabledLayerCount = 1;
    info.ppEnabledLayerNames = &layer;
    info.enabledExtensionCount = 1;
    info.ppEnabledExtensionNames = &ext;
    features.pNext = &messenger;
    info.pNext = &features;
  }
  if (tfmc_status s = c.check(createInstanceFn(&info, nullptr, &c.instance),
                              validate ? "creating an instance with "
                                         "VK_LAYER_KHRONOS_validation"
                                       : "creating an instance"))
    return s;
#define TFMC_LOAD(name)                                                        \
  c.name =                                                                     \
      reinterpret_cast<PFN_##name>(c.getInstanceProcAddr(c.instance, #name));  \
  if (!c.name)                                                                 \
    return fail(TFMC_ERROR_DEVICE, "vulkan: the loader lacks " #name);
  TFMC_VK_INSTANCE_FNS(TFMC_LOAD)
#undef TFMC_LOAD
  if (validate) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        c.getInstanceProcAddr(c.instance, "vkCreateDebugUtilsMessengerEXT"));
    c.destroyMessenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        c.getInstanceProcAddr(c.instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (create)
      create(c.instance, &messenger, nullptr, &c.messenger);
  }
  return TFMC_OK;
}

/// Picks the device: $TFMC_VULKAN_DEVICE (index or name), else a discrete
/// GPU, an integrated one, anything else, in that order.
static tfmc_status pickDevice(Context &c) {
  uint32_t n = 0;
  c.vkEnumeratePhysicalDevices(c.instance, &n, nullptr);
  std::vector<VkPhysicalDevice> devices(n);
  if (n)
    c.vkEnumeratePhysicalDevices(c.instance, &n, devices.data());
  if (devices.empty())
    return fail(TFMC_ERROR_DEVICE,
                "vulkan: no Vulkan device found (on a machine without a GPU, "
                "install Mesa's lavapipe: mesa-vulkan-drivers)");
  std::string names;
  std::vector<VkPhysicalDeviceProperties> props(n);
  for (uint32_t i = 0; i < n; ++i) {
    c.vkGetPhysicalDeviceProperties(devices[i], &props[i]);
    names += (names.empty() ? "" : ", ") + std::to_string(i) + ": " +
             props[i].deviceName;
  }
  int chosen = -1;
  if (const char *want = std::getenv("TFMC_VULKAN_DEVICE"); want && *want) {
    std::string w = want;
    char *end = nullptr;
    long index = std::strtol(want, &end, 10);
    if (*end == '\0' && index >= 0 && index < long(n))
      chosen = index;
    for (uint32_t i = 0; chosen < 0 && i < n; ++i)
      if (std::string(props[i].deviceName).find(w) != std::string::npos)
        chosen = i;
    if (chosen < 0)
      return fail(TFMC_ERROR_DEVICE, "vulkan: no device matches '" + w +
                                         "' (TFMC_VULKAN_DEVICE / --device); "
                                         "devices: " +
                                         names);
  } else {
    auto rank = [](VkPhysicalDeviceType t) {
      switch (t) {
      case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        return 0;
      case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        return 1;
      case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
        return 2;
      default:
        return 3;
      }
    };
    for (uint32_t i = 0; i < n; ++i)
      if (chosen < 0 ||
          rank(props[i].deviceType) < rank(props[chosen].deviceType))
        chosen = i;
  }
  c.physical = devices[chosen];
  c.properties = props[chosen];
  c.vkGetPhysicalDeviceMemoryProperties(c.physical, &c.memory);
  uint32_t qn = 0;
  c.vkGetPhysicalDeviceQueueFamilyProperties(c.physical, &qn, nullptr);
  std::vector<VkQueueFamilyProperties> families(qn);
  c.vkGetPhysicalDeviceQueueFamilyProperties(c.physical, &qn, families.data());
  int family = -1;
  for (uint32_t i = 0; i < qn && family < 0; ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
      family = i;
  if (family < 0)
    return fail(TFMC_ERROR_DEVICE, std::string("vulkan: device ") +
                                       c.properties.deviceName +
                                       " has no compute queue");
  c.queueFamily = family;
  c.timestamps = families[family].timestampValidBits > 0 &&
                 c.properties.limits.timestampPeriod > 0;
  return TFMC_OK;
}

/// Creates the device with the features the kernels use: 16-bit (f16/bf16
/// activations) and 8-bit (int8/bool) storage buffers.
static tfmc_status createDevice(Context &c,
                                const std::vector<std::string> &features) {
  float priority = 1.0f;
  VkDeviceQueueCreateInfo q{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  q.queueFamilyIndex = c.queueFamily;
  q.queueCount = 1;
  q.pQueuePriorities = &priority;
  VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &q;
  bool want16 = false, want8 = false;
  for (const std::string &f : features) {
    want16 |= f == "storage16";
    want8 |= f == "storage8";
  }
  VkPhysicalDeviceVulkan11Features have11{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features have12{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  have11.pNext = &have12;
  VkPhysicalDeviceFeatures2 have{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  have.pNext = &have11;
  VkPhysicalDeviceVulkan11Features use11{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features use12{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceFeatures2 use{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  if (want16 || want8) {
    c.vkGetPhysicalDeviceFeatures2(c.physical, &have);
    if (want16 &&
        !(have11.storageBuffer16BitAccess && have.features.shaderInt16))
      return fail(TFMC_ERROR_DEVICE,
                  std::string("vulkan: the kernels keep 16-bit tensors, but "
                              "device ") +
                      c.properties.deviceName +
                      " lacks 16-bit storage buffers or shaderInt16");
    if (want8 && !(have12.storageBuffer8BitAccess && have12.shaderInt8))
      return fail(TFMC_ERROR_DEVICE,
                  std::string("vulkan: the kernels keep 8-bit tensors, but "
                              "device ") +
                      c.properties.deviceName +
                      " lacks 8-bit storage buffers or shaderInt8");
    use11.storageBuffer16BitAccess = want16;
    use.features.shaderInt16 = want16;
    use12.storageBuffer8BitAccess = want8;
    use12.shaderInt8 = want8;
    use11.pNext = &use12;
    use.pNext = &use11;
    info.pNext = &use;
  }
  if (tfmc_status s =
          c.check(c.vkCreateDevice(c.physical, &info, nullptr, &c.device),
                  "creating the device"))
    return s;
#define TFMC_LOAD(name)                                                        \
  c.name =                                                                     \
      reinterpret_cast<PFN_##name>(c.vkGetDeviceProcAddr(c.device, #name));    \
  if (!c.name)                                                                 \
    return fail(TFMC_ERROR_DEVICE, "vulkan: the driver lacks " #name);
  TFMC_VK_DEVICE_FNS(TFMC_LOAD)
#undef TFMC_LOAD
  c.vkGetDeviceQueue(c.device, c.queueFamily, 0, &c.queue);
  VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool.queueFamilyIndex = c.queueFamily;
  return c.check(c.vkCreateCommandPool(c.device, &pool, nullptr, &c.pool),
                 "creating a command pool");
}

/// The descriptor set every kernel uses: 0 scalars, 1 arena, 2 weights,
/// 3 state; operand offsets come as push constants.
static tfmc_status createLayouts(Context &c, int64_t pushWords) {
  VkDescriptorSetLayoutBinding bindings[4];
  for (uint32_t i = 0; i < 4; ++i) {
    bindings[i] = {};
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set{
      VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set.bindingCount = 4;
  set.pBindings = bindings;
  if (tfmc_status s = c.check(
          c.vkCreateDescriptorSetLayout(c.device, &set, nullptr, &c.setLayout),
          "creating the descriptor set layout"))
    return s;
  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           static_cast<uint32_t>(pushWords * 4)};
  VkPipelineLayoutCreateInfo layout{
      VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout.setLayoutCount = 1;
  layout.pSetLayouts = &c.setLayout;
  layout.pushConstantRangeCount = 1;
  layout.pPushConstantRanges = &push;
  return c.check(
      c.vkCreatePipelineLayout(c.device, &layout, nullptr, &c.pipelineLayout),
      "creating the pipeline layout");
}

static tfmc_status createPipelines(Context &c, const Manifest &m,
                                   const std::string &path,
                                   const std::string &manifestPath) {
  std::string text, error;
  if (!readFile(path, TFMC_MAX_DATA_FILE_BYTES, text, error))
    return fail(TFMC_ERROR_IO, error);
  std::vector<char> bytes(text.begin(), text.end());
  // The pipeline cache of these kernels on this device, from an earlier
  // process (PipelineCache.h).
  c.cachePath =
      pipelineCachePath(c.properties, tfmc_checksum(bytes.data(), bytes.size()));
  std::vector<char> cached =
      c.cachePath.empty() ? std::vector<char>()
                          : readPipelineCache(c.cachePath, c.properties);
  c.stats.cache_path = c.cachePath.c_str();
  c.cacheReadBytes = cached.size();
  c.stats.cache = c.cachePath.empty() ? TFMC_PIPELINE_CACHE_OFF
                  : cached.empty()    ? TFMC_PIPELINE_CACHE_MISS
                                      : TFMC_PIPELINE_CACHE_HIT;
  VkPipelineCacheCreateInfo cache{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  cache.initialDataSize = cached.size();
  cache.pInitialData = cached.empty() ? nullptr : cached.data();
  if (tfmc_status s =
          c.check(c.vkCreatePipelineCache(c.device, &cache, nullptr, &c.cache),
                  "creating the pipeline cache"))
    return s;
  auto start = std::chrono::steady_clock::now();
  for (const VulkanKernel &k : m.kernels)
    if (static_cast<uint64_t>(k.offset) + k.words * 4 > bytes.size())
      return fail(TFMC_ERROR_FORMAT, path + ": kernel '" + k.name +
                                         "' lies past the end of the file "
                                         "(truncated?)");
  // Trailer: the signature of each entry's code (manifest order), their
  // count and a magic.
  uint64_t count = 0;
  size_t n = bytes.size();
  if (n < 16 || std::memcmp(bytes.data() + n - 8, "TFMCSPV2", 8) != 0 ||
      (std::memcpy(&count, bytes.data() + n - 16, 8),
       count != m.entries.size()) ||
      n < 16 + 8 * count)
    return fail(TFMC_ERROR_FORMAT,
                path + ": not the kernels file of this artifact (no "
                       "signature trailer)");
  size_t sigAt = n - 16 - 8 * count;
  for (size_t i = 0; i < m.entries.size(); ++i) {
    uint64_t sig;
    std::memcpy(&sig, bytes.data() + sigAt + 8 * i, 8);
    if (tfmc_status s = checkSignature(manifestPath, m, m.entries[i], sig))
      return s;
  }
  for (const VulkanKernel &k : m.kernels) {
    uint64_t end = static_cast<uint64_t>(k.offset) + k.words * 4;
    if (end > sigAt)
      return fail(TFMC_ERROR_FORMAT, path + ": kernel '" + k.name +
                                         "' lies past the end of the file "
                                         "(truncated?)");
    uint32_t magic;
    std::memcpy(&magic, bytes.data() + k.offset, 4);
    if (magic != 0x07230203)
      return fail(TFMC_ERROR_FORMAT,
                  path + ": kernel '" + k.name + "' is not a SPIR-V module");
    if (k.localSize > c.properties.limits.maxComputeWorkGroupInvocations)
      return fail(TFMC_ERROR_DEVICE,
                  "vulkan: kernel '" + k.name + "' needs " +
                      std::to_string(k.localSize) +
                      " invocations per workgroup; device " +
                      c.properties.deviceName + " allows " +
                      std::to_string(
                          c.properties.limits.maxComputeWorkGroupInvocations) +
                      " (recompile with another --vulkan-target)");
    VkShaderModuleCreateInfo sm{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    sm.codeSize = k.words * 4;
    std::vector<uint32_t> code(k.words);
    std::memcpy(code.data(), bytes.data() + k.offset, k.words * 4);
    sm.pCode = code.data();
    VkShaderModule module;
    if (tfmc_status s =
            c.check(c.vkCreateShaderModule(c.device, &sm, nullptr, &module),
                    "creating shader module '" + k.name + "'"))
      return s;
    VkComputePipelineCreateInfo pi{
        VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pi.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    pi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pi.stage.module = module;
    pi.stage.pName = "main";
    pi.layout = c.pipelineLayout;
    VkPipeline pipeline;
    VkResult r = c.vkCreateComputePipelines(c.device, c.cache, 1, &pi, nullptr,
                                            &pipeline);
    c.vkDestroyShaderModule(c.device, module, nullptr);
    if (tfmc_status s = c.check(r, "creating pipeline '" + k.name + "'"))
      return s;
    c.pipelines.push_back(pipeline);
    c.kernelNames.push_back(k.name);
  }
  c.stats.pipelines = c.pipelines.size();
  c.stats.create_ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  return TFMC_OK;
}

/// Writes the pipeline cache back when the driver's data differs from what
/// was read (a miss, or pipelines the cache lacked).
static void savePipelineCache(Context &c) {
  if (c.cachePath.empty())
    return;
  size_t n = 0;
  if (c.vkGetPipelineCacheData(c.device, c.cache, &n, nullptr) != VK_SUCCESS ||
      n == 0)
    return;
  std::vector<char> data(n);
  if (c.vkGetPipelineCacheData(c.device, c.cache, &n, data.data()) !=
      VK_SUCCESS)
    return;
  data.resize(n);
  if (c.stats.cache == TFMC_PIPELINE_CACHE_HIT && n == c.cacheReadBytes)
    return;
  c.stats.cache_written = writePipelineCache(c.cachePath, data);
}

static tfmc_status uploadWeights(Context &c, const void *data, size_t bytes) {
  if (tfmc_status s = c.createBuffer(bytes,
                                     VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                         VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                     false, c.weights))
    return s;
  if (!bytes)
    return TFMC_OK;
  Buffer staging;
  if (tfmc_status s = c.createBuffer(bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                     true, staging)) {
    c.destroy(staging); // what was created before the failure
    return s;
  }
  std::memcpy(staging.mapped, data, bytes);
  tfmc_status s = c.oneShot([&](VkCommandBuffer cb) {
    VkBufferCopy region{0, 0, bytes};
    c.vkCmdCopyBuffer(cb, staging.buffer, c.weights.buffer, 1, &region);
  });
  c.destroy(staging);
  return s;
}

tfmc_status vk::open(tfmc_model &model, const std::string &kernelsPath) {
  auto ctx = std::shared_ptr<Context>(new Context, ContextDeleter());
  if (tfmc_status s = readFaults(*ctx))
    return s;
  if (tfmc_status s = createInstance(*ctx))
    return s;
  if (tfmc_status s = pickDevice(*ctx))
    return s;
  if (tfmc_status s = createDevice(*ctx, model.manifest.deviceFeatures))
    return s;
  if (tfmc_status s = createLayouts(*ctx, model.manifest.pushWords))
    return s;
  std::string manifestPath =
      model.embedded ? model.directory
                     : (model.directory.empty() || model.directory.back() == '/'
                            ? model.directory
                            : model.directory + "/") +
                           "manifest.json";
  if (tfmc_status s =
          createPipelines(*ctx, model.manifest, kernelsPath, manifestPath))
    return s;
  savePipelineCache(*ctx);
  if (tfmc_status s =
          uploadWeights(*ctx, model.weights, model.manifest.weightsBytes))
    return s;
  model.vulkan = std::move(ctx);
  return TFMC_OK;
}

const char *vk::deviceName(const tfmc_model &model) {
  return model.vulkan ? model.vulkan->properties.deviceName : "cpu";
}

tfmc_pipeline_stats vk::pipelineStats(const tfmc_model &model) {
  if (!model.vulkan) {
    tfmc_pipeline_stats none{};
    none.cache_path = "";
    return none;
  }
  return model.vulkan->stats;
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

SessionState::~SessionState() {
  if (!ctx)
    return;
  Context &c = *ctx;
  c.vkDeviceWaitIdle(c.device);
  for (Buffer *b : {&arena, &scalars, &indirect, &upload, &readback})
    c.destroy(*b);
  if (descriptorPool)
    c.vkDestroyDescriptorPool(c.device, descriptorPool, nullptr);
  if (commands)
    c.vkFreeCommandBuffers(c.device, c.pool, 1, &commands);
  if (fence)
    c.vkDestroyFence(c.device, fence, nullptr);
  if (queries)
    c.vkDestroyQueryPool(c.device, queries, nullptr);
}

void SessionDeleter::operator()(SessionState *s) const { delete s; }

/// Bytes an input or output occupies on the device (ids as int32).
/// Bytes of one element on the device: token ids are int32 there, every
/// other type is kept as it is (16-bit and 8-bit tensors in 16/8-bit
/// storage).
static size_t deviceElementBytes(tfmc_dtype d) {
  return d == TFMC_DTYPE_INT64 ? 4 : tfmc_dtype_size(d);
}

static size_t deviceBytes(const TensorSpec &t) {
  return TensorSpec::product(t.maxShape) * deviceElementBytes(t.dtype);
}

static tfmc_status newStateBlock(const std::shared_ptr<Context> &ctx,
                                 int64_t bytes,
                                 std::shared_ptr<StateBlock> &out) {
  auto block = std::make_shared<StateBlock>(ctx);
  if (tfmc_status s = ctx->createBuffer(bytes,
                                        VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                        false, block->buffer))
    return s;
  VkBuffer b = block->buffer.buffer;
  if (bytes > 0)
    if (tfmc_status s = ctx->oneShot([&](VkCommandBuffer cb) {
          ctx->vkCmdFillBuffer(cb, b, 0, VK_WHOLE_SIZE, 0);
        }))
      return s;
  out = std::move(block);
  return TFMC_OK;
}

tfmc_status vk::createSession(tfmc_session &session) {
  const tfmc_model &model = *session.model;
  const EntrySpec &e = *session.entry;
  const VulkanEntry &plan = e.vulkan;
  std::unique_ptr<SessionState, SessionDeleter> st(new SessionState);
  st->ctx = model.vulkan;
  Context &c = *st->ctx;
  if (tfmc_status s = c.usable())
    return s;
  VkBufferUsageFlags storage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkDeviceSize up = 0, down = 0;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    st->uploadAt.push_back(up);
    if (plan.inputs[i].buffer == "arena")
      up += (deviceBytes(e.inputs[i]) + 15) / 16 * 16;
  }
  for (size_t i = 0; i < e.outputs.size(); ++i) {
    st->readbackAt.push_back(down);
    down += (deviceBytes(e.outputs[i]) + 15) / 16 * 16;
  }
  tfmc_status s = c.createBuffer(plan.arenaBytes,
                                 storage | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                     VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                 false, st->arena);
  if (!s)
    s = c.createBuffer(plan.scalars.size() * 4, storage, true, st->scalars);
  if (!s)
    s = c.createBuffer(plan.dispatches.size() * 12,
                       VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, true, st->indirect);
  if (!s)
    s = c.createBuffer(up, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, true, st->upload);
  if (!s)
    s = c.createBuffer(down, VK_BUFFER_USAGE_TRANSFER_DST_BIT, true,
                       st->readback);
  // Entries without state (forward, encode) bind a placeholder.
  bool hasState = false;
  for (const VulkanIo &io : plan.inputs)
    hasState |= io.buffer == "state";
  if (!s)
    s = newStateBlock(st->ctx, hasState ? model.manifest.stateBytes : 0,
                      st->state);
  if (s)
    return s;
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4};
  VkDescriptorPoolCreateInfo pool{
      VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pool.maxSets = 1;
  pool.poolSizeCount = 1;
  pool.pPoolSizes = &size;
  if (tfmc_status s = c.check(c.vkCreateDescriptorPool(c.device, &pool, nullptr,
                                                       &st->descriptorPool),
                              "creating a descriptor pool"))
    return s;
  VkDescriptorSetAllocateInfo ai{
      VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = st->descriptorPool;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &c.setLayout;
  if (tfmc_status s =
          c.check(c.vkAllocateDescriptorSets(c.device, &ai, &st->set),
                  "allocating a descriptor set"))
    return s;
  VkCommandBufferAllocateInfo cbi{
      VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cbi.commandPool = c.pool;
  cbi.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cbi.commandBufferCount = 1;
  if (tfmc_status s =
          c.check(c.vkAllocateCommandBuffers(c.device, &cbi, &st->commands),
                  "allocating a command buffer"))
    return s;
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if (tfmc_status s =
          c.check(c.vkCreateFence(c.device, &fi, nullptr, &st->fence),
                  "creating a fence"))
    return s;
  session.vulkan = std::move(st);
  return TFMC_OK;
}

void vk::shareState(tfmc_session &dst, const tfmc_session &src) {
  if (!dst.vulkan || !src.vulkan)
    return;
  dst.vulkan->state = src.vulkan->state;
  dst.vulkan->recorded = false; // the descriptor set names the old block
}

tfmc_status vk::enableProfiling(tfmc_session &session, bool on) {
  SessionState &st = *session.vulkan;
  Context &c = *st.ctx;
  if (on && !c.timestamps)
    return fail(TFMC_ERROR_DEVICE,
                std::string("vulkan: device ") + c.properties.deviceName +
                    " has no timestamp queries on its compute queue");
  if (on && !st.queries) {
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = session.entry->vulkan.dispatches.size() * 2 + 2;
    if (tfmc_status s =
            c.check(c.vkCreateQueryPool(c.device, &qi, nullptr, &st.queries),
                    "creating a timestamp query pool"))
      return s;
  }
  if (st.profiling != on)
    st.recorded = false;
  st.profiling = on;
  return TFMC_OK;
}

size_t vk::profile(const tfmc_session &session, tfmc_profile_entry *entries,
                   size_t capacity) {
  const SessionState &st = *session.vulkan;
  if (!st.profiled)
    return 0;
  const auto &d = session.entry->vulkan.dispatches;
  for (size_t i = 0; i < d.size() && i < capacity && entries; ++i) {
    entries[i].kernel = st.ctx->kernelNames[d[i].kernel].c_str();
    entries[i].microseconds = st.times[i];
  }
  return d.size();
}

//===----------------------------------------------------------------------===//
// Recording and running
//===----------------------------------------------------------------------===//

static void barrier(Context &c, VkCommandBuffer cb, VkPipelineStageFlags src,
                    VkAccessFlags srcAccess, VkPipelineStageFlags dst,
                    VkAccessFlags dstAccess) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = srcAccess;
  mb.dstAccessMask = dstAccess;
  c.vkCmdPipelineBarrier(cb, src, dst, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

static tfmc_status record(tfmc_session &session) {
  SessionState &st = *session.vulkan;
  Context &c = *st.ctx;
  const EntrySpec &e = *session.entry;
  const VulkanEntry &plan = e.vulkan;
  Buffer *bound[4] = {&st.scalars, &st.arena, &c.weights, &st.state->buffer};
  VkDescriptorBufferInfo infos[4];
  VkWriteDescriptorSet writes[4];
  for (uint32_t i = 0; i < 4; ++i) {
    infos[i] = {bound[i]->buffer, 0, VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = st.set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  c.vkUpdateDescriptorSets(c.device, 4, writes, 0, nullptr);

  VkCommandBuffer cb = st.commands;
  c.vkResetCommandBuffer(cb, 0);
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  c.vkBeginCommandBuffer(cb, &bi);
  const VkPipelineStageFlags compute = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             transfer = VK_PIPELINE_STAGE_TRANSFER_BIT;
  const VkAccessFlags rw =
      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  // Against the previous run of this (or a state-sharing) command buffer.
  barrier(c, cb, compute | transfer,
          rw | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
          transfer | compute,
          rw | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
  if (st.profiling)
    c.vkCmdResetQueryPool(cb, st.queries, 0, plan.dispatches.size() * 2 + 2);
  std::vector<VkBufferCopy> copies;
  for (size_t i = 0; i < e.inputs.size(); ++i)
    if (plan.inputs[i].buffer == "arena")
      copies.push_back({st.uploadAt[i],
                        static_cast<VkDeviceSize>(plan.inputs[i].offset),
                        deviceBytes(e.inputs[i])});
  if (!copies.empty())
    c.vkCmdCopyBuffer(cb, st.upload.buffer, st.arena.buffer, copies.size(),
                      copies.data());
  barrier(c, cb, transfer | VK_PIPELINE_STAGE_HOST_BIT,
          VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
          compute | VK_PIPELINE_STAGE_DRAW_INDIRECT_BIT,
          rw | VK_ACCESS_INDIRECT_COMMAND_READ_BIT);
  c.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE,
                            c.pipelineLayout, 0, 1, &st.set, 0, nullptr);
  int64_t bound_ = -1;
  for (size_t i = 0; i < plan.dispatches.size(); ++i) {
    const VulkanDispatch &d = plan.dispatches[i];
    if (d.barrier)
      barrier(c, cb, compute, VK_ACCESS_SHADER_WRITE_BIT, compute, rw);
    if (d.kernel != bound_) {
      c.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE,
                          c.pipelines[d.kernel]);
      bound_ = d.kernel;
    }
    if (!d.push.empty())
      c.vkCmdPushConstants(cb, c.pipelineLayout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           d.push.size() * 4, d.push.data());
    if (st.profiling)
      c.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, st.queries,
                            2 * i);
    c.vkCmdDispatchIndirect(cb, st.indirect.buffer, i * 12);
    if (st.profiling)
      c.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                            st.queries, 2 * i + 1);
  }
  barrier(c, cb, compute, VK_ACCESS_SHADER_WRITE_BIT, transfer,
          VK_ACCESS_TRANSFER_READ_BIT);
  copies.clear();
  for (size_t i = 0; i < e.outputs.size(); ++i)
    copies.push_back({static_cast<VkDeviceSize>(plan.outputs[i].offset),
                      st.readbackAt[i], deviceBytes(e.outputs[i])});
  if (!copies.empty())
    c.vkCmdCopyBuffer(cb, st.arena.buffer, st.readback.buffer, copies.size(),
                      copies.data());
  barrier(c, cb, transfer, VK_ACCESS_TRANSFER_WRITE_BIT,
          VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  if (tfmc_status s =
          c.check(c.vkEndCommandBuffer(cb), "recording the command buffer"))
    return s;
  st.recorded = true;
  return TFMC_OK;
}

/// Evaluates the scalar program for this run's shapes and index inputs.
static tfmc_status evaluate(const tfmc_session &session,
                            std::vector<int64_t> &slots) {
  const VulkanEntry &plan = session.entry->vulkan;
  slots.assign(plan.scalars.size(), 0);
  for (size_t i = 0; i < plan.scalars.size(); ++i) {
    const VulkanScalar &s = plan.scalars[i];
    int64_t a = s.a, b = s.b, v = 0;
    auto at = [&](int64_t k) { return slots[k]; };
    switch (s.op) {
    case VulkanScalar::Const:
      v = a;
      break;
    case VulkanScalar::Dim:
      if (a < 0 || a >= int64_t(session.inputShapes.size()) || b < 0 ||
          b >= int64_t(session.inputShapes[a].size()))
        return fail(TFMC_ERROR_FORMAT, "vulkan plan: bad dimension reference");
      v = session.inputShapes[a][b];
      break;
    case VulkanScalar::Index:
      if (a < 0 || a >= int64_t(session.inputs.size()))
        return fail(TFMC_ERROR_FORMAT, "vulkan plan: bad input reference");
      v = *static_cast<const int64_t *>(session.inputData(a));
      break;
    case VulkanScalar::Add:
      v = at(a) + at(b);
      break;
    case VulkanScalar::Sub:
      v = at(a) - at(b);
      break;
    case VulkanScalar::Mul:
      v = at(a) * at(b);
      break;
    case VulkanScalar::Div:
      v = at(b) ? at(a) / at(b) : 0;
      break;
    case VulkanScalar::CeilDiv:
      v = at(b) ? (at(a) + at(b) - 1) / at(b) : 0;
      break;
    case VulkanScalar::Min:
      v = std::min(at(a), at(b));
      break;
    case VulkanScalar::Max:
      v = std::max(at(a), at(b));
      break;
    }
    slots[i] = v;
  }
  return TFMC_OK;
}

tfmc_status vk::run(tfmc_session &session) {
  SessionState &st = *session.vulkan;
  Context &c = *st.ctx;
  if (tfmc_status s = c.usable())
    return s;
  const EntrySpec &e = *session.entry;
  const VulkanEntry &plan = e.vulkan;
  std::vector<int64_t> slots;
  if (tfmc_status s = evaluate(session, slots))
    return s;
  auto *scalars = static_cast<int32_t *>(st.scalars.mapped);
  for (size_t i = 0; i < slots.size(); ++i)
    scalars[i] = static_cast<int32_t>(slots[i]);
  auto *groups = static_cast<uint32_t *>(st.indirect.mapped);
  const uint32_t *limit = c.properties.limits.maxComputeWorkGroupCount;
  for (size_t i = 0; i < plan.dispatches.size(); ++i)
    for (int k = 0; k < 3; ++k) {
      int64_t g = slots[plan.dispatches[i].groups[k]];
      if (g < 0 || g > limit[k])
        return fail(
            TFMC_ERROR_DEVICE,
            "vulkan: kernel '" + c.kernelNames[plan.dispatches[i].kernel] +
                "' needs " + std::to_string(g) + " workgroups in dimension " +
                std::to_string(k) + "; device " + c.properties.deviceName +
                " allows " + std::to_string(limit[k]));
      groups[3 * i + k] = static_cast<uint32_t>(g);
    }
  // Inputs into the upload buffer (ids narrowed to int32).
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    if (plan.inputs[i].buffer != "arena")
      continue;
    size_t n = TensorSpec::product(session.inputShapes[i]);
    auto *dst = static_cast<char *>(st.upload.mapped) + st.uploadAt[i];
    const void *src = session.inputData(i);
    if (e.inputs[i].dtype == TFMC_DTYPE_INT64) {
      auto *d = reinterpret_cast<int32_t *>(dst);
      for (size_t j = 0; j < n; ++j)
        d[j] = static_cast<int32_t>(static_cast<const int64_t *>(src)[j]);
    } else {
      std::memcpy(dst, src, n * deviceElementBytes(e.inputs[i].dtype));
    }
  }
  if (!st.recorded)
    if (tfmc_status s = record(session))
      return s;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &st.commands;
  if (tfmc_status s =
          c.check(c.vkResetFences(c.device, 1, &st.fence), "resetting a fence"))
    return s;
  if (tfmc_status s =
          c.check(c.submit(si, st.fence), "submitting entry '" + e.name + "'"))
    return s;
  if (tfmc_status s = c.check(
          c.vkWaitForFences(c.device, 1, &st.fence, VK_TRUE, UINT64_MAX),
          "running entry '" + e.name + "'"))
    return s;
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    size_t n = TensorSpec::product(session.outputShapes[o]);
    const char *src =
        static_cast<const char *>(st.readback.mapped) + st.readbackAt[o];
    void *dst = session.outputData(o);
    if (e.outputs[o].dtype == TFMC_DTYPE_INT64) {
      for (size_t j = 0; j < n; ++j)
        static_cast<int64_t *>(dst)[j] =
            reinterpret_cast<const int32_t *>(src)[j];
    } else {
      std::memcpy(dst, src, n * deviceElementBytes(e.outputs[o].dtype));
    }
  }
  if (st.profiling) {
    size_t n = plan.dispatches.size() * 2;
    std::vector<uint64_t> ticks(n);
    if (n &&
        c.vkGetQueryPoolResults(
            c.device, st.queries, 0, n, n * sizeof(uint64_t), ticks.data(),
            sizeof(uint64_t),
            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS) {
      st.times.resize(plan.dispatches.size());
      double period = c.properties.limits.timestampPeriod / 1000.0;
      for (size_t i = 0; i < st.times.size(); ++i)
        st.times[i] = (ticks[2 * i + 1] - ticks[2 * i]) * period;
      st.profiled = true;
    }
  }
  return TFMC_OK;
}
