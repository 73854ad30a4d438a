/* int8-runner: runs an ONNX model through the ONNX Runtime C API on a device and times it.
 *
 *   int8-runner --model M.onnx --input NAME=FILE.npy [--input ...] [--out-dir DIR]
 *               [--warmup N=3] [--runs M=20] [--threads T=1] [--pin CPU[,CPU...]] [--samples K]
 *
 * Contract: notes/runner_contract.md. Inputs are .npy files holding K samples stacked on axis 0; each
 * sample is fed with the model's own shape (a dynamic dim 0 counts as 1). Every graph output is written
 * to DIR/<index>.npy (default DIR: "."), the K samples concatenated on axis 0. Timing: warm-ups, then
 * timed runs of sample 0, each timed with CLOCK_MONOTONIC around OrtRun. stdout: one JSON line.
 * Errors: one line on stderr; exit 2 usage, 3 I/O or bad .npy, 4 ONNX Runtime (load, run).
 *
 * --pin: thread i of the T intra-op threads runs on CPU pin[i mod n]; thread 0 is the calling thread
 * (sched_setaffinity), threads 1..T-1 are ORT's pool (session.intra_op_thread_affinities, 1-based ids).
 *
 * Built by scripts/runner/build.sh against the header of Debian trixie's libonnxruntime-dev (ORT API 21)
 * and linked to the libonnxruntime.so.1 shipped beside it (rpath $ORIGIN). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <onnxruntime_c_api.h>

#define RUNNER_ID "int8-runner/1"
#define EXIT_USAGE 2
#define EXIT_IO 3
#define EXIT_ORT 4
#define MAX_INPUTS 64
#define MAX_RANK 16
#define MAX_PINS 256

static const OrtApi *ort;

static void fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(int code, const char *fmt, ...) {
  va_list ap;
  fputs("int8-runner: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  /* _exit: ORT's static destructors must not run while its pool threads may still exist. */
  _exit(code);
}

/* Ends the process with the status's message when an ORT call failed; `what` names the file or tensor. */
static void check(OrtStatus *status, const char *what) {
  if (!status) return;
  char message[1024];
  snprintf(message, sizeof message, "%s", ort->GetErrorMessage(status));
  ort->ReleaseStatus(status);
  for (char *p = message; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  fail(EXIT_ORT, "%s: %s", what, message);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) fail(EXIT_IO, "out of memory (%zu bytes)", n);
  return p;
}

/* ---- element types ---------------------------------------------------------------------------- */

typedef struct {
  ONNXTensorElementDataType type;
  const char *descr; /* .npy descr written; also accepted on read when `readable` */
  const char *name;  /* JSON dtype */
  size_t size;
  int readable;
} DType;

static const DType DTYPES[] = {
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "<f4", "float32", 4, 1},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8, "|i1", "int8", 1, 1},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, "|u1", "uint8", 1, 1},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, "<i4", "int32", 4, 1},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "<i8", "int64", 8, 1},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16, "<i2", "int16", 2, 0},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16, "<u2", "uint16", 2, 0},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32, "<u4", "uint32", 4, 0},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64, "<u8", "uint64", 8, 0},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, "<f8", "float64", 8, 0},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, "<f2", "float16", 2, 0},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "|b1", "bool", 1, 0},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

static const DType *dtype_of(ONNXTensorElementDataType type) {
  for (size_t i = 0; i < N_DTYPES; i++)
    if (DTYPES[i].type == type) return &DTYPES[i];
  return NULL;
}

/* ---- .npy -------------------------------------------------------------------------------------- */

typedef struct {
  const DType *dtype;
  int rank;
  int64_t shape[MAX_RANK];
  size_t count; /* elements */
  void *data;   /* 64-byte aligned copy of the payload */
} Npy;

/* Reads a whole file; NULL with errno set on failure. Refuses files over `limit` bytes. */
static unsigned char *read_file(const char *path, size_t *size, size_t limit) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0;
  unsigned char *buf = xmalloc(cap);
  for (;;) {
    if (len == cap) {
      if (cap > limit) {
        fclose(f);
        free(buf);
        errno = EFBIG;
        return NULL;
      }
      cap *= 2;
      unsigned char *grown = realloc(buf, cap);
      if (!grown) fail(EXIT_IO, "%s: out of memory", path);
      buf = grown;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    errno = EIO;
    return NULL;
  }
  *size = len;
  return buf;
}

