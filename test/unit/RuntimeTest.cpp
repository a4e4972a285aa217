//===- RuntimeTest.cpp - the runtime C API against a real artifact --------===//
//
// Part of tfmc. The artifact (examples/models/encoder.toml: batch 2,
// sequence 37, vocabulary 1000, two token types) is compiled by the
// runtime-artifact fixture; its path is in $TFMC_TEST_ARTIFACT.
//
//===----------------------------------------------------------------------===//

#include "tfmc/runtime.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string artifact() {
  const char *p = std::getenv("TFMC_TEST_ARTIFACT");
  return p ? p : "encoder.artifact";
}

const std::vector<int64_t> kShape = {2, 37};

std::vector<int64_t> ids(int64_t seed = 1) {
  std::vector<int64_t> v(74);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<int64_t>((i * 37 + seed * 11) % 1000);
  return v;
}

class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(tfmc_model_open(artifact().c_str(), &model), TFMC_OK)
        << tfmc_last_error();
    ASSERT_EQ(tfmc_session_create(model, "forward", &session), TFMC_OK)
        << tfmc_last_error();
  }
  void TearDown() override {
    tfmc_session_destroy(session);
    tfmc_model_close(model);
  }
  tfmc_status set(const char *name, const std::vector<int64_t> &v,
                  std::vector<int64_t> shape = kShape) {
    return tfmc_session_set_input(session, name, TFMC_DTYPE_INT64,
                                  static_cast<int32_t>(shape.size()),
                                  shape.data(), v.data());
  }
  void setAll() {
    ASSERT_EQ(set("input_ids", ids()), TFMC_OK) << tfmc_last_error();
    ASSERT_EQ(set("attention_mask", std::vector<int64_t>(74, 1)), TFMC_OK);
    ASSERT_EQ(set("token_type_ids", std::vector<int64_t>(74, 0)), TFMC_OK);
  }
  std::vector<float> runAndRead() {
    EXPECT_EQ(tfmc_session_run(session), TFMC_OK) << tfmc_last_error();
    tfmc_tensor_view v;
    EXPECT_EQ(tfmc_session_get_output(session, "last_hidden_state", &v),
              TFMC_OK);
    const float *f = static_cast<const float *>(v.data);
    return std::vector<float>(f, f + v.bytes / 4);
  }
  std::string error() const { return tfmc_last_error(); }

  tfmc_model *model = nullptr;
  tfmc_session *session = nullptr;
};

TEST(RuntimeOpen, NullAndMissing) {
  tfmc_model *m = nullptr;
  EXPECT_EQ(tfmc_model_open(nullptr, &m), TFMC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(tfmc_model_open("/nonexistent/artifact", &m), TFMC_ERROR_IO);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(tfmc_last_error()).find("/nonexistent/artifact"),
            std::string::npos);
  tfmc_model_close(nullptr); // harmless
  tfmc_session_destroy(nullptr);
}

