/* The commands EXEC runs on the board (spec: devices/_serial_protocol.ts):
 *
 *   run MODEL INPUT OUTPUT [--dump DUMP] [--runs N]   like runtime/tools/qm_run.c, on RAM files: every sample
 *       of INPUT (the bytes of every model input, back to back) through MODEL (.qm); OUTPUT gets every
 *       sample's outputs, DUMP every sample's per-op outputs. --runs N repeats the whole pass N times (the
 *       files hold the last). Prints "cycles=<mean cycles per qm_run> runs=<qm_run calls> samples=<S>
 *       status=<qm_status>"; exits with the qm_status (0..7). ABORT between two runs stops it (130).
 *   info | ls | rm NAME | sha256 NAME
 *   busy MS     spins MS milliseconds without looking at the line (a board that cannot be aborted)
 *
 * Exit codes besides the qm_status: 64 usage, 66 no such file, 73 no room, 127 unknown command. */
#include <string.h>

#include "qm.h"
#include "ram_files.h"
#include "serial_proto.h"
#include "sha256.h"

static void append(qp_output *o, int to_err, const char *text, uint32_t n) {
  char *buf = to_err ? o->err : o->out;
  uint32_t *len = to_err ? &o->err_len : &o->out_len;
  uint32_t cap = to_err ? o->err_cap : o->out_cap;
  if (n > cap - *len) n = cap - *len;
  memcpy(buf + *len, text, n);
  *len += n;
}

void qp_print(qp_output *o, int to_err, const char *text) { append(o, to_err, text, (uint32_t)strlen(text)); }

void qp_print_u64(qp_output *o, int to_err, uint64_t value) {
  char digits[21];
  int n = 0;
  do {
    digits[sizeof digits - 1 - ++n] = (char)('0' + value % 10u);
    value /= 10u;
  } while (value);
  append(o, to_err, digits + sizeof digits - 1 - n, (uint32_t)n);
}

static int fail(qp_output *o, int code, const char *a, const char *b, const char *c) {
  qp_print(o, 1, a);
  if (b) qp_print(o, 1, b);
  if (c) qp_print(o, 1, c);
  qp_print(o, 1, "\n");
  return code;
}

static int parse_u32(const char *s, uint32_t *value) {
  uint32_t v = 0;
  if (!*s) return 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 429496728u) return 0;
    v = v * 10u + (uint32_t)(*s - '0');
  }
  *value = v;
  return 1;
}

static int find_complete(const char *name) {
  int index = rf_find(name, (uint32_t)strlen(name));
  return index >= 0 && rf_get(index)->state == QP_FILE_COMPLETE ? index : -1;
}

typedef struct {
  uint8_t *at;
} dump_context;

static void dump_op(void *context, uint32_t op_index, const qm_model *model, const uint8_t *arena) {
  dump_context *d = context;
  qm_tensor_info info;
  if (qm_op_output_info(model, op_index, &info) != QM_OK) return;
  memcpy(d->at, arena + info.offset, info.size);
  d->at += info.size;
}

typedef struct {
  uint32_t sample_in, sample_out, sample_dump;
} run_sizes;

static qm_status load(qm_model *model, int index, const qp_board *board, run_sizes *sizes) {
  qm_tensor_info t;
  uint32_t i;
  qm_status status = qm_load(model, rf_data(index), rf_get(index)->size);
  if (status != QM_OK) return status;
  if (qm_arena_size(model) > board->arena_bytes) return QM_ERR_ARGUMENT;
  sizes->sample_in = sizes->sample_out = sizes->sample_dump = 0;
  for (i = 0; i < qm_input_count(model); i++) {
    if (qm_input_info(model, i, &t) != QM_OK) return QM_ERR_MALFORMED;
    sizes->sample_in += t.size;
  }
  for (i = 0; i < qm_output_count(model); i++) {
    if (qm_output_info(model, i, &t) != QM_OK) return QM_ERR_MALFORMED;
    sizes->sample_out += t.size;
  }
  for (i = 0; i < qm_op_count(model); i++) {
    if (qm_op_output_info(model, i, &t) == QM_OK) sizes->sample_dump += t.size;
  }
  return QM_OK;
}

static void status_line(qp_output *o, uint64_t cycles, uint32_t runs, uint32_t samples, int status) {
  qp_print(o, 0, "cycles=");
  qp_print_u64(o, 0, runs ? cycles / runs : 0);
  qp_print(o, 0, " runs=");
  qp_print_u64(o, 0, runs);
  qp_print(o, 0, " samples=");
  qp_print_u64(o, 0, samples);
  qp_print(o, 0, " status=");
  qp_print_u64(o, 0, (uint64_t)status);
  qp_print(o, 0, "\n");
}