/* Finds `'key':` in the header dict and returns the text after the colon, spaces skipped. */
static const char *npy_value(const char *header, const char *key) {
  char quoted[32];
  snprintf(quoted, sizeof quoted, "'%s'", key);
  const char *p = strstr(header, quoted);
  if (!p) return NULL;
  p += strlen(quoted);
  while (*p == ' ') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

/* Parses a .npy file (format 1.0, 2.0 or 3.0; C order; little-endian or byte-sized dtypes). */
static void npy_read(const char *path, Npy *out) {
  size_t size = 0;
  unsigned char *bytes = read_file(path, &size, (size_t)1 << 34);
  if (!bytes) fail(EXIT_IO, "cannot read %s: %s", path, strerror(errno));
  if (size < 10 || memcmp(bytes, "\x93NUMPY", 6) != 0) fail(EXIT_IO, "%s: not a .npy file (bad magic)", path);
  unsigned major = bytes[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = (size_t)bytes[8] | (size_t)bytes[9] << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) fail(EXIT_IO, "%s: truncated .npy header", path);
    header_len = (size_t)bytes[8] | (size_t)bytes[9] << 8 | (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
    start = 12;
  } else {
    fail(EXIT_IO, "%s: unsupported .npy version %u", path, major);
  }
  if (header_len > size - start) fail(EXIT_IO, "%s: truncated .npy header (%zu bytes announced)", path, header_len);
  char *header = xmalloc(header_len + 1);
  memcpy(header, bytes + start, header_len);
  header[header_len] = 0;
  if (strlen(header) != header_len) fail(EXIT_IO, "%s: .npy header contains a NUL byte", path);

  const char *descr = npy_value(header, "descr");
  if (!descr || *descr != '\'') fail(EXIT_IO, "%s: .npy header has no 'descr'", path);
  descr++;
  const char *end = strchr(descr, '\'');
  if (!end || end - descr < 2 || end - descr > 8) fail(EXIT_IO, "%s: .npy 'descr' is malformed", path);
  char code[9] = {0};
  memcpy(code, descr, (size_t)(end - descr));
  out->dtype = NULL;
  for (size_t i = 0; i < N_DTYPES && !out->dtype; i++) {
    const DType *d = &DTYPES[i];
    if (!d->readable || strcmp(code + 1, d->descr + 1) != 0) continue;
    /* '<' little-endian, '|' not applicable, '=' native (every target is little-endian). */
    if (code[0] == '<' || code[0] == '=' || (code[0] == '|' && d->size == 1) || (code[0] == '>' && d->size == 1))
      out->dtype = d;
  }
  if (!out->dtype) fail(EXIT_IO, "%s: dtype '%s' is not supported (f4, i1, u1, i4, i8; little-endian)", path, code);

  const char *fortran = npy_value(header, "fortran_order");
  if (!fortran || strncmp(fortran, "False", 5) != 0) {
    fail(EXIT_IO, "%s: only C-order .npy files are supported (fortran_order must be False)", path);
  }

  const char *p = npy_value(header, "shape");
  if (!p || *p != '(') fail(EXIT_IO, "%s: .npy header has no 'shape' tuple", path);
  p++;
  out->rank = 0;
  size_t count = 1;
  int overflow = 0;
  for (;;) {
    while (*p == ' ') p++;
    if (*p == ')') break;
    if (*p < '0' || *p > '9') fail(EXIT_IO, "%s: .npy 'shape' is malformed", path);
    if (out->rank == MAX_RANK) fail(EXIT_IO, "%s: .npy has more than %d dimensions", path, MAX_RANK);
    uint64_t dim = 0;
    int too_long = 0;
    while (*p >= '0' && *p <= '9') {
      if (dim > (uint64_t)INT64_MAX / 10) too_long = 1;
      else dim = dim * 10 + (uint64_t)(*p - '0');
      p++;
    }
    if (*p == 'L') p++; /* numpy under Python 2 */
    if (too_long || dim > (uint64_t)INT64_MAX) fail(EXIT_IO, "%s: .npy dimension is too large", path);
    out->shape[out->rank++] = (int64_t)dim;
    if (dim != 0 && count > SIZE_MAX / dim) overflow = 1;
    else count *= (size_t)dim;
    while (*p == ' ') p++;
    if (*p == ',') p++;
    else if (*p != ')') fail(EXIT_IO, "%s: .npy 'shape' is malformed", path);
  }
  free(header);
  size_t payload = size - start - header_len;
  if (overflow || count > SIZE_MAX / out->dtype->size) {
    fail(EXIT_IO, "%s: .npy shape is too large for this device", path);
  }
  if (count * out->dtype->size != payload) {
    fail(EXIT_IO, "%s: .npy shape holds %zu bytes of data but the file has %zu", path, count * out->dtype->size,
         payload);
  }
  out->count = count;
  /* A private aligned copy: the payload's offset in the file is not always a multiple of the element size. */
  size_t rounded = (payload + 63) / 64 * 64;
  out->data = aligned_alloc(64, rounded ? rounded : 64);
  if (!out->data) fail(EXIT_IO, "%s: out of memory (%zu bytes)", path, payload);
  memcpy(out->data, bytes + start + header_len, payload);
  free(bytes);
}

/* Writes a .npy (format 1.0, header padded to a multiple of 64 like numpy). */
static void npy_write(const char *path, const DType *dtype, int rank, const int64_t *shape, const void *data,
                      size_t bytes) {
  char header[512];
  int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", dtype->descr);
  for (int i = 0; i < rank; i++) {
    n += snprintf(header + n, sizeof header - (size_t)n, "%s%lld", i ? ", " : "", (long long)shape[i]);
  }
  n += snprintf(header + n, sizeof header - (size_t)n, "%s), }", rank == 1 ? "," : "");
  size_t total = (size_t)(10 + n + 1 + 63) / 64 * 64;
  if (total - 10 >= sizeof header) fail(EXIT_IO, "%s: .npy header too long", path);
  memset(header + n, ' ', total - 10 - (size_t)n);
  header[total - 10 - 1] = '\n';
  unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)((total - 10) & 0xff),
                              (unsigned char)((total - 10) >> 8)};
  FILE *f = fopen(path, "wb");
  if (!f) fail(EXIT_IO, "cannot write %s: %s", path, strerror(errno));
  int ok = fwrite(prefix, 1, 10, f) == 10 && fwrite(header, 1, total - 10, f) == total - 10 &&
           fwrite(data, 1, bytes, f) == bytes;
  if (fclose(f) != 0 || !ok) fail(EXIT_IO, "cannot write %s: %s", path, strerror(errno));
}

