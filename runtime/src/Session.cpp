//===- Session.cpp - running an entry point -------------------------------===//
//
// Part of tfmc. A session runs one entry through the C ABI the compiler
// emits, `void tfmc_<entry>(void **buffers, const int64_t *dims)`: buffers
// are the inputs (state included), the outputs, the weights and the
// workspace, in that order, each C-ordered; dims holds the sizes of the
// dynamic dimensions of the inputs and outputs, in order of appearance.
//
// Buffers are allocated once, at the largest shapes the entry allows; a run
// only checks and copies its inputs.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "tfmc/abi.h"
#include "tfmc/limits.h"

#include <map>

using namespace tfmc::rt;

extern "C" tfmc_status tfmc_session_create(tfmc_model *model, const char *entry,
                                           tfmc_session **out) {
  if (!out)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_session_create: null output");
  *out = nullptr;
  const EntrySpec *e;
  if (tfmc_status s = findEntry(model, entry, e))
    return s;
  auto session = std::make_unique<tfmc_session>();
  session->model = model;
  session->entry = e;
  size_t index = 0;
  model->entry(entry, &index);
  if (!model->vulkan)
    session->function = model->functions[index];
  session->inputSet.assign(e->inputs.size(), false);
  session->outputs.resize(e->outputs.size());
  session->boundInputs.assign(e->inputs.size(), nullptr);
  session->boundOutputs.assign(e->outputs.size(), nullptr);
  bool ok = session->workspace.allocate(e->workspaceBytes);
  for (const TensorSpec &t : e->inputs) {
    auto buffer = std::make_shared<AlignedBuffer>();
    // A Vulkan model keeps its state (KV caches) on the device only.
    bool deviceState = t.state && model->vulkan;
    ok = ok && buffer->allocate(deviceState ? 0 : t.maxBytes());
    session->inputs.push_back(std::move(buffer));
    session->inputShapes.push_back(t.shape);
  }
  for (size_t i = 0; i < e->outputs.size(); ++i) {
    ok = ok && session->outputs[i].allocate(e->outputs[i].maxBytes());
    session->outputShapes.push_back(e->outputs[i].shape);
  }
  if (!ok)
    return fail(TFMC_ERROR_OUT_OF_MEMORY,
                "out of memory creating a session for entry '" + e->name +
                    "' (workspace " + std::to_string(e->workspaceBytes) +
                    " bytes)");
  if (model->vulkan)
    if (tfmc_status s = vk::createSession(*session))
      return s;
  *out = session.release();
  return TFMC_OK;
}

extern "C" void tfmc_session_destroy(tfmc_session *session) { delete session; }

extern "C" tfmc_status tfmc_session_share_state(tfmc_session *dst,
                                                const tfmc_session *src) {
  if (!dst || !src)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null session");
  if (dst->model != src->model)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "sessions of different models cannot share state");
  const EntrySpec &de = *dst->entry, &se = *src->entry;
  for (size_t i = 0; i < de.inputs.size(); ++i) {
    const TensorSpec &t = de.inputs[i];
    if (!t.state)
      continue;
    size_t j = 0;
    while (j < se.inputs.size() &&
           !(se.inputs[j].state && se.inputs[j].name == t.name))
      ++j;
    if (j == se.inputs.size() || se.inputs[j].shape != t.shape ||
        se.inputs[j].dtype != t.dtype)
      return fail(TFMC_ERROR_NOT_FOUND,
                  "entry '" + se.name + "' has no state '" + t.name +
                      "' of shape " + shapeString(t.shape) +
                      " to share with entry '" + de.name + "'");
    dst->inputs[i] = src->inputs[j];
  }
  vk::shareState(*dst, *src);
  return TFMC_OK;
}

/// The multi-index of flat element `flat` in `shape`, as "[i, j, ...]".
static std::string indexString(size_t flat, const std::vector<int64_t> &shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = static_cast<int64_t>(flat % shape[d]);
    flat /= shape[d];
  }
  return shapeString(idx);
}

static size_t findInput(const EntrySpec &e, const char *name) {
  for (size_t i = 0; i < e.inputs.size(); ++i)
    if (e.inputs[i].name == name)
      return i;
  return e.inputs.size();
}

/// Element `i` of int32 or int64 token ids.
static int64_t idAt(tfmc_dtype dtype, const void *data, size_t i) {
  if (dtype == TFMC_DTYPE_INT32)
    return static_cast<const int32_t *>(data)[i];
  return static_cast<const int64_t *>(data)[i];
}