static int cmd_run(const qp_board *board, int argc, char **argv, qp_output *o) {
  static qm_model model;
  const char *names[3] = {0, 0, 0}, *dump_name = 0;
  uint32_t runs = 1, samples, s, r, i, done = 0, input_size;
  int positional = 0, a, mi, ii, oi, di = -1, aborted = 0;
  run_sizes sizes;
  qm_status status;
  qm_tensor_info t;
  uint64_t cycles = 0;
  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--dump") == 0 && a + 1 < argc) {
      dump_name = argv[++a];
    } else if (strcmp(argv[a], "--runs") == 0 && a + 1 < argc) {
      if (!parse_u32(argv[++a], &runs) || runs == 0) return fail(o, QP_EXIT_USAGE, "run: bad --runs ", argv[a], 0);
    } else if (positional < 3 && argv[a][0] != '-') {
      names[positional++] = argv[a];
    } else {
      return fail(o, QP_EXIT_USAGE, "run: unexpected argument ", argv[a], 0);
    }
  }
  if (positional < 3) return fail(o, QP_EXIT_USAGE, "usage: run MODEL INPUT OUTPUT [--dump DUMP] [--runs N]", 0, 0);
  if (!strcmp(names[2], names[0]) || !strcmp(names[2], names[1]) ||
      (dump_name && (!strcmp(dump_name, names[0]) || !strcmp(dump_name, names[1]) || !strcmp(dump_name, names[2])))) {
    return fail(o, QP_EXIT_USAGE, "run: OUTPUT and DUMP must differ from MODEL, INPUT and each other", 0, 0);
  }
  for (i = 0; i < 2; i++) {
    if (find_complete(names[i]) < 0) return fail(o, QP_EXIT_NOINPUT, "run: no such file: ", names[i], 0);
  }
  mi = find_complete(names[0]);
  status = load(&model, mi, board, &sizes);
  if (status != QM_OK) {
    status_line(o, 0, 0, 0, (int)status);
    return fail(o, (int)status, "run: ", names[0], status == QM_ERR_ARGUMENT ? ": arena larger than the board's" : 0);
  }
  input_size = rf_get(find_complete(names[1]))->size;
  if (sizes.sample_in == 0 || input_size == 0 || input_size % sizes.sample_in != 0) {
    return fail(o, QP_EXIT_USAGE, "run: the input is not a whole number of samples of ", names[0], 0);
  }
  samples = input_size / sizes.sample_in;
  /* Create the outputs first: creating may move files, so the model is loaded again afterwards. */
  if ((oi = rf_create(names[2], (uint32_t)strlen(names[2]), samples * sizes.sample_out)) < 0) {
    return fail(o, QP_EXIT_CANTCREAT, "run: no room for ", names[2], 0);
  }
  if (dump_name && (di = rf_create(dump_name, (uint32_t)strlen(dump_name), samples * sizes.sample_dump)) < 0) {
    rf_remove(oi);
    return fail(o, QP_EXIT_CANTCREAT, "run: no room for ", dump_name, 0);
  }
  mi = find_complete(names[0]);
  ii = find_complete(names[1]);
  status = load(&model, mi, board, &sizes);
  for (r = 0; r < runs && status == QM_OK && !aborted; r++) {
    int last = r + 1 == runs;
    for (s = 0; s < samples && status == QM_OK; s++) {
      const uint8_t *in = rf_data(ii) + s * sizes.sample_in;
      dump_context dump;
      uint64_t start;
      for (i = 0; i < qm_input_count(&model); i++) {
        qm_input_info(&model, i, &t);
        memcpy(board->arena + t.offset, in, t.size);
        in += t.size;
      }
      dump.at = di >= 0 ? rf_data(di) + s * sizes.sample_dump : 0;
      start = qp_port_cycles();
      status = qm_run(&model, board->arena, board->arena_bytes, di >= 0 && last ? dump_op : 0, &dump);
      cycles += qp_port_cycles() - start;
      done++;
      if (status == QM_OK && last) {
        uint8_t *out = rf_data(oi) + s * sizes.sample_out;
        for (i = 0; i < qm_output_count(&model); i++) {
          qm_output_info(&model, i, &t);
          memcpy(out, board->arena + t.offset, t.size);
          out += t.size;
        }
      }
      if (qp_poll_abort()) {
        aborted = 1;
        break;
      }
    }
  }
  if (aborted || status != QM_OK) {
    rf_remove(oi);
    if (di >= 0) rf_remove(di);
  } else {
    rf_set_complete(oi, rf_get(oi)->size);
    if (di >= 0) rf_set_complete(di, rf_get(di)->size);
  }
  status_line(o, cycles, done, samples, (int)status);
  if (aborted) return fail(o, QP_EXIT_ABORTED, "run: aborted", 0, 0);
  if (status != QM_OK) return fail(o, (int)status, "run: ", qm_status_name(status), 0);
  return 0;
}