TEST_F(RuntimeTest, Metadata) {
  EXPECT_STREQ(tfmc_model_family(model), "encoder");
  EXPECT_EQ(tfmc_model_metadata_int(model, "max_seq_len"), 64);
  EXPECT_EQ(tfmc_model_metadata_int(model, "no-such-key"), -1);
  ASSERT_EQ(tfmc_model_num_entries(model), 1u);
  EXPECT_STREQ(tfmc_model_entry_name(model, 0), "forward");
  EXPECT_EQ(tfmc_model_entry_name(model, 1), nullptr);
  size_t ins = 0, outs = 0;
  ASSERT_EQ(tfmc_model_entry_signature(model, "forward", &ins, &outs), TFMC_OK);
  EXPECT_EQ(ins, 3u);
  EXPECT_EQ(outs, 1u);
  tfmc_tensor_spec s;
  ASSERT_EQ(tfmc_model_entry_input(model, "forward", 0, &s), TFMC_OK);
  EXPECT_STREQ(s.name, "input_ids");
  EXPECT_EQ(s.dtype, TFMC_DTYPE_INT64);
  EXPECT_EQ(s.rank, 2);
  EXPECT_EQ(s.id_bound, 1000);
  ASSERT_EQ(tfmc_model_entry_input(model, "forward", 2, &s), TFMC_OK);
  EXPECT_STREQ(s.name, "token_type_ids");
  EXPECT_EQ(s.id_bound, 2); // two token types
  ASSERT_EQ(tfmc_model_entry_output(model, "forward", 0, &s), TFMC_OK);
  EXPECT_STREQ(s.name, "last_hidden_state");
  EXPECT_EQ(s.shape[2], 96);
  EXPECT_EQ(tfmc_model_entry_input(model, "forward", 3, &s),
            TFMC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(tfmc_model_entry_input(model, "decode", 0, &s),
            TFMC_ERROR_NOT_FOUND);
  EXPECT_NE(error().find("it has: forward"), std::string::npos) << error();
}

TEST_F(RuntimeTest, InputValidation) {
  EXPECT_EQ(set("input_idz", ids()), TFMC_ERROR_NOT_FOUND);
  EXPECT_NE(error().find("its inputs: input_ids, attention_mask, "
                         "token_type_ids"),
            std::string::npos)
      << error();
  EXPECT_EQ(set("input_ids", ids(), {74}), TFMC_ERROR_SHAPE);
  EXPECT_NE(error().find("must have shape [2, 37], got [74]"),
            std::string::npos)
      << error();
  EXPECT_EQ(set("input_ids", ids(), {2, 36}), TFMC_ERROR_SHAPE);
  std::vector<float> f(74, 1.0f);
  EXPECT_EQ(tfmc_session_set_input(session, "input_ids", TFMC_DTYPE_FLOAT32, 2,
                                   kShape.data(), f.data()),
            TFMC_ERROR_DTYPE);
  EXPECT_NE(error().find("must be int64, got float32"), std::string::npos);

  std::vector<int64_t> bad = ids();
  bad[73] = 1000;
  EXPECT_EQ(set("input_ids", bad), TFMC_ERROR_RANGE);
  EXPECT_NE(error().find("input 'input_ids'[1, 36] = 1000 is out of range"),
            std::string::npos)
      << error();
  bad[73] = -1;
  bad[3] = -5;
  EXPECT_EQ(set("input_ids", bad), TFMC_ERROR_RANGE);
  EXPECT_NE(error().find("[0, 3] = -5"), std::string::npos) << error();
  EXPECT_EQ(set("token_type_ids", std::vector<int64_t>(74, 2)),
            TFMC_ERROR_RANGE);
  EXPECT_EQ(tfmc_session_set_input(session, "input_ids", TFMC_DTYPE_INT64, 2,
                                   kShape.data(), nullptr),
            TFMC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(tfmc_session_set_input(session, "input_ids", TFMC_DTYPE_INT64, -1,
                                   kShape.data(), ids().data()),
            TFMC_ERROR_INVALID_ARGUMENT);
}

TEST_F(RuntimeTest, RunNeedsEveryInput) {
  tfmc_tensor_view v;
  EXPECT_EQ(tfmc_session_get_output(session, "last_hidden_state", &v),
            TFMC_ERROR_STATE);
  ASSERT_EQ(set("input_ids", ids()), TFMC_OK);
  EXPECT_EQ(tfmc_session_run(session), TFMC_ERROR_MISSING_INPUT);
  EXPECT_NE(error().find("not set: attention_mask, token_type_ids"),
            std::string::npos)
      << error();
  EXPECT_EQ(tfmc_session_get_output(session, "last_hidden_state", &v),
            TFMC_ERROR_STATE);
  EXPECT_EQ(tfmc_session_run(nullptr), TFMC_ERROR_INVALID_ARGUMENT);
}

TEST_F(RuntimeTest, RunAndRead) {
  setAll();
  std::vector<float> out = runAndRead();
  ASSERT_EQ(out.size(), 2u * 37 * 96);
  tfmc_tensor_view v;
  ASSERT_EQ(tfmc_session_get_output(session, "last_hidden_state", &v), TFMC_OK);
  EXPECT_EQ(v.rank, 3);
  EXPECT_EQ(v.shape[0], 2);
  EXPECT_EQ(v.shape[1], 37);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data) % 64, 0u);
  EXPECT_EQ(tfmc_session_get_output(session, "logits", &v),
            TFMC_ERROR_NOT_FOUND);
  // Post-LN output rows are normalised: not all zero, finite.
  double sum = 0;
  for (float x : out) {
    ASSERT_TRUE(std::isfinite(x));
    sum += std::abs(x);
  }
  EXPECT_GT(sum, 1.0);
}