/// The checks of tfmc_session_set_input / bind_input: `index` and `given`
/// (the shape) are set when they pass.
static tfmc_status checkInput(const tfmc_session *session, const char *fn,
                              const char *name, tfmc_dtype dtype,
                              int32_t rank, const int64_t *shape,
                              const void *data, size_t &index,
                              std::vector<int64_t> &given) {
  if (!session || !name || (rank > 0 && !shape) || rank < 0)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                std::string(fn) + ": null argument or negative rank");
  const EntrySpec &e = *session->entry;
  index = findInput(e, name);
  if (index == e.inputs.size()) {
    std::string names;
    for (const TensorSpec &t : e.inputs)
      if (!t.state)
        names += (names.empty() ? "" : ", ") + t.name;
    return fail(TFMC_ERROR_NOT_FOUND, "entry '" + e.name + "' has no input '" +
                                          name + "' (its inputs: " + names +
                                          ")");
  }
  const TensorSpec &spec = e.inputs[index];
  std::string what = "input '" + spec.name + "'";
  if (spec.state)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                what + " is state the session owns (a KV cache); share it "
                       "between sessions with tfmc_session_share_state");
  bool widen = spec.dtype == TFMC_DTYPE_INT64 && dtype == TFMC_DTYPE_INT32;
  if (dtype != spec.dtype && !widen)
    return fail(TFMC_ERROR_DTYPE, what + " must be " +
                                      tfmc_dtype_name(spec.dtype) + ", got " +
                                      tfmc_dtype_name(dtype));
  given.assign(shape, shape + rank);
  bool shapeOk = given.size() == spec.shape.size();
  for (size_t d = 0; shapeOk && d < given.size(); ++d)
    shapeOk = spec.shape[d] < 0 ? given[d] >= 0 : given[d] == spec.shape[d];
  if (!shapeOk) {
    std::string expected = "[";
    for (size_t d = 0; d < spec.shape.size(); ++d)
      expected +=
          (d ? ", " : "") + (spec.shape[d] < 0 ? spec.dimNames[d]
                                               : std::to_string(spec.shape[d]));
    return fail(TFMC_ERROR_SHAPE,
                what + " must have shape " + expected + "]" + ", got " +
                    shapeString(given) +
                    (spec.dynamic() ? ""
                                    : " (the model was compiled for these "
                                      "sizes; recompile with --batch/"
                                      "--seq-len to change them)"));
  }
  for (size_t d = 0; d < given.size(); ++d) {
    if (spec.shape[d] >= 0)
      continue;
    const DimBound &b = e.dims.at(spec.dimNames[d]);
    if (given[d] < b.min || given[d] > b.max)
      return fail(TFMC_ERROR_SHAPE,
                  what + ": dimension '" + spec.dimNames[d] + "' is " +
                      std::to_string(given[d]) + "; the model allows " +
                      std::to_string(b.min) + " to " + std::to_string(b.max));
  }
  size_t n = TensorSpec::product(given);
  if (n && !data)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, what + ": null data");

  if (spec.idBound > 0)
    for (size_t i = 0; i < n; ++i) {
      int64_t v = idAt(dtype, data, i);
      if (v < 0 || v >= spec.idBound)
        return fail(TFMC_ERROR_RANGE,
                    what + indexString(i, given) + " = " + std::to_string(v) +
                        " is out of range: ids must lie in [0, " +
                        std::to_string(spec.idBound) +
                        ") (the vocabulary size)");
    }
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_session_set_input(tfmc_session *session,
                                              const char *name,
                                              tfmc_dtype dtype, int32_t rank,
                                              const int64_t *shape,
                                              const void *data) {
  size_t index;
  std::vector<int64_t> given;
  if (tfmc_status s = checkInput(session, "tfmc_session_set_input", name,
                                 dtype, rank, shape, data, index, given))
    return s;
  bool widen = dtype != session->entry->inputs[index].dtype;
  size_t n = TensorSpec::product(given);
  void *dst = session->inputs[index]->data();
  if (widen) {
    auto *d = static_cast<int64_t *>(dst);
    for (size_t i = 0; i < n; ++i)
      d[i] = idAt(dtype, data, i);
  } else if (n) {
    std::memcpy(dst, data, n * tfmc_dtype_size(dtype));
  }
  session->inputShapes[index] = std::move(given);
  session->inputSet[index] = true;
  session->boundInputs[index] = nullptr;
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_session_bind_input(tfmc_session *session,
                                               const char *name,
                                               tfmc_dtype dtype, int32_t rank,
                                               const int64_t *shape,
                                               const void *data) {
  // Dtype and alignment first: the value checks read the data.
  if (session && name) {
    const EntrySpec &e = *session->entry;
    size_t i = findInput(e, name);
    if (i < e.inputs.size() && !e.inputs[i].state) {
      const TensorSpec &spec = e.inputs[i];
      if (dtype != spec.dtype)
        return fail(TFMC_ERROR_DTYPE, "input '" + spec.name + "' must be " +
                                          tfmc_dtype_name(spec.dtype) +
                                          " to be bound in place, got " +
                                          tfmc_dtype_name(dtype));
      if (reinterpret_cast<uintptr_t>(data) % tfmc_dtype_size(dtype))
        return fail(TFMC_ERROR_INVALID_ARGUMENT,
                    "input '" + spec.name + "': data is not aligned to its " +
                        std::to_string(tfmc_dtype_size(dtype)) +
                        "-byte elements");
    }
  }
  size_t index;
  std::vector<int64_t> given;
  if (tfmc_status s = checkInput(session, "tfmc_session_bind_input", name,
                                 dtype, rank, shape, data, index, given))
    return s;
  // A zero-size input has no memory to point at: its own buffer serves.
  session->boundInputs[index] = TensorSpec::product(given) ? data : nullptr;
  session->inputShapes[index] = std::move(given);
  session->inputSet[index] = true;
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_session_bind_output(tfmc_session *session,
                                                const char *name, void *data,
                                                size_t capacity) {
  if (!session || !name)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_session_bind_output: null argument");
  const EntrySpec &e = *session->entry;
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    const TensorSpec &t = e.outputs[o];
    if (t.name != name)
      continue;
    if (data && capacity < t.maxBytes())
      return fail(TFMC_ERROR_INVALID_ARGUMENT,
                  "output '" + t.name + "' needs " +
                      std::to_string(t.maxBytes()) +
                      " bytes (its largest shape), got " +
                      std::to_string(capacity));
    if (reinterpret_cast<uintptr_t>(data) % tfmc_dtype_size(t.dtype))
      return fail(TFMC_ERROR_INVALID_ARGUMENT,
                  "output '" + t.name + "': data is not aligned to its " +
                      std::to_string(tfmc_dtype_size(t.dtype)) +
                      "-byte elements");
    session->boundOutputs[o] = data;
    // What an earlier run wrote is no longer where get_output looks.
    session->ran = false;
    return TFMC_OK;
  }
  return fail(TFMC_ERROR_NOT_FOUND,
              "entry '" + e.name + "' has no output '" + name + "'");
}

extern "C" tfmc_status tfmc_session_set_num_threads(tfmc_session *session,
                                                    int32_t threads) {
  if (!session)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null session");
  if (threads < 0 || threads > TFMC_MAX_THREADS)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "the number of threads must lie in [0, " +
                    std::to_string(TFMC_MAX_THREADS) +
                    "] (0: one per core), got " + std::to_string(threads));
  session->threads = threads;
  return TFMC_OK;
}