/* ---- arguments --------------------------------------------------------------------------------- */

typedef struct {
  const char *name, *file;
} InputArg;

typedef struct {
  const char *model, *out_dir;
  InputArg inputs[MAX_INPUTS];
  int n_inputs;
  long warmup, runs, threads, samples;
  int pins[MAX_PINS], n_pins;
} Options;

static long parse_count(const char *flag, const char *text, long min, long max) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max) {
    fail(EXIT_USAGE, "%s %s: expected an integer in [%ld, %ld]", flag, text, min, max);
  }
  return v;
}

static void usage(void) {
  fail(EXIT_USAGE, "usage: int8-runner --model M.onnx --input NAME=FILE.npy [--input ...] [--out-dir DIR] "
                   "[--warmup N] [--runs M] [--threads T] [--pin CPU[,CPU...]] [--samples K]");
}

static void parse_args(int argc, char **argv, Options *o) {
  memset(o, 0, sizeof *o);
  o->out_dir = ".";
  o->warmup = 3;
  o->runs = 20;
  o->threads = 1;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) usage();
    if (i + 1 >= argc) fail(EXIT_USAGE, "%s: missing value", flag);
    const char *v = argv[++i];
    if (strcmp(flag, "--model") == 0) o->model = v;
    else if (strcmp(flag, "--out-dir") == 0) o->out_dir = v;
    else if (strcmp(flag, "--warmup") == 0) o->warmup = parse_count(flag, v, 0, 1000000);
    else if (strcmp(flag, "--runs") == 0) o->runs = parse_count(flag, v, 1, 1000000);
    else if (strcmp(flag, "--threads") == 0) o->threads = parse_count(flag, v, 1, 256);
    else if (strcmp(flag, "--samples") == 0) o->samples = parse_count(flag, v, 1, INT_MAX);
    else if (strcmp(flag, "--input") == 0) {
      const char *eq = strchr(v, '=');
      if (!eq || eq == v || !eq[1]) fail(EXIT_USAGE, "--input %s: expected NAME=FILE.npy", v);
      if (o->n_inputs == MAX_INPUTS) fail(EXIT_USAGE, "more than %d --input", MAX_INPUTS);
      size_t len = (size_t)(eq - v);
      char *name = xmalloc(len + 1);
      memcpy(name, v, len);
      name[len] = 0;
      for (int k = 0; k < o->n_inputs; k++)
        if (strcmp(o->inputs[k].name, name) == 0) fail(EXIT_USAGE, "--input %s given twice", name);
      o->inputs[o->n_inputs++] = (InputArg){name, eq + 1};
    } else if (strcmp(flag, "--pin") == 0) {
      const char *p = v;
      for (;;) {
        char *end;
        errno = 0;
        long cpu = strtol(p, &end, 10);
        if (errno || end == p || cpu < 0 || cpu >= CPU_SETSIZE || (*end && *end != ',')) {
          fail(EXIT_USAGE, "--pin %s: expected CPU numbers separated by commas", v);
        }
        if (o->n_pins == MAX_PINS) fail(EXIT_USAGE, "--pin %s: more than %d CPUs", v, MAX_PINS);
        o->pins[o->n_pins++] = (int)cpu;
        if (!*end) break;
        p = end + 1;
      }
    } else fail(EXIT_USAGE, "unknown option %s", flag);
  }
  if (!o->model) fail(EXIT_USAGE, "--model is required");
}

