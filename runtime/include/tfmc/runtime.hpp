//===- runtime.hpp - C++ wrapper over the tfmc runtime C API ----*- C++ -*-===//
//
// Part of tfmc. Header-only RAII handles; failures throw tfmc::Error, which
// carries the C API's status and message. The exceptions live in the
// caller's code only: nothing throws across the C API.
//
//   tfmc::Model model("out");
//   tfmc::Session s = model.session("forward");
//   s.setInput("input_ids", {1, 3}, std::vector<int64_t>{5, 6, 7});
//   s.run();
//   tfmc_tensor_view logits = s.output("logits");
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUNTIME_HPP
#define TFMC_RUNTIME_HPP

#include "tfmc/runtime.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tfmc {

class Error : public std::runtime_error {
public:
  explicit Error(tfmc_status status)
      : std::runtime_error(tfmc_last_error()), status_(status) {}
  tfmc_status status() const { return status_; }

private:
  tfmc_status status_;
};

inline void check(tfmc_status status) {
  if (status != TFMC_OK)
    throw Error(status);
}

template <typename T> struct DtypeOf;
template <> struct DtypeOf<float> {
  static constexpr tfmc_dtype value = TFMC_DTYPE_FLOAT32;
};
template <> struct DtypeOf<int64_t> {
  static constexpr tfmc_dtype value = TFMC_DTYPE_INT64;
};
template <> struct DtypeOf<int32_t> {
  static constexpr tfmc_dtype value = TFMC_DTYPE_INT32;
};

class Session {
public:
  Session(Session &&o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Session &operator=(Session &&o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;
  ~Session() { tfmc_session_destroy(s_); }

  void setInput(const std::string &name, tfmc_dtype dtype,
                const std::vector<int64_t> &shape, const void *data) {
    check(tfmc_session_set_input(s_, name.c_str(), dtype,
                                 static_cast<int32_t>(shape.size()),
                                 shape.data(), data));
  }
  template <typename T>
  void setInput(const std::string &name, const std::vector<int64_t> &shape,
                const std::vector<T> &data) {
    setInput(name, DtypeOf<T>::value, shape, data.data());
  }
  void setNumThreads(int32_t threads) {
    check(tfmc_session_set_num_threads(s_, threads));
  }
  void run() { check(tfmc_session_run(s_)); }
  tfmc_tensor_view output(const std::string &name) const {
    tfmc_tensor_view view;
    check(tfmc_session_get_output(s_, name.c_str(), &view));
    return view;
  }
  tfmc_session *get() const { return s_; }

private:
  friend class Model;
  explicit Session(tfmc_session *s) : s_(s) {}
  tfmc_session *s_;
};

class Model {
public:
  explicit Model(const std::string &directory) {
    check(tfmc_model_open(directory.c_str(), &m_));
  }
  /// Takes ownership of an opened model.
  explicit Model(tfmc_model *owned) : m_(owned) {}
  Model(Model &&o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  Model &operator=(Model &&o) noexcept {
    std::swap(m_, o.m_);
    return *this;
  }
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;
  ~Model() { tfmc_model_close(m_); }

  std::string family() const { return tfmc_model_family(m_); }
  int64_t metadata(const char *key) const {
    return tfmc_model_metadata_int(m_, key);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (size_t i = 0, e = tfmc_model_num_entries(m_); i < e; ++i)
      out.push_back(tfmc_model_entry_name(m_, i));
    return out;
  }
  std::vector<tfmc_tensor_spec> inputs(const std::string &entry) const {
    return specs(entry, true);
  }
  std::vector<tfmc_tensor_spec> outputs(const std::string &entry) const {
    return specs(entry, false);
  }
  Session session(const std::string &entry) {
    tfmc_session *s = nullptr;
    check(tfmc_session_create(m_, entry.c_str(), &s));
    return Session(s);
  }
  tfmc_model *get() const { return m_; }

private:
  std::vector<tfmc_tensor_spec> specs(const std::string &entry,
                                      bool input) const {
    size_t ins = 0, outs = 0;
    check(tfmc_model_entry_signature(m_, entry.c_str(), &ins, &outs));
    std::vector<tfmc_tensor_spec> out(input ? ins : outs);
    for (size_t i = 0; i < out.size(); ++i)
      check(input ? tfmc_model_entry_input(m_, entry.c_str(), i, &out[i])
                  : tfmc_model_entry_output(m_, entry.c_str(), i, &out[i]));
    return out;
  }
  tfmc_model *m_ = nullptr;
};

} // namespace tfmc

#endif // TFMC_RUNTIME_HPP