/// A KV-cache entry takes the number of cached tokens as TFMC_IO_PAST_LENGTH:
/// the new tokens must fit after them.
static tfmc_status checkCacheRoom(const tfmc_session &s) {
  const EntrySpec &e = *s.entry;
  size_t past = findInput(e, TFMC_IO_PAST_LENGTH);
  if (past == e.inputs.size() || e.inputs[past].shape.size() != 0 ||
      e.inputs[past].dtype != TFMC_DTYPE_INT64)
    return TFMC_OK;
  int64_t capacity = -1;
  for (const TensorSpec &t : e.inputs)
    if (t.state && t.shape.size() >= 2)
      capacity = t.shape[1];
  if (capacity < 0 || e.inputs.empty() || s.inputShapes[0].size() < 2)
    return TFMC_OK;
  int64_t cached = *static_cast<const int64_t *>(s.inputData(past));
  int64_t fresh = s.inputShapes[0][1];
  if (cached < 0 || cached + fresh > capacity)
    return fail(TFMC_ERROR_RANGE,
                "entry '" + e.name + "': past_length " +
                    std::to_string(cached) + " + " + std::to_string(fresh) +
                    " new token(s) do not fit the KV cache of " +
                    std::to_string(capacity) +
                    " positions (the model's max_seq_len)");
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_session_run(tfmc_session *session) {
  if (!session)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null session");
  const EntrySpec &e = *session->entry;
  std::string missing;
  for (size_t i = 0; i < e.inputs.size(); ++i)
    if (!e.inputs[i].state && !session->inputSet[i])
      missing += (missing.empty() ? "" : ", ") + e.inputs[i].name;
  if (!missing.empty())
    return fail(TFMC_ERROR_MISSING_INPUT,
                "entry '" + e.name +
                    "' cannot run: input(s) not set: " + missing);
  // Named dimensions: equal in every input that has them.
  std::map<std::string, std::pair<int64_t, std::string>> sizes;
  std::vector<int64_t> dims;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    const TensorSpec &t = e.inputs[i];
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (t.shape[d] >= 0)
        continue;
      int64_t v = session->inputShapes[i][d];
      auto [it, fresh] =
          sizes.insert({t.dimNames[d], std::make_pair(v, t.name)});
      if (!fresh && it->second.first != v)
        return fail(TFMC_ERROR_SHAPE, "dimension '" + t.dimNames[d] + "' is " +
                                          std::to_string(it->second.first) +
                                          " in input '" + it->second.second +
                                          "' but " + std::to_string(v) +
                                          " in input '" + t.name + "'");
      dims.push_back(v);
    }
  }
  if (tfmc_status s = checkCacheRoom(*session))
    return s;
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    const TensorSpec &t = e.outputs[o];
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (t.shape[d] >= 0)
        continue;
      auto it = sizes.find(t.dimNames[d]);
      if (it == sizes.end())
        return fail(TFMC_ERROR_FORMAT, "output '" + t.name +
                                           "' has dimension '" + t.dimNames[d] +
                                           "', which no input determines");
      session->outputShapes[o][d] = it->second.first;
      dims.push_back(it->second.first);
    }
  }
  std::vector<void *> buffers;
  for (size_t i = 0; i < e.inputs.size(); ++i)
    buffers.push_back(const_cast<void *>(session->inputData(i)));
  for (size_t o = 0; o < e.outputs.size(); ++o)
    buffers.push_back(session->outputData(o));
  buffers.push_back(session->model->weights);
  buffers.push_back(session->workspace.data());
  dims.push_back(0); // never empty
  if (session->vulkan) {
    if (tfmc_status s = vk::run(*session))
      return s;
    session->ran = true;
    return TFMC_OK;
  }
  if (session->threads > 0 && session->model->setNumThreads)
    session->model->setNumThreads(session->threads);
  session->function(buffers.data(), dims.data());
  session->ran = true;
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_session_enable_profiling(tfmc_session *session,
                                                     int enable) {
  if (!session)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null session");
  if (!session->vulkan)
    return TFMC_OK; // CPU artifacts record nothing
  return vk::enableProfiling(*session, enable != 0);
}