/* ---- device facts ------------------------------------------------------------------------------ */

/* Writes a JSON string (quoted, escaped); `null` for NULL. */
static void json_string(FILE *f, const char *s) {
  if (!s) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

/* ARM's CPU part numbers (MIDR bits 15:4, implementer 0x41) for the cores found in boards and phones. */
static const struct {
  unsigned part;
  const char *name;
} ARM_PARTS[] = {
    {0xd03, "Cortex-A53"}, {0xd04, "Cortex-A35"},   {0xd05, "Cortex-A55"},    {0xd07, "Cortex-A57"},
    {0xd08, "Cortex-A72"}, {0xd09, "Cortex-A73"},   {0xd0a, "Cortex-A75"},    {0xd0b, "Cortex-A76"},
    {0xd0c, "Neoverse-N1"}, {0xd0d, "Cortex-A77"},  {0xd40, "Neoverse-V1"},   {0xd41, "Cortex-A78"},
    {0xd44, "Cortex-X1"},  {0xd46, "Cortex-A510"},  {0xd47, "Cortex-A710"},   {0xd48, "Cortex-X2"},
    {0xd49, "Neoverse-N2"}, {0xd4b, "Cortex-A78C"}, {0xd4d, "Cortex-A715"},   {0xd4e, "Cortex-X3"},
    {0xd80, "Cortex-A520"}, {0xd81, "Cortex-A720"}, {0xd82, "Cortex-X4"},     {0xc07, "Cortex-A7"},
    {0xc09, "Cortex-A9"},  {0xc0f, "Cortex-A15"},   {0xc0d, "Cortex-A17"},
};

/* The value of the first "key : value" line of /proc/cpuinfo, trimmed, into `out`. */
static int cpuinfo_field(const char *text, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, klen) != 0) continue;
    const char *p = line + klen;
    while (*p == ' ' || *p == '\t') p++;
    if (*p != ':') continue;
    p++;
    while (*p == ' ' || *p == '\t') p++;
    size_t n = strcspn(p, "\n");
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r')) n--;
    if (n == 0) continue;
    if (n >= cap) n = cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return 1;
  }
  return 0;
}

static const char *cpu_model(char *out, size_t cap) {
  size_t size = 0;
  unsigned char *text = read_file("/proc/cpuinfo", &size, 1 << 22);
  if (!text) return NULL;
  char *nul = realloc(text, size + 1);
  if (!nul) fail(EXIT_IO, "out of memory");
  nul[size] = 0;
  const char *found = NULL;
  char part[32], implementer[32];
  if (cpuinfo_field(nul, "model name", out, cap) || cpuinfo_field(nul, "Hardware", out, cap)) {
    found = out;
  } else if (cpuinfo_field(nul, "CPU part", part, sizeof part)) {
    unsigned long id = strtoul(part, NULL, 16);
    unsigned long impl = cpuinfo_field(nul, "CPU implementer", implementer, sizeof implementer)
                             ? strtoul(implementer, NULL, 16)
                             : 0;
    snprintf(out, cap, "CPU implementer 0x%02lx part 0x%03lx", impl, id);
    for (size_t i = 0; impl == 0x41 && i < sizeof ARM_PARTS / sizeof ARM_PARTS[0]; i++)
      if (ARM_PARTS[i].part == id) snprintf(out, cap, "ARM %s", ARM_PARTS[i].name);
    found = out;
  }
  free(nul);
  return found;
}

