/* run_model: the tfmc runtime's C API from a program of your own.
 *
 *   run_model ARTIFACT_DIR ID [ID ...]
 *
 * Opens an artifact (compiled with `tfmc MODEL -o DIR`), lists its entries,
 * runs the main entry ("forward") on one sequence of token ids and prints
 * the first values of each output. Every failure prints the runtime's
 * message and exits 1. Build it against an installed tfmc with pkg-config
 * or CMake (see README.md in this directory). */
#include <tfmc/runtime.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what) {
  fprintf(stderr, "run_model: %s: %s\n", what, tfmc_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: run_model ARTIFACT_DIR ID [ID ...]\n");
    return 2;
  }
  tfmc_model *model = NULL;
  if (tfmc_model_open(argv[1], &model) != TFMC_OK)
    return fail(argv[1]);
  printf("%s model on %s; entries:", tfmc_model_family(model),
         tfmc_model_device(model));
  for (size_t i = 0; i < tfmc_model_num_entries(model); ++i)
    printf(" %s", tfmc_model_entry_name(model, i));
  printf("\n");

  size_t n = (size_t)(argc - 2);
  int64_t *ids = malloc(n * sizeof(int64_t));
  for (size_t i = 0; i < n; ++i)
    ids[i] = strtoll(argv[i + 2], NULL, 10);
  int64_t shape[2] = {1, (int64_t)n};

  tfmc_session *s = NULL;
  int rc = 0;
  if (tfmc_session_create(model, "forward", &s) != TFMC_OK) {
    rc = fail("forward");
    goto done;
  }
  if (tfmc_session_set_input(s, "input_ids", TFMC_DTYPE_INT64, 2, shape,
                             ids) != TFMC_OK ||
      tfmc_session_run(s) != TFMC_OK) {
    rc = fail("forward");
    goto done;
  }
  size_t inputs = 0, outputs = 0;
  tfmc_model_entry_signature(model, "forward", &inputs, &outputs);
  for (size_t o = 0; o < outputs; ++o) {
    tfmc_tensor_spec spec;
    tfmc_tensor_view v;
    tfmc_model_entry_output(model, "forward", o, &spec);
    if (tfmc_session_get_output(s, spec.name, &v) != TFMC_OK) {
      rc = fail(spec.name);
      goto done;
    }
    printf("%s [", v.name);
    for (int32_t d = 0; d < v.rank; ++d)
      printf("%s%lld", d ? ", " : "", (long long)v.shape[d]);
    printf("]:");
    const float *f = v.data;
    for (size_t i = 0; v.dtype == TFMC_DTYPE_FLOAT32 && i < 4; ++i)
      printf(" %.5f", f[i]);
    printf("\n");
  }
done:
  tfmc_session_destroy(s);
  tfmc_model_close(model);
  free(ids);
  return rc;
}