extern "C" size_t tfmc_session_profile(const tfmc_session *session,
                                       tfmc_profile_entry *entries,
                                       size_t capacity) {
  if (!session || !session->vulkan)
    return 0;
  return vk::profile(*session, entries, capacity);
}

extern "C" tfmc_status tfmc_session_get_output(const tfmc_session *session,
                                               const char *name,
                                               tfmc_tensor_view *view) {
  if (!session || !name || !view)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_session_get_output: null argument");
  const EntrySpec &e = *session->entry;
  for (size_t i = 0; i < e.outputs.size(); ++i) {
    if (e.outputs[i].name != name)
      continue;
    if (!session->ran)
      return fail(TFMC_ERROR_STATE, "output '" + e.outputs[i].name +
                                        "' read before a successful run");
    const std::vector<int64_t> &shape = session->outputShapes[i];
    view->name = e.outputs[i].name.c_str();
    view->dtype = e.outputs[i].dtype;
    view->rank = static_cast<int32_t>(shape.size());
    std::memset(view->shape, 0, sizeof(view->shape));
    std::copy(shape.begin(), shape.end(), view->shape);
    view->data = session->outputData(i);
    view->bytes = TensorSpec::product(shape) * tfmc_dtype_size(view->dtype);
    return TFMC_OK;
  }
  std::string names;
  for (const TensorSpec &t : e.outputs)
    names += (names.empty() ? "" : ", ") + t.name;
  return fail(TFMC_ERROR_NOT_FOUND, "entry '" + e.name + "' has no output '" +
                                        name + "' (its outputs: " + names +
                                        ")");
}