/* ---- timing ------------------------------------------------------------------------------------ */

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* ---- model I/O --------------------------------------------------------------------------------- */

typedef struct {
  char *name;
  const DType *dtype;
  int rank;
  int64_t shape[MAX_RANK]; /* per sample, dynamic dims resolved */
  size_t sample_bytes;
  Npy npy;
  const char *file;
  long samples; /* in the file */
} Input;

typedef struct {
  char *name;
  const DType *dtype;
  int rank;
  int64_t shape[MAX_RANK]; /* of sample 0 */
  size_t sample_bytes;
  unsigned char *data; /* K samples */
} Output;

/* Reads the type and per-sample shape of model input `i` and its .npy file. */
static void load_input(OrtSession *session, OrtAllocator *alloc, size_t i, const Options *o, Input *in) {
  check(ort->SessionGetInputName(session, i, alloc, &in->name), o->model);
  in->file = NULL;
  for (int k = 0; k < o->n_inputs; k++)
    if (strcmp(o->inputs[k].name, in->name) == 0) in->file = o->inputs[k].file;
  if (!in->file) fail(EXIT_USAGE, "%s: model input '%s' has no --input %s=FILE.npy", o->model, in->name, in->name);

  OrtTypeInfo *info;
  check(ort->SessionGetInputTypeInfo(session, i, &info), o->model);
  enum ONNXType kind;
  check(ort->GetOnnxTypeFromTypeInfo(info, &kind), o->model);
  if (kind != ONNX_TYPE_TENSOR) fail(EXIT_ORT, "%s: input '%s' is not a tensor", o->model, in->name);
  const OrtTensorTypeAndShapeInfo *tensor;
  check(ort->CastTypeInfoToTensorInfo(info, &tensor), o->model);
  ONNXTensorElementDataType type;
  check(ort->GetTensorElementType(tensor, &type), o->model);
  size_t rank;
  check(ort->GetDimensionsCount(tensor, &rank), o->model);
  if (rank > MAX_RANK) fail(EXIT_ORT, "%s: input '%s' has more than %d dimensions", o->model, in->name, MAX_RANK);
  in->rank = (int)rank;
  check(ort->GetDimensions(tensor, in->shape, rank), o->model);
  ort->ReleaseTypeInfo(info);
  in->dtype = dtype_of(type);
  if (!in->dtype || !in->dtype->readable) {
    fail(EXIT_ORT, "%s: input '%s' has element type %d; .npy inputs are f4, i1, u1, i4 or i8", o->model, in->name,
         (int)type);
  }

  npy_read(in->file, &in->npy);
  Npy *npy = &in->npy;
  if (npy->dtype != in->dtype) {
    fail(EXIT_IO, "%s: dtype %s, but model input '%s' is %s", in->file, npy->dtype->name, in->name,
         in->dtype->name);
  }
  /* A scalar input: the file is [K]. Otherwise the file is [K * dim0, dims...] with the model's rank. */
  if (in->rank == 0) {
    if (npy->rank != 1) fail(EXIT_IO, "%s: model input '%s' is a scalar; expected a 1-D file", in->file, in->name);
    in->sample_bytes = in->dtype->size;
    in->samples = (long)npy->shape[0];
    return;
  }
  if (npy->rank != in->rank) {
    fail(EXIT_IO, "%s: %d-D, but model input '%s' is %d-D (samples are stacked on axis 0)", in->file, npy->rank,
         in->name, in->rank);
  }
  if (in->shape[0] <= 0) in->shape[0] = 1;
  for (int d = 1; d < in->rank; d++) {
    if (in->shape[d] <= 0) in->shape[d] = npy->shape[d];
    if (in->shape[d] != npy->shape[d]) {
      fail(EXIT_IO, "%s: dimension %d is %lld, but model input '%s' has %lld", in->file, d,
           (long long)npy->shape[d], in->name, (long long)in->shape[d]);
    }
  }
  if (npy->shape[0] == 0) fail(EXIT_IO, "%s: holds no samples (axis 0 is 0)", in->file);
  if (npy->shape[0] < in->shape[0] || npy->shape[0] % in->shape[0] != 0) {
    fail(EXIT_IO, "%s: %lld rows on axis 0 are not whole samples of %lld", in->file, (long long)npy->shape[0],
         (long long)in->shape[0]);
  }
  in->samples = (long)(npy->shape[0] / in->shape[0]);
  /* One sample is at most the whole file (checked above), so this cannot overflow. */
  in->sample_bytes = npy->count / (size_t)in->samples * in->dtype->size;
}

