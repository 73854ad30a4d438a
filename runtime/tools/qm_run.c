/* qm_run: the host runner of the native runtime.
 *
 *   qm_run MODEL.qm INPUT.bin OUTPUT.bin [--dump DUMP.bin]   run every sample of INPUT.bin
 *   qm_run MODEL.qm --info                                    print inputs, outputs and the arena size
 *   qm_run MODEL.qm --check                                   load and validate only
 *   qm_run MODEL.qm --time N                                  time N runs on zero input (microseconds per run)
 *   qm_run --kernels                                          print the kernels built in (avx2, sse4.1, neon, portable)
 *
 * INPUT.bin holds samples back to back, each the bytes of every model input in order (int8/uint8,
 * quantized); OUTPUT.bin receives, per sample, the bytes of every output. --dump appends, per sample,
 * the output bytes of every op in order. Exit status: 0 ok, 2 usage, 3 I/O, 10 + qm_status otherwise. */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qm.h"

#define MAX_ARENA (512u << 20)

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  uint8_t *data = NULL;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    data = malloc((size_t)n + 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
      free(data);
      data = NULL;
    }
    *size = (size_t)n;
  }
  fclose(f);
  return data;
}

typedef struct {
  FILE *file;
  int failed;
} dump_context;

static void dump_op(void *context, uint32_t op_index, const qm_model *model, const uint8_t *arena) {
  dump_context *d = context;
  qm_tensor_info info;
  if (qm_op_output_info(model, op_index, &info) != QM_OK ||
      fwrite(arena + info.offset, 1, info.size, d->file) != info.size) {
    d->failed = 1;
  }
}

static const char *dtype_name(uint8_t dtype) {
  static const char *names[] = {"int8", "uint8", "int16", "int32", "float32"};
  return dtype < 5 ? names[dtype] : "?";
}

static void print_info(const char *kind, const qm_tensor_info *t) {
  uint32_t i;
  printf("%s %.*s %s [", kind, (int)t->name_len, t->name, dtype_name(t->dtype));
  for (i = 0; i < t->rank; i++) printf(i ? ",%d" : "%d", (int)t->shape[i]);
  printf("] scale %.9g zero_point %d bytes %u\n", (double)t->scale, (int)t->zero_point, (unsigned)t->size);
}

static int run_samples(const qm_model *model, uint8_t *arena, const char *in_path, const char *out_path,
                       const char *dump_path) {
  size_t input_size = 0, sample_in = 0, samples, s;
  uint8_t *input = NULL;
  FILE *out = NULL;
  dump_context dump = {NULL, 0};
  qm_tensor_info t;
  qm_status status;
  uint32_t i;
  int rc = 0;
  for (i = 0; i < qm_input_count(model); i++) {
    if (qm_input_info(model, i, &t) != QM_OK) return 10 + QM_ERR_MALFORMED;
    sample_in += t.size;
  }
  input = read_file(in_path, &input_size);
  if (!input) {
    fprintf(stderr, "qm_run: cannot read %s\n", in_path);
    return 3;
  }
  if (sample_in == 0 || input_size % sample_in != 0) {
    fprintf(stderr, "qm_run: %s has %lu bytes, not a multiple of the %lu input bytes per sample\n", in_path,
            (unsigned long)input_size, (unsigned long)sample_in);
    rc = 2;
    goto done;
  }
  samples = input_size / sample_in;
  out = fopen(out_path, "wb");
  if (!out || (dump_path && !(dump.file = fopen(dump_path, "wb")))) {
    rc = 3;
    goto done;
  }
  for (s = 0; s < samples && rc == 0; s++) {
    size_t at = s * sample_in;
    for (i = 0; i < qm_input_count(model); i++) {
      qm_input_info(model, i, &t);
      memcpy(arena + t.offset, input + at, t.size);
      at += t.size;
    }
    status = qm_run(model, arena, qm_arena_size(model) + 1, dump.file ? dump_op : NULL, &dump);
    if (status != QM_OK) {
      fprintf(stderr, "qm_run: sample %lu: %s\n", (unsigned long)s, qm_status_name(status));
      rc = 10 + (int)status;
      break;
    }
    for (i = 0; i < qm_output_count(model); i++) {
      qm_output_info(model, i, &t);
      if (fwrite(arena + t.offset, 1, t.size, out) != t.size) rc = 3;
    }
  }
done:
  if (out && fclose(out) != 0 && rc == 0) rc = 3;
  if (dump.file && (fclose(dump.file) != 0 || dump.failed) && rc == 0) rc = 3;
  free(input);
  return rc;
}

int main(int argc, char **argv) {
  qm_model model;
  qm_status status;
  size_t model_size = 0;
  uint8_t *bytes = NULL, *arena = NULL;
  uint32_t i;
  int rc = 0;
  if (argc == 2 && strcmp(argv[1], "--kernels") == 0) {
    printf("%s\n", qm_kernels());
    return 0;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: qm_run MODEL.qm (INPUT.bin OUTPUT.bin [--dump DUMP.bin] | --info | --check | --time N)\n"
                    "       qm_run --kernels\n");
    return 2;
  }
  bytes = read_file(argv[1], &model_size);
  if (!bytes) {
    fprintf(stderr, "qm_run: cannot read %s\n", argv[1]);
    return 3;
  }
  status = qm_load(&model, bytes, model_size);
  if (status != QM_OK) {
    fprintf(stderr, "qm_run: %s: %s\n", argv[1], qm_status_name(status));
    rc = 10 + (int)status;
    goto done;
  }
  if (strcmp(argv[2], "--check") == 0) goto done;
  if (qm_arena_size(&model) > MAX_ARENA) {
    fprintf(stderr, "qm_run: arena of %u bytes is too large\n", (unsigned)qm_arena_size(&model));
    rc = 10 + QM_ERR_ARGUMENT;
    goto done;
  }
  arena = calloc(qm_arena_size(&model) + 1, 1);
  if (!arena) {
    rc = 3;
    goto done;
  }
  if (strcmp(argv[2], "--info") == 0) {
    qm_tensor_info t;
    printf("arena %u ops %u\n", (unsigned)qm_arena_size(&model), (unsigned)qm_op_count(&model));
    for (i = 0; i < qm_input_count(&model); i++) {
      if (qm_input_info(&model, i, &t) == QM_OK) print_info("input", &t);
    }
    for (i = 0; i < qm_output_count(&model); i++) {
      if (qm_output_info(&model, i, &t) == QM_OK) print_info("output", &t);
    }
  } else if (strcmp(argv[2], "--time") == 0) {
    long runs = argc >= 4 ? strtol(argv[3], NULL, 10) : 0, r;
    struct timespec t0, t1;
    if (runs < 1) {
      rc = 2;
      goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (r = 0; r < runs && rc == 0; r++) {
      status = qm_run(&model, arena, qm_arena_size(&model) + 1, NULL, NULL);
      if (status != QM_OK) rc = 10 + (int)status;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0) {
      printf("%.3f\n", ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / (double)runs);
    }
  } else if (argc >= 4) {
    rc = run_samples(&model, arena, argv[2], argv[3], argc >= 6 && strcmp(argv[4], "--dump") == 0 ? argv[5] : NULL);
  } else {
    rc = 2;
  }
done:
  free(arena);
  free(bytes);
  return rc;
}
