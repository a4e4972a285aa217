//===- VulkanFaultTest.cpp - Vulkan out-of-memory and device-lost paths ---===//
//
// Part of tfmc. TFMC_VULKAN_FAULT makes the N-th device memory allocation
// (alloc:N) or queue submission (submit:N) of an opened model fail. For
// every N up to the last one the model makes, the failure must surface as
// TFMC_ERROR_OUT_OF_MEMORY / TFMC_ERROR_DEVICE naming the injection, the
// model must stay usable after an allocation failure (the next session
// runs and gives the reference result), and after a lost device every
// later run must fail until the model is reopened, which then gives the
// reference result again. The artifact is examples/models/encoder.toml
// compiled for Vulkan by the runtime-artifact fixture ($TFMC_TEST_ARTIFACT
// with ".vulkan" appended); lavapipe suffices. Leaks of what a failed
// step had created are caught by the sanitizer copy of this test
// (scripts/sanitize-check.sh) and by the validation layer, enabled here.
//
//===----------------------------------------------------------------------===//

#include "tfmc/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::string artifact() {
  const char *p = std::getenv("TFMC_TEST_ARTIFACT");
  return std::string(p ? p : "encoder.artifact") + ".vulkan";
}

/// Opens the artifact with TFMC_VULKAN_FAULT=`fault` (unset when empty).
tfmc_status open(const std::string &fault, tfmc_model **model) {
  if (fault.empty())
    unsetenv("TFMC_VULKAN_FAULT");
  else
    setenv("TFMC_VULKAN_FAULT", fault.c_str(), 1);
  tfmc_status s = tfmc_model_open(artifact().c_str(), model);
  unsetenv("TFMC_VULKAN_FAULT");
  return s;
}

/// One forward run of a new session: its status, and the output.
tfmc_status forward(tfmc_model *model, std::vector<float> &out) {
  tfmc_session *session = nullptr;
  if (tfmc_status s = tfmc_session_create(model, "forward", &session))
    return s;
  std::vector<int64_t> ids(74), ones(74, 1), zeros(74, 0), shape = {2, 37};
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<int64_t>((i * 37 + 11) % 1000);
  tfmc_session_set_input(session, "input_ids", TFMC_DTYPE_INT64, 2,
                         shape.data(), ids.data());
  tfmc_session_set_input(session, "attention_mask", TFMC_DTYPE_INT64, 2,
                         shape.data(), ones.data());
  tfmc_session_set_input(session, "token_type_ids", TFMC_DTYPE_INT64, 2,
                         shape.data(), zeros.data());
  tfmc_status s = tfmc_session_run(session);
  if (s == TFMC_OK) {
    tfmc_tensor_view v;
    s = tfmc_session_get_output(session, "last_hidden_state", &v);
    if (s == TFMC_OK) {
      const float *f = static_cast<const float *>(v.data);
      out.assign(f, f + v.bytes / 4);
    }
  }
  tfmc_session_destroy(session);
  return s;
}

bool injected() {
  return std::string(tfmc_last_error()).find("injected by TFMC_VULKAN_FAULT") !=
         std::string::npos;
}

class VulkanFaultTest : public ::testing::Test {
protected:
  void SetUp() override {
    setenv("TFMC_VULKAN_VALIDATION", "core", 1);
    testing::internal::CaptureStderr();
    tfmc_model *model = nullptr;
    ASSERT_EQ(open("", &model), TFMC_OK) << tfmc_last_error();
    ASSERT_EQ(forward(model, reference), TFMC_OK) << tfmc_last_error();
    tfmc_model_close(model);
  }
  void TearDown() override {
    std::string messages = testing::internal::GetCapturedStderr();
    EXPECT_EQ(messages.find("vulkan validation"), std::string::npos)
        << messages;
    unsetenv("TFMC_VULKAN_VALIDATION");
  }
  std::vector<float> reference;
};

TEST_F(VulkanFaultTest, EveryAllocationFailureIsOutOfMemoryAndRecoverable) {
  int atOpen = 0, atSession = 0;
  for (int n = 1; n < 200; ++n) {
    tfmc_model *model = nullptr;
    std::string fault = "alloc:" + std::to_string(n);
    tfmc_status s = open(fault, &model);
    if (s != TFMC_OK) {
      EXPECT_EQ(s, TFMC_ERROR_OUT_OF_MEMORY)
          << fault << ": " << tfmc_last_error();
      EXPECT_TRUE(injected()) << tfmc_last_error();
      EXPECT_EQ(model, nullptr);
      ++atOpen;
      continue;
    }
    std::vector<float> out;
    s = forward(model, out);
    if (s == TFMC_OK) { // past the last allocation: done
      EXPECT_EQ(out, reference);
      tfmc_model_close(model);
      break;
    }
    EXPECT_EQ(s, TFMC_ERROR_OUT_OF_MEMORY)
        << fault << ": " << tfmc_last_error();
    EXPECT_TRUE(injected()) << tfmc_last_error();
    ++atSession;
    // The failure took nothing else with it: the next session is whole.
    ASSERT_EQ(forward(model, out), TFMC_OK)
        << fault << ": " << tfmc_last_error();
    EXPECT_EQ(out, reference) << fault;
    tfmc_model_close(model);
  }
  EXPECT_GE(atOpen, 1);    // the weights
  EXPECT_GE(atSession, 4); // arena, scalars, indirect, staging, state
}

TEST_F(VulkanFaultTest, ALostDeviceFailsEveryLaterRunUntilReopened) {
  int lost = 0;
  for (int n = 1; n < 50; ++n) {
    tfmc_model *model = nullptr;
    std::string fault = "submit:" + std::to_string(n);
    tfmc_status s = open(fault, &model);
    if (s != TFMC_OK) {
      EXPECT_EQ(s, TFMC_ERROR_DEVICE) << fault << ": " << tfmc_last_error();
      EXPECT_TRUE(injected()) << tfmc_last_error();
      ++lost;
      continue;
    }
    std::vector<float> out;
    s = forward(model, out);
    if (s == TFMC_OK) {
      EXPECT_EQ(out, reference);
      tfmc_model_close(model);
      break;
    }
    EXPECT_EQ(s, TFMC_ERROR_DEVICE) << fault << ": " << tfmc_last_error();
    EXPECT_TRUE(injected()) << tfmc_last_error();
    ++lost;
    EXPECT_EQ(forward(model, out), TFMC_ERROR_DEVICE);
    EXPECT_NE(std::string(tfmc_last_error()).find("lost earlier"),
              std::string::npos)
        << tfmc_last_error();
    tfmc_model_close(model);
    // A new model on the same device is not affected.
    ASSERT_EQ(open("", &model), TFMC_OK) << tfmc_last_error();
    ASSERT_EQ(forward(model, out), TFMC_OK) << tfmc_last_error();
    EXPECT_EQ(out, reference);
    tfmc_model_close(model);
  }
  EXPECT_GE(lost, 2); // the weight upload, the run
}

TEST(VulkanFault, MalformedSpecIsRefused) {
  for (const char *bad :
       {"alloc", "alloc:0", "alloc:x", "free:3", "alloc:2,"}) {
    tfmc_model *model = nullptr;
    EXPECT_EQ(open(bad, &model), TFMC_ERROR_INVALID_ARGUMENT) << bad;
    EXPECT_NE(std::string(tfmc_last_error()).find("TFMC_VULKAN_FAULT"),
              std::string::npos);
    EXPECT_EQ(model, nullptr);
  }
}

} // namespace