/* Runs sample `s` (or sample 0 for timing); the caller releases the outputs. */
static void run_once(OrtSession *session, const OrtMemoryInfo *memory, Input *inputs, size_t n_in,
                     const char *const *in_names, const char *const *out_names, size_t n_out, OrtValue **outs,
                     long s, const char *model, double *elapsed_us) {
  OrtValue *values[MAX_INPUTS];
  for (size_t i = 0; i < n_in; i++) {
    Input *in = &inputs[i];
    values[i] = NULL;
    void *at = (unsigned char *)in->npy.data + (size_t)s * in->sample_bytes;
    check(ort->CreateTensorWithDataAsOrtValue(memory, at, in->sample_bytes, in->shape, (size_t)in->rank,
                                              in->dtype->type, &values[i]),
          in->file);
  }
  for (size_t k = 0; k < n_out; k++) outs[k] = NULL;
  double t0 = now_us();
  OrtStatus *status = ort->Run(session, NULL, in_names, (const OrtValue *const *)values, n_in, out_names, n_out, outs);
  double t1 = now_us();
  check(status, model);
  if (elapsed_us) *elapsed_us = t1 - t0;
  for (size_t i = 0; i < n_in; i++) ort->ReleaseValue(values[i]);
}

static void release_all(OrtValue **outs, size_t n) {
  for (size_t k = 0; k < n; k++) {
    if (outs[k]) ort->ReleaseValue(outs[k]);
    outs[k] = NULL;
  }
}

/* Copies sample `s`'s value of output `k` into its stacked buffer (allocated at sample 0). */
static void collect(Output *out, OrtValue *value, long s, long samples, const char *model) {
  OrtTensorTypeAndShapeInfo *info;
  check(ort->GetTensorTypeAndShape(value, &info), out->name);
  ONNXTensorElementDataType type;
  size_t rank, count;
  int64_t shape[MAX_RANK];
  check(ort->GetTensorElementType(info, &type), out->name);
  check(ort->GetDimensionsCount(info, &rank), out->name);
  if (rank > MAX_RANK) fail(EXIT_ORT, "%s: output '%s' has more than %d dimensions", model, out->name, MAX_RANK);
  check(ort->GetDimensions(info, shape, rank), out->name);
  check(ort->GetTensorShapeElementCount(info, &count), out->name);
  ort->ReleaseTensorTypeAndShapeInfo(info);
  if (s == 0) {
    out->dtype = dtype_of(type);
    if (!out->dtype) fail(EXIT_ORT, "%s: output '%s' has element type %d, not a numeric tensor", model, out->name, (int)type);
    out->rank = (int)rank;
    memcpy(out->shape, shape, rank * sizeof shape[0]);
    out->sample_bytes = count * out->dtype->size;
    if (out->sample_bytes != 0 && (size_t)samples > SIZE_MAX / out->sample_bytes) {
      fail(EXIT_IO, "output '%s': %ld samples do not fit in memory", out->name, samples);
    }
    out->data = xmalloc(out->sample_bytes * (size_t)samples);
  } else if (out->dtype->type != type || (size_t)out->rank != rank ||
             memcmp(out->shape, shape, rank * sizeof shape[0]) != 0) {
    fail(EXIT_ORT, "%s: output '%s' of sample %ld differs in type or shape from sample 0", model, out->name, s);
  }
  void *data;
  check(ort->GetTensorMutableData(value, &data), out->name);
  if (out->sample_bytes) memcpy(out->data + (size_t)s * out->sample_bytes, data, out->sample_bytes);
}