TEST_F(RuntimeTest, Int32IdsAreWidened) {
  setAll();
  std::vector<float> want = runAndRead();
  std::vector<int64_t> wide = ids();
  std::vector<int32_t> narrow(wide.begin(), wide.end());
  ASSERT_EQ(tfmc_session_set_input(session, "input_ids", TFMC_DTYPE_INT32, 2,
                                   kShape.data(), narrow.data()),
            TFMC_OK);
  EXPECT_EQ(runAndRead(), want);
}

TEST_F(RuntimeTest, FailedSetKeepsThePreviousInput) {
  setAll();
  std::vector<float> want = runAndRead();
  std::vector<int64_t> bad = ids(2);
  bad[40] = 5000;
  ASSERT_EQ(set("input_ids", bad), TFMC_ERROR_RANGE);
  EXPECT_EQ(runAndRead(), want);
  ASSERT_EQ(set("input_ids", ids(2)), TFMC_OK);
  EXPECT_NE(runAndRead(), want);
}

TEST_F(RuntimeTest, ThreadCountDoesNotChangeResults) {
  setAll();
  ASSERT_EQ(tfmc_session_set_num_threads(session, 1), TFMC_OK);
  std::vector<float> one = runAndRead();
  ASSERT_EQ(tfmc_session_set_num_threads(session, 2), TFMC_OK);
  EXPECT_EQ(runAndRead(), one); // each output element has one owner thread
}

TEST_F(RuntimeTest, ThreadCountIsBounded) {
  EXPECT_EQ(tfmc_session_set_num_threads(session, 100000),
            TFMC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tfmc_last_error()).find("[0, 1024]"),
            std::string::npos);
  EXPECT_EQ(tfmc_session_set_num_threads(session, -1),
            TFMC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(tfmc_session_set_num_threads(session, 0), TFMC_OK);
}

TEST_F(RuntimeTest, SessionsAreIndependent) {
  setAll();
  std::vector<float> want = runAndRead();
  tfmc_session *other = nullptr;
  ASSERT_EQ(tfmc_session_create(model, "forward", &other), TFMC_OK);
  std::vector<int64_t> other_ids = ids(3);
  std::vector<int64_t> ones(74, 1), zeros(74, 0);
  ASSERT_EQ(tfmc_session_set_input(other, "input_ids", TFMC_DTYPE_INT64, 2,
                                   kShape.data(), other_ids.data()),
            TFMC_OK);
  ASSERT_EQ(tfmc_session_set_input(other, "attention_mask", TFMC_DTYPE_INT64, 2,
                                   kShape.data(), ones.data()),
            TFMC_OK);
  ASSERT_EQ(tfmc_session_set_input(other, "token_type_ids", TFMC_DTYPE_INT64, 2,
                                   kShape.data(), zeros.data()),
            TFMC_OK);
  ASSERT_EQ(tfmc_session_run(other), TFMC_OK);
  tfmc_session_destroy(other);
  EXPECT_EQ(runAndRead(), want);
}