static int cmd_info(const qp_board *board, int argc, char **argv, qp_output *o) {
  uint32_t used = 0, i;
  (void)argc, (void)argv;
  for (i = 0; i < RF_SLOTS; i++) used += rf_get((int)i)->state != QP_FILE_NONE;
  qp_print(o, 0, "qm-fw 2.0 arch=");
  qp_print(o, 0, board->arch);
  qp_print(o, 0, " clock_hz=");
  qp_print_u64(o, 0, board->core_clock_hz);
  qp_print(o, 0, " store_bytes=");
  qp_print_u64(o, 0, rf_capacity());
  qp_print(o, 0, " free_bytes=");
  qp_print_u64(o, 0, rf_free());
  qp_print(o, 0, " files=");
  qp_print_u64(o, 0, used);
  qp_print(o, 0, "/");
  qp_print_u64(o, 0, RF_SLOTS);
  qp_print(o, 0, " arena_bytes=");
  qp_print_u64(o, 0, board->arena_bytes);
  qp_print(o, 0, " max_payload=");
  qp_print_u64(o, 0, QP_MAX_PAYLOAD);
  qp_print(o, 0, "\n");
  return 0;
}

static int cmd_ls(const qp_board *board, int argc, char **argv, qp_output *o) {
  uint32_t i;
  (void)board, (void)argc, (void)argv;
  for (i = 0; i < RF_SLOTS; i++) {
    const rf_file *f = rf_get((int)i);
    if (f->state == QP_FILE_NONE) continue;
    qp_print_u64(o, 0, f->size);
    if (f->state == QP_FILE_WRITING) {
      qp_print(o, 0, " writing ");
      qp_print_u64(o, 0, f->received);
    } else {
      qp_print(o, 0, " complete");
    }
    qp_print(o, 0, " ");
    qp_print(o, 0, f->name);
    qp_print(o, 0, "\n");
  }
  return 0;
}

static int cmd_rm(const qp_board *board, int argc, char **argv, qp_output *o) {
  int index;
  (void)board;
  if (argc != 2) return fail(o, QP_EXIT_USAGE, "usage: rm NAME", 0, 0);
  index = rf_find(argv[1], (uint32_t)strlen(argv[1]));
  if (index < 0) return fail(o, QP_EXIT_NOINPUT, "rm: no such file: ", argv[1], 0);
  rf_remove(index);
  return 0;
}

static int cmd_sha256(const qp_board *board, int argc, char **argv, qp_output *o) {
  static const char hex[] = "0123456789abcdef";
  uint8_t digest[32];
  char text[65];
  int index, i;
  (void)board;
  if (argc != 2) return fail(o, QP_EXIT_USAGE, "usage: sha256 NAME", 0, 0);
  index = find_complete(argv[1]);
  if (index < 0) return fail(o, QP_EXIT_NOINPUT, "sha256: no such file: ", argv[1], 0);
  qm_sha256(rf_data(index), rf_get(index)->size, digest);
  for (i = 0; i < 32; i++) {
    text[2 * i] = hex[digest[i] >> 4];
    text[2 * i + 1] = hex[digest[i] & 15];
  }
  text[64] = 0;
  qp_print(o, 0, text);
  qp_print(o, 0, "  ");
  qp_print(o, 0, argv[1]);
  qp_print(o, 0, "\n");
  return 0;
}

static int cmd_busy(const qp_board *board, int argc, char **argv, qp_output *o) {
  uint32_t ms, start = qp_ms();
  (void)board;
  if (argc != 2 || !parse_u32(argv[1], &ms)) return fail(o, QP_EXIT_USAGE, "usage: busy MS", 0, 0);
  while (qp_ms() - start < ms) {
  }
  return 0;
}

typedef int (*command_fn)(const qp_board *, int, char **, qp_output *);

static const struct {
  const char *name;
  command_fn run;
} COMMANDS[] = {
    {"run", cmd_run}, {"info", cmd_info}, {"ls", cmd_ls}, {"rm", cmd_rm}, {"sha256", cmd_sha256}, {"busy", cmd_busy},
};

int qp_exec(const qp_board *board, int argc, char **argv, qp_output *o) {
  uint32_t i;
  for (i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
    if (strcmp(argv[0], COMMANDS[i].name) == 0) return COMMANDS[i].run(board, argc, argv, o);
  }
  return fail(o, QP_EXIT_NOTFOUND, "qm-fw: ", argv[0], ": command not found (run, info, ls, rm, sha256, busy)");
}