/* ---- main -------------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  Options o;
  parse_args(argc, argv, &o);

  const OrtApiBase *base = OrtGetApiBase();
  const char *version = base->GetVersionString();
  ort = base->GetApi(ORT_API_VERSION);
  if (!ort) fail(EXIT_ORT, "libonnxruntime.so.1 %s does not provide ORT API version %d", version, ORT_API_VERSION);

  if (access(o.model, R_OK) != 0) fail(EXIT_IO, "cannot read %s: %s", o.model, strerror(errno));
  struct stat st;
  if (stat(o.out_dir, &st) != 0) {
    if (mkdir(o.out_dir, 0755) != 0) fail(EXIT_IO, "cannot create %s: %s", o.out_dir, strerror(errno));
  } else if (!S_ISDIR(st.st_mode)) fail(EXIT_IO, "%s is not a directory", o.out_dir);

  OrtEnv *env;
  check(ort->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "int8-runner", &env), "ONNX Runtime");
  OrtSessionOptions *opts;
  check(ort->CreateSessionOptions(&opts), "ONNX Runtime");
  check(ort->SetIntraOpNumThreads(opts, (int)o.threads), "--threads");
  check(ort->SetInterOpNumThreads(opts, 1), "ONNX Runtime");
  check(ort->SetSessionExecutionMode(opts, ORT_SEQUENTIAL), "ONNX Runtime");
  if (o.n_pins > 0 && o.threads > 1) {
    /* Threads 1..T-1 are ORT's; its ids are 1-based. */
    char affinities[4096];
    size_t n = 0;
    for (long t = 1; t < o.threads; t++) {
      n += (size_t)snprintf(affinities + n, sizeof affinities - n, "%s%d", t > 1 ? ";" : "",
                            o.pins[t % o.n_pins] + 1);
    }
    check(ort->AddSessionConfigEntry(opts, "session.intra_op_thread_affinities", affinities), "--pin");
  }
  OrtSession *session;
  check(ort->CreateSession(env, o.model, opts, &session), o.model);
  if (o.n_pins > 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.pins[0], &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) fail(EXIT_USAGE, "--pin %d: %s", o.pins[0], strerror(errno));
  }

  OrtAllocator *alloc;
  check(ort->GetAllocatorWithDefaultOptions(&alloc), "ONNX Runtime");
  size_t n_in, n_out;
  check(ort->SessionGetInputCount(session, &n_in), o.model);
  check(ort->SessionGetOutputCount(session, &n_out), o.model);
  if (n_in > MAX_INPUTS) fail(EXIT_ORT, "%s: more than %d inputs", o.model, MAX_INPUTS);
  Input inputs[MAX_INPUTS];
  const char *in_names[MAX_INPUTS];
  for (size_t i = 0; i < n_in; i++) {
    load_input(session, alloc, i, &o, &inputs[i]);
    in_names[i] = inputs[i].name;
  }
  for (int k = 0; k < o.n_inputs; k++) {
    size_t i = 0;
    while (i < n_in && strcmp(in_names[i], o.inputs[k].name) != 0) i++;
    if (i == n_in) fail(EXIT_USAGE, "--input %s: %s has no input '%s'", o.inputs[k].name, o.model, o.inputs[k].name);
  }
  long samples = o.samples ? o.samples : n_in > 0 ? inputs[0].samples : 1;
  for (size_t i = 0; i < n_in; i++) {
    if (inputs[i].samples < samples) {
      fail(EXIT_IO, "%s: holds %ld sample(s) of input '%s', %ld needed", inputs[i].file, inputs[i].samples,
           inputs[i].name, samples);
    }
  }
  if (samples < 1) fail(EXIT_IO, "%s: holds no sample", n_in > 0 ? inputs[0].file : o.model);

  Output *outputs = xmalloc(n_out * sizeof *outputs);
  const char **out_names = xmalloc(n_out * sizeof *out_names);
  OrtValue **values = xmalloc(n_out * sizeof *values);
  for (size_t k = 0; k < n_out; k++) {
    memset(&outputs[k], 0, sizeof outputs[k]);
    check(ort->SessionGetOutputName(session, k, alloc, &outputs[k].name), o.model);
    out_names[k] = outputs[k].name;
  }
  OrtMemoryInfo *memory;
  check(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &memory), "ONNX Runtime");

  for (long r = 0; r < o.warmup; r++) {
    run_once(session, memory, inputs, n_in, in_names, out_names, n_out, values, 0, o.model, NULL);
    release_all(values, n_out);
  }
  double *lat = xmalloc((size_t)o.runs * sizeof *lat);
  for (long r = 0; r < o.runs; r++) {
    run_once(session, memory, inputs, n_in, in_names, out_names, n_out, values, 0, o.model, &lat[r]);
    release_all(values, n_out);
  }
  for (long s = 0; s < samples; s++) {
    run_once(session, memory, inputs, n_in, in_names, out_names, n_out, values, s, o.model, NULL);
    for (size_t k = 0; k < n_out; k++) collect(&outputs[k], values[k], s, samples, o.model);
    release_all(values, n_out);
  }

  size_t dir_len = strlen(o.out_dir);
  char *path = xmalloc(dir_len + 32);
  for (size_t k = 0; k < n_out; k++) {
    Output *out = &outputs[k];
    int64_t shape[MAX_RANK];
    int rank = out->rank == 0 ? 1 : out->rank;
    memcpy(shape, out->shape, (size_t)out->rank * sizeof shape[0]);
    shape[0] = out->rank == 0 ? samples : out->shape[0] * samples;
    out->shape[0] = shape[0];
    out->rank = rank;
    snprintf(path, dir_len + 32, "%s/%zu.npy", o.out_dir, k);
    npy_write(path, out->dtype, rank, shape, out->data, out->sample_bytes * (size_t)samples);
  }

  double sum = 0;
  for (long r = 0; r < o.runs; r++) sum += lat[r];
  qsort(lat, (size_t)o.runs, sizeof *lat, by_value);
  long n = o.runs;
  double median = n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2;
  long p90 = (9 * n + 9) / 10 - 1; /* nearest rank: ceil(0.9 n) */

  struct utsname uts;
  char os[256], model_name[256];
  const char *arch = NULL, *os_name = NULL;
  if (uname(&uts) == 0) {
    arch = uts.machine;
    snprintf(os, sizeof os, "%s %s", uts.sysname, uts.release);
    os_name = os;
  }
  const char *cpu = cpu_model(model_name, sizeof model_name);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);

  FILE *j = stdout;
  fprintf(j, "{\"runner\":\"%s\",\"ort\":", RUNNER_ID);
  json_string(j, version);
  fprintf(j, ",\"threads\":%ld,\"warmup\":%ld,\"runs\":%ld,\"samples\":%ld,", o.threads, o.warmup, o.runs, samples);
  fprintf(j, "\"latencyUs\":{\"min\":%.2f,\"median\":%.2f,\"p90\":%.2f,\"max\":%.2f,\"mean\":%.2f},", lat[0], median,
          lat[p90], lat[n - 1], sum / (double)n);
  fputs("\"outputs\":[", j);
  for (size_t k = 0; k < n_out; k++) {
    fputs(k ? ",{\"name\":" : "{\"name\":", j);
    json_string(j, outputs[k].name);
    fprintf(j, ",\"file\":\"%zu.npy\",\"dtype\":\"%s\",\"shape\":[", k, outputs[k].dtype->name);
    for (int d = 0; d < outputs[k].rank; d++) fprintf(j, "%s%lld", d ? "," : "", (long long)outputs[k].shape[d]);
    fputs("]}", j);
  }
  fputs("],\"device\":{\"arch\":", j);
  json_string(j, arch);
  fputs(",\"cpuModel\":", j);
  json_string(j, cpu);
  if (cores > 0) fprintf(j, ",\"cores\":%ld,\"os\":", cores);
  else fputs(",\"cores\":null,\"os\":", j);
  json_string(j, os_name);
  fputs("}}\n", j);
  if (fflush(j) != 0) fail(EXIT_IO, "cannot write to stdout: %s", strerror(errno));

  for (size_t k = 0; k < n_out; k++) {
    check(ort->AllocatorFree(alloc, outputs[k].name), o.model);
    free(outputs[k].data);
  }
  for (size_t i = 0; i < n_in; i++) {
    check(ort->AllocatorFree(alloc, inputs[i].name), o.model);
    free(inputs[i].npy.data);
  }
  for (int k = 0; k < o.n_inputs; k++) free((void *)o.inputs[k].name);
  free(outputs);
  free(out_names);
  free(values);
  free(lat);
  free(path);
  ort->ReleaseMemoryInfo(memory);
  ort->ReleaseSession(session);
  ort->ReleaseSessionOptions(opts);
  ort->ReleaseEnv(env);
  return 0;
}
