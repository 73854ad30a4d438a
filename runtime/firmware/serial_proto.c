/* Framing, session and requests of the qm-fw serial protocol (spec: devices/_serial_protocol.ts). */
#include "serial_proto.h"

#include <string.h>

#include "ram_files.h"
#include "sha256.h"

#define FRAME_MAX (QP_MAX_PAYLOAD + QP_FRAME_OVERHEAD)
#define HISTORY 32u     /* answered requests remembered for duplicates */
#define HISTORY_DATA 56u /* reply payload (or, for READ, the request) kept per answered request */
#define OUT_CAP 640u
#define ERR_CAP 256u

static const qp_board *board;

/* ---- CRC32 (IEEE 802.3, reflected 0xEDB88320, init and final xor 0xFFFFFFFF) ---- */

static uint32_t crc_table[256];

static void crc_init(void) {
  uint32_t i, k, c;
  for (i = 0; i < 256; i++) {
    c = i;
    for (k = 0; k < 8; k++) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = crc_table[(c ^ *p++) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_u16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
  put_u16(p, v);
  put_u16(p + 2, v >> 16);
}

/* ---- Sending ---- */

static uint8_t tx[FRAME_MAX];

/* Sends a frame whose payload is already at tx + 5. */
static void send_frame(uint8_t type, uint8_t seq, uint32_t len) {
  tx[0] = QP_SOF;
  tx[1] = type;
  tx[2] = seq;
  put_u16(tx + 3, len);
  put_u32(tx + 5 + len, crc32(tx + 1, 4 + len));
  qp_port_write(tx, 9 + len);
}

static void send_bytes(uint8_t type, uint8_t seq, const uint8_t *payload, uint32_t len) {
  if (len) memmove(tx + 5, payload, len);
  send_frame(type, seq, len);
}

/* ---- Answered requests, for duplicates (a retransmission after a lost or corrupted reply) ---- */

typedef struct {
  uint8_t used, seq, request, reply;
  uint16_t len;
  uint8_t data[HISTORY_DATA];
} answered;

static answered history[HISTORY];
static uint32_t history_next;
static uint32_t session_id;
static int session_open;

static answered *find_answered(uint8_t seq) {
  uint32_t i;
  for (i = 0; i < HISTORY; i++) {
    if (history[i].used && history[i].seq == seq) return &history[i];
  }
  return 0;
}

static answered *remember(uint8_t seq, uint8_t request, uint8_t reply, const uint8_t *data, uint32_t len) {
  answered *a = find_answered(seq);
  if (!a) {
    a = &history[history_next];
    history_next = (history_next + 1u) % HISTORY;
  }
  a->used = 1;
  a->seq = seq;
  a->request = request;
  a->reply = reply;
  a->len = (uint16_t)(len > HISTORY_DATA ? HISTORY_DATA : len);
  if (len) memcpy(a->data, data, a->len);
  return a;
}

/* Sends a reply and remembers it. */
static void reply(uint8_t seq, uint8_t request, uint8_t type, const uint8_t *payload, uint32_t len) {
  remember(seq, request, type, payload, len);
  send_bytes(type, seq, payload, len);
}

static void reply_error(uint8_t seq, uint8_t request, uint8_t code, const char *message) {
  uint8_t p[HISTORY_DATA];
  uint32_t n = (uint32_t)strlen(message);
  if (n > HISTORY_DATA - 1u) n = HISTORY_DATA - 1u;
  p[0] = code;
  memcpy(p + 1, message, n);
  reply(seq, request, QP_ERROR, p, n + 1);
}

static void reply_ack(uint8_t seq, uint8_t request, uint32_t value) {
  uint8_t p[4];
  put_u32(p, value);
  reply(seq, request, QP_ACK, p, 4);
}

/* ---- EXEC output of the last command ---- */

static char out_buf[OUT_CAP], err_buf[ERR_CAP];
static qp_output exec_out = {out_buf, 0, OUT_CAP, err_buf, 0, ERR_CAP};
static int32_t exec_code;
static int exec_seq = -1; /* seq of the EXEC whose result is in the buffers */

static void send_exec_result(uint8_t seq) {
  uint8_t *p = tx + 5;
  put_u32(p, (uint32_t)exec_code);
  put_u16(p + 4, exec_out.out_len);
  put_u16(p + 6, exec_out.err_len);
  memcpy(p + 8, out_buf, exec_out.out_len);
  memcpy(p + 8 + exec_out.out_len, err_buf, exec_out.err_len);
  send_frame(QP_EXEC_RESULT, seq, 8 + exec_out.out_len + exec_out.err_len);
}

/* ---- Requests ---- */

static int open_file = -1; /* the file DATA goes to */

static void read_reply(uint8_t seq, const uint8_t *p, uint32_t n);
/* Sends again what a request got (a duplicate request, or a NAK of the reply). */
static void resend(const answered *a) {
  if (a->request == QP_READ && a->reply == QP_READ_REPLY) {
    read_reply(a->seq, a->data, a->len);
  } else if (a->request == QP_EXEC && a->reply == QP_EXEC_RESULT) {
    if (exec_seq == a->seq) send_exec_result(a->seq);
  } else {
    send_bytes(a->reply, a->seq, a->data, a->len);
  }
}

static void hello(uint8_t seq, const uint8_t *p, uint32_t n) {
  uint8_t r[HISTORY_DATA];
  uint32_t id, k = 0;
  const char *name = "qm-fw";
  if (n < 6) {
    send_bytes(QP_ERROR, seq, (const uint8_t *)"\x03short HELLO", 12);
    return;
  }
  id = get_u32(p + 2);
  if (!session_open || id != session_id) {
    /* A new session: forget the answers of the last one (its seqs mean nothing now). */
    memset(history, 0, sizeof history);
    history_next = 0;
    session_id = id;
    session_open = 1;
  }
  r[k++] = board->announce_major ? board->announce_major : QP_VERSION_MAJOR;
  r[k++] = QP_VERSION_MINOR;
  put_u16(r + k, QP_MAX_PAYLOAD), k += 2;
  put_u32(r + k, session_id), k += 4;
  put_u32(r + k, rf_capacity()), k += 4;
  r[k++] = RF_SLOTS;
  r[k++] = 0;
  put_u32(r + k, board->core_clock_hz), k += 4;
  put_u32(r + k, board->arena_bytes), k += 4;
  memcpy(r + k, name, strlen(name) + 1), k += (uint32_t)strlen(name) + 1;
  memcpy(r + k, board->arch, strlen(board->arch) + 1), k += (uint32_t)strlen(board->arch) + 1;
  reply(seq, QP_HELLO, QP_HELLO_REPLY, r, k);
}

static void open_request(uint8_t seq, const uint8_t *p, uint32_t n) {
  uint32_t size, name_len;
  int index;
  if (n < 6 || n - 5 > QP_NAME_MAX) {
    reply_error(seq, QP_OPEN, QP_E_INVAL, "bad OPEN: name of 1 to 47 bytes");
    return;
  }
  size = get_u32(p);
  name_len = n - 5;
  index = rf_find((const char *)p + 5, name_len);
  if (p[4] == 1 && index >= 0 && rf_get(index)->state == QP_FILE_WRITING && rf_get(index)->size == size) {
    rf_forget_pieces(index);
    open_file = index;
    reply_ack(seq, QP_OPEN, rf_get(index)->received);
    return;
  }
  open_file = -1;
  index = rf_create((const char *)p + 5, name_len, size);
  if (index < 0) {
    reply_error(seq, QP_OPEN, QP_E_NOSPC, "no room in the RAM file store");
    return;
  }
  open_file = index;
  reply_ack(seq, QP_OPEN, 0);
}

static void data_request(uint8_t seq, const uint8_t *p, uint32_t n) {
  int r;
  if (open_file < 0) {
    reply_error(seq, QP_DATA, QP_E_STATE, "DATA with no file open");
    return;
  }
  if (n < 4) {
    reply_error(seq, QP_DATA, QP_E_INVAL, "short DATA");
    return;
  }
  r = rf_write(open_file, get_u32(p), p + 4, n - 4);
  if (r == -1) {
    reply_error(seq, QP_DATA, QP_E_INVAL, "DATA past the end of the file");
    return;
  }
  if (r == -2) {
    /* Too many pieces out of order: not stored and not remembered, so its retransmission is taken. */
    send_bytes(QP_NAK, seq, 0, 0);
    return;
  }
  if ((board->faults & QP_FAULT_CORRUPT_STORE) && get_u32(p) == 0 && n > 4) rf_data(open_file)[0] ^= 1u;
  reply_ack(seq, QP_DATA, rf_get(open_file)->received);
}

static void close_request(uint8_t seq, const uint8_t *p, uint32_t n) {
  uint8_t r[36];
  const rf_file *f;
  if (open_file < 0 || rf_find((const char *)p, n) != open_file) {
    reply_error(seq, QP_CLOSE, QP_E_STATE, "CLOSE of a file that is not open");
    return;
  }
  f = rf_get(open_file);
  if (f->received != f->size) {
    reply_error(seq, QP_CLOSE, QP_E_STATE, "CLOSE before every byte arrived");
    return;
  }
  rf_set_complete(open_file, f->size);
  put_u32(r, f->size);
  qm_sha256(rf_data(open_file), f->size, r + 4);
  open_file = -1;
  reply(seq, QP_CLOSE, QP_CLOSE_REPLY, r, sizeof r);
}

static void stat_request(uint8_t seq, const uint8_t *p, uint32_t n) {
  uint8_t r[41];
  int index = rf_find((const char *)p, n);
  memset(r, 0, sizeof r);
  if (index >= 0) {
    const rf_file *f = rf_get(index);
    r[0] = f->state;
    put_u32(r + 1, f->size);
    put_u32(r + 5, f->received);
    qm_sha256(rf_data(index), f->received, r + 9);
  }
  reply(seq, QP_STAT, QP_STAT_REPLY, r, sizeof r);
}

/* READ: offset (u32), length (u16), name. Remembered as the request itself, answered again from it. */
static void read_reply(uint8_t seq, const uint8_t *p, uint32_t n) {
  uint32_t offset, len;
  int index;
  const rf_file *f;
  if (n < 7) {
    reply_error(seq, QP_READ, QP_E_INVAL, "short READ");
    return;
  }
  offset = get_u32(p);
  len = (uint32_t)p[4] | ((uint32_t)p[5] << 8);
  index = rf_find((const char *)p + 6, n - 6);
  if (index < 0) {
    reply_error(seq, QP_READ, QP_E_NOENT, "no such file");
    return;
  }
  f = rf_get(index);
  if (f->state != QP_FILE_COMPLETE) {
    reply_error(seq, QP_READ, QP_E_STATE, "file still being written");
    return;
  }
  if (len > QP_MAX_PAYLOAD - 4u) len = QP_MAX_PAYLOAD - 4u;
  if (offset > f->size) offset = f->size;
  if (len > f->size - offset) len = f->size - offset;
  remember(seq, QP_READ, QP_READ_REPLY, p, n);
  put_u32(tx + 5, offset);
  memcpy(tx + 9, rf_data(index) + offset, len);
  send_frame(QP_READ_REPLY, seq, 4 + len);
}

static void exec_request(uint8_t seq, const uint8_t *p, uint32_t n) {
  static char args[QP_MAX_PAYLOAD + 1];
  char *argv[16];
  int argc = 0;
  uint32_t i;
  /* argv out of the receive buffers (ABORT polling reuses them while the command runs); NUL-separated. */
  memcpy(args, p, n);
  args[n] = 0;
  if (n > 0) {
    argv[argc++] = args;
    for (i = 0; i < n && argc < 16; i++) {
      if (args[i] == 0) argv[argc++] = args + i + 1;
    }
  }
  reply_ack(seq, QP_EXEC, 0); /* remembered: a duplicate or NAK while the command runs gets it again */
  exec_out.out_len = exec_out.err_len = 0;
  exec_seq = -1;
  exec_code = argc == 0 ? QP_EXIT_USAGE : qp_exec(board, argc, argv, &exec_out);
  exec_seq = seq;
  remember(seq, QP_EXEC, QP_EXEC_RESULT, 0, 0);
  send_exec_result(seq);
}

/* ---- Receiving: resync on SOF, CRC check, NAK ---- */

static uint8_t rx[FRAME_MAX];
static uint32_t rx_len;
static uint8_t frame_payload[QP_MAX_PAYLOAD]; /* the frame being handled, out of rx */
static uint32_t last_rx_ms;
static int busy; /* a command runs: only ABORT, and NAK or duplicates of its EXEC, are taken */
static int abort_seen;

static void on_busy_frame(uint8_t type, uint8_t seq) {
  const answered *a = find_answered(seq);
  if (type == QP_ABORT) {
    abort_seen = 1;
    reply_ack(seq, QP_ABORT, 1);
  } else if ((type == QP_NAK || type == QP_EXEC) && a && a->request == QP_EXEC && a->reply == QP_ACK) {
    resend(a); /* "accepted, still running" */
  }
}

static void on_frame(uint8_t type, uint8_t seq, const uint8_t *p, uint32_t n) {
  const answered *a = find_answered(seq);
  if (type == QP_NAK) {
    if (a) resend(a);
    return;
  }
  if (type == QP_HELLO) {
    if (a && a->request == QP_HELLO && session_open && n >= 6 && get_u32(p + 2) == session_id) {
      resend(a);
    } else {
      hello(seq, p, n);
    }
    return;
  }
  if (!session_open) {
    send_bytes(QP_ERROR, seq, (const uint8_t *)"\x05send HELLO first", 17);
    return;
  }
  if (a && a->request == type) {
    resend(a);
    return;
  }
  switch (type) {
    case QP_OPEN: open_request(seq, p, n); break;
    case QP_DATA: data_request(seq, p, n); break;
    case QP_CLOSE: close_request(seq, p, n); break;
    case QP_STAT: stat_request(seq, p, n); break;
    case QP_READ: read_reply(seq, p, n); break;
    case QP_EXEC: exec_request(seq, p, n); break;
    case QP_ABORT: reply_ack(seq, QP_ABORT, 0); break;
    default: reply_error(seq, type, QP_E_INVAL, "unknown frame type"); break;
  }
}

/* Drops `n` bytes, then everything up to the next SOF. */
static void drop(uint32_t n) {
  while (n < rx_len && rx[n] != QP_SOF) n++;
  memmove(rx, rx + n, rx_len - n);
  rx_len -= n;
}

/* Handles every complete frame at the start of rx. Re-entered from qp_poll_abort while a command runs:
 * each frame leaves rx before it is handled. */
static void parse(void) {
  for (;;) {
    uint32_t len;
    uint8_t type, seq;
    if (rx_len > 0 && rx[0] != QP_SOF) drop(0);
    if (rx_len < 5) return;
    len = (uint32_t)rx[3] | ((uint32_t)rx[4] << 8);
    if (len > QP_MAX_PAYLOAD) {
      drop(1);
      continue;
    }
    if (rx_len < QP_FRAME_OVERHEAD + len) return;
    type = rx[1];
    seq = rx[2];
    if (crc32(rx + 1, 4 + len) != get_u32(rx + 5 + len)) {
      drop(1); /* a SOF inside the damaged frame may start the next one */
      send_bytes(QP_NAK, seq, 0, 0);
      continue;
    }
    if (busy) {
      drop(QP_FRAME_OVERHEAD + len);
      on_busy_frame(type, seq);
    } else {
      memcpy(frame_payload, rx + 5, len);
      drop(QP_FRAME_OVERHEAD + len);
      on_frame(type, seq, frame_payload, len);
    }
  }
}

static void take(uint8_t byte) {
  if (rx_len == 0 && byte != QP_SOF) return;
  if (rx_len == FRAME_MAX) drop(1);
  rx[rx_len++] = byte;
  last_rx_ms = qp_ms();
}

uint32_t qp_ms(void) { return (uint32_t)(qp_port_cycles() / (board->core_clock_hz / 1000u)); }

void qp_init(const qp_board *b) {
  board = b;
  crc_init();
  rf_init(b->store, b->store_bytes);
  rx_len = 0;
  session_open = 0;
  last_rx_ms = qp_ms();
}

void qp_step(void) {
  int c, got = 0;
  while ((c = qp_port_getc()) >= 0) {
    take((uint8_t)c);
    got = 1;
    if (rx_len >= 5) parse();
  }
  if (got) return;
  if (rx_len > 0 && qp_ms() - last_rx_ms > QP_IDLE_RESYNC_MS) {
    /* The rest of a frame never came (a lost byte, a false SOF, a host that went away). */
    drop(1);
    parse();
    last_rx_ms = qp_ms();
    return;
  }
  qp_port_wait();
}

int qp_poll_abort(void) {
  int c;
  busy = 1;
  while ((c = qp_port_getc()) >= 0) {
    take((uint8_t)c);
    if (rx_len >= 5) parse();
  }
  busy = 0;
  if (abort_seen) {
    abort_seen = 0;
    return 1;
  }
  return 0;
}
