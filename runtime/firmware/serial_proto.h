/* The board side of the qm-fw serial protocol, version 2.0: framing with CRC32, NAK and retransmission,
 * a RAM file store (push / pull / stat) and a few commands (run, info, ls, rm, sha256, busy). The
 * specification is the comment at the top of devices/_serial_protocol.ts (the host side); this code
 * keeps to it byte for byte.
 *
 * Portable C99 with no heap: every buffer is static. A platform provides the four qp_port_* hooks and
 * calls qp_init once, then qp_step forever: runtime/firmware/mps2-an385/main.c (CMSDK UART, SysTick)
 * and runtime/firmware/host_board.c (a Linux pty paced to a baud rate). */
#ifndef QM_SERIAL_PROTO_H
#define QM_SERIAL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define QP_SOF 0xA5u
#define QP_VERSION_MAJOR 2u
#define QP_VERSION_MINOR 0u
/* Largest payload either side sends; announced in HELLO_REPLY. */
#define QP_MAX_PAYLOAD 1024u
#define QP_FRAME_OVERHEAD 9u /* SOF, type, seq, length (2), CRC32 (4) */
#define QP_NAME_MAX 47u
/* A partial frame with no byte for this long is given up (the receiver resyncs past its SOF). */
#define QP_IDLE_RESYNC_MS 50u

/* Frame types. Requests (host → board) are below 0x7F, replies (board → host) from 0x80. */
enum {
  QP_HELLO = 0x01,
  QP_OPEN = 0x02,
  QP_DATA = 0x03,
  QP_CLOSE = 0x04,
  QP_STAT = 0x05,
  QP_READ = 0x06,
  QP_EXEC = 0x07,
  QP_ABORT = 0x08,
  QP_NAK = 0x7F, /* both directions: "the frame with this seq arrived corrupted" */
  QP_ACK = 0x80,
  QP_HELLO_REPLY = 0x81,
  QP_CLOSE_REPLY = 0x82,
  QP_STAT_REPLY = 0x83,
  QP_READ_REPLY = 0x84,
  QP_EXEC_RESULT = 0x85,
  QP_ERROR = 0x86
};

/* ERROR codes. */
enum { QP_E_NOENT = 1, QP_E_NOSPC = 2, QP_E_INVAL = 3, QP_E_STATE = 4, QP_E_SESSION = 5 };

/* File states in STAT_REPLY. */
enum { QP_FILE_NONE = 0, QP_FILE_WRITING = 1, QP_FILE_COMPLETE = 2 };

/* Exit codes of EXEC besides a command's own (run: the qm_status, 0..7). */
#define QP_EXIT_USAGE 64
#define QP_EXIT_NOINPUT 66
#define QP_EXIT_CANTCREAT 73
#define QP_EXIT_NOTFOUND 127
#define QP_EXIT_ABORTED 130

/* Fault injection for the host board's tests. */
#define QP_FAULT_CORRUPT_STORE 1u /* flip one bit of every file's first stored byte: CLOSE's SHA-256 differs */

typedef struct {
  const char *arch;        /* e.g. "cortex-m3" */
  uint32_t core_clock_hz;  /* the rate of qp_port_cycles */
  uint8_t announce_major;  /* version sent in HELLO_REPLY; 0: QP_VERSION_MAJOR (tests set others) */
  unsigned faults;         /* QP_FAULT_* */
  uint8_t *store;          /* the RAM file store: static, 16-byte aligned */
  uint32_t store_bytes;
  uint8_t *arena;          /* the runtime's arena for `run` */
  uint32_t arena_bytes;
} qp_board;

/* Platform hooks. */
int qp_port_getc(void);                            /* next received byte, or -1 when none is waiting */
void qp_port_write(const uint8_t *data, size_t n); /* returns when every byte is sent */
uint64_t qp_port_cycles(void);                     /* free-running counter at core_clock_hz */
void qp_port_wait(void);                           /* nothing to read: wait a little (or return at once) */

void qp_init(const qp_board *board);
/* Takes every byte waiting, handles complete frames, waits when there was none. Call forever. */
void qp_step(void);

/* Used by the commands (board_exec.c). */
uint32_t qp_ms(void);
/* Reads what has arrived while a command runs; answers ABORT (returns 1 once one came) and NAKs, drops
 * other frames (the host sends nothing else while a command runs). */
int qp_poll_abort(void);

/* board_exec.c: runs argv, writing stdout / stderr into the given buffers; returns the exit code. */
typedef struct {
  char *out;
  uint32_t out_len, out_cap;
  char *err;
  uint32_t err_len, err_cap;
} qp_output;
int qp_exec(const qp_board *board, int argc, char **argv, qp_output *o);
void qp_print(qp_output *o, int to_err, const char *text);
void qp_print_u64(qp_output *o, int to_err, uint64_t value);

#endif