TEST_F(RuntimeTest, BoundMemoryIsUsedInPlace) {
  setAll();
  std::vector<float> want = runAndRead();
  // Inputs read in place: changing the bound memory changes the next run.
  std::vector<int64_t> in = ids(2);
  ASSERT_EQ(tfmc_session_bind_input(session, "input_ids", TFMC_DTYPE_INT64, 2,
                                    kShape.data(), in.data()),
            TFMC_OK)
      << error();
  std::vector<float> two = runAndRead();
  EXPECT_NE(two, want);
  in = ids();
  ASSERT_EQ(tfmc_session_bind_input(session, "input_ids", TFMC_DTYPE_INT64, 2,
                                    kShape.data(), in.data()),
            TFMC_OK);
  std::vector<float> out(2 * 37 * 96, -1.0f);
  ASSERT_EQ(tfmc_session_bind_output(session, "last_hidden_state", out.data(),
                                     out.size() * 4),
            TFMC_OK)
      << error();
  tfmc_tensor_view v;
  EXPECT_EQ(tfmc_session_get_output(session, "last_hidden_state", &v),
            TFMC_ERROR_STATE);
  EXPECT_EQ(runAndRead(), want);
  EXPECT_EQ(out, want); // written where it was bound
  ASSERT_EQ(tfmc_session_get_output(session, "last_hidden_state", &v),
            TFMC_OK);
  EXPECT_EQ(v.data, out.data());
  // Back to the session's own buffer.
  ASSERT_EQ(tfmc_session_bind_output(session, "last_hidden_state", nullptr, 0),
            TFMC_OK);
  in[0] = (in[0] + 1) % 1000;
  std::vector<float> shifted = runAndRead();
  EXPECT_NE(shifted, want);
  EXPECT_EQ(out, want);
}

TEST_F(RuntimeTest, BindingChecks) {
  std::vector<int64_t> in = ids();
  std::vector<int32_t> narrow(in.begin(), in.end());
  EXPECT_EQ(tfmc_session_bind_input(session, "input_ids", TFMC_DTYPE_INT32, 2,
                                    kShape.data(), narrow.data()),
            TFMC_ERROR_DTYPE);
  EXPECT_NE(error().find("bound in place"), std::string::npos) << error();
  auto *odd = reinterpret_cast<const int64_t *>(
      reinterpret_cast<const char *>(in.data()) + 4);
  EXPECT_EQ(tfmc_session_bind_input(session, "input_ids", TFMC_DTYPE_INT64, 2,
                                    kShape.data(), odd),
            TFMC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error().find("not aligned"), std::string::npos) << error();
  in[3] = 1000;
  EXPECT_EQ(tfmc_session_bind_input(session, "input_ids", TFMC_DTYPE_INT64, 2,
                                    kShape.data(), in.data()),
            TFMC_ERROR_RANGE);
  std::vector<float> small(10);
  EXPECT_EQ(tfmc_session_bind_output(session, "last_hidden_state",
                                     small.data(), small.size() * 4),
            TFMC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error().find("needs 28416 bytes"), std::string::npos) << error();
  EXPECT_EQ(tfmc_session_bind_output(session, "logits", small.data(), 40),
            TFMC_ERROR_NOT_FOUND);
}

TEST(RuntimeCpp, WrapperThrowsWithStatus) {
  tfmc::Model model(artifact());
  EXPECT_EQ(model.family(), "encoder");
  EXPECT_EQ(model.entries(), std::vector<std::string>{"forward"});
  EXPECT_EQ(model.inputs("forward").size(), 3u);
  tfmc::Session s = model.session("forward");
  try {
    s.setInput<int64_t>("input_ids", {2, 37}, std::vector<int64_t>(74, 1000));
    FAIL() << "expected tfmc::Error";
  } catch (const tfmc::Error &e) {
    EXPECT_EQ(e.status(), TFMC_ERROR_RANGE);
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos);
  }
  EXPECT_THROW(model.session("nope"), tfmc::Error);
  EXPECT_THROW(tfmc::Model("/nonexistent"), tfmc::Error);
}

} // namespace
