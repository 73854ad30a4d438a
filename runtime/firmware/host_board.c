/* qm_host_board: the board side of the qm-fw serial protocol (runtime/firmware/serial_proto.c, the same
 * code as the mps2-an385 firmware) built for Linux, on a pty, paced to a line rate. A pty moves bytes as
 * fast as the kernel copies them, so this peer reads and writes at most baud / 10 bytes per second (8N1:
 * ten bits per byte, a token bucket per direction): throughput measured against it is what a real UART
 * at that baud would give.
 *
 *   qm_host_board [--baud N] [--tty PATH] [--fault corrupt-store] [--announce-major N]
 *
 * Without --tty it opens a new pty and prints "pty /dev/pts/N" on stdout (it keeps the pty's slave side
 * open too, so a host may close and reopen it: the board and its RAM files stay). --baud 0 turns pacing
 * off. --fault corrupt-store flips a bit of every stored file (CLOSE's SHA-256 then differs from the
 * host's); --announce-major answers HELLO with another protocol version. Runs until killed. */
#define _XOPEN_SOURCE 600
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "serial_proto.h"

#define STORE_BYTES (16u << 20)
#define ARENA_BYTES (16u << 20)
#define BUCKET_BYTES 128.0 /* the most a direction may send at once after an idle spell */

static uint8_t store[STORE_BYTES] __attribute__((aligned(16)));
static uint8_t arena[ARENA_BYTES] __attribute__((aligned(16)));

static int line = -1;
static double byte_ns; /* nanoseconds per byte on the wire; 0: unpaced */

typedef struct {
  double tokens;
  uint64_t last_ns;
} bucket;

static bucket rx_bucket, tx_bucket;
static uint8_t inbuf[4096];
static size_t in_pos, in_len;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_ns(uint64_t ns) {
  struct timespec t;
  t.tv_sec = (time_t)(ns / 1000000000u);
  t.tv_nsec = (long)(ns % 1000000000u);
  nanosleep(&t, NULL);
}

static void refill(bucket *b) {
  uint64_t now = now_ns();
  b->tokens += (double)(now - b->last_ns) / byte_ns;
  if (b->tokens > BUCKET_BYTES) b->tokens = BUCKET_BYTES;
  b->last_ns = now;
}

uint64_t qp_port_cycles(void) { return now_ns(); }

int qp_port_getc(void) {
  size_t want = sizeof inbuf;
  ssize_t n;
  if (in_pos < in_len) return inbuf[in_pos++];
  if (byte_ns > 0) {
    refill(&rx_bucket);
    if (rx_bucket.tokens < 1.0) return -1;
    if (want > (size_t)rx_bucket.tokens) want = (size_t)rx_bucket.tokens;
  }
  n = read(line, inbuf, want);
  if (n <= 0) return -1; /* nothing waiting (EAGAIN), or nobody on the line (EIO) */
  if (byte_ns > 0) rx_bucket.tokens -= (double)n;
  in_pos = 0;
  in_len = (size_t)n;
  return inbuf[in_pos++];
}

void qp_port_write(const uint8_t *data, size_t n) {
  while (n > 0) {
    size_t k = n;
    ssize_t w;
    if (byte_ns > 0) {
      refill(&tx_bucket);
      if (tx_bucket.tokens < 1.0) {
        sleep_ns((uint64_t)((1.0 - tx_bucket.tokens) * byte_ns) + 1u);
        continue;
      }
      if (k > (size_t)tx_bucket.tokens) k = (size_t)tx_bucket.tokens;
    }
    w = write(line, data, k);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {line, POLLOUT, 0};
        poll(&p, 1, 10);
        continue;
      }
      return; /* nobody on the line: the bytes are lost, as on an unplugged wire */
    }
    if (byte_ns > 0) tx_bucket.tokens -= (double)w;
    data += w;
    n -= (size_t)w;
  }
}

void qp_port_wait(void) {
  struct pollfd p = {line, POLLIN, 0};
  if (byte_ns > 0 && rx_bucket.tokens < 1.0) {
    /* Out of budget: wait until a few dozen bytes may be read. */
    sleep_ns((uint64_t)(32.0 * byte_ns));
    return;
  }
  if (poll(&p, 1, 10) > 0 && (p.revents & (POLLHUP | POLLERR)) && !(p.revents & POLLIN)) sleep_ns(10000000u);
}

static int set_raw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) != 0) return -1;
  cfmakeraw(&t);
  return tcsetattr(fd, TCSANOW, &t);
}

static int usage(void) {
  fprintf(stderr, "usage: qm_host_board [--baud N] [--tty PATH] [--fault corrupt-store] [--announce-major N]\n");
  return 2;
}

int main(int argc, char **argv) {
  static qp_board board = {"x86_64-host", 1000000000u, 0, 0, store, STORE_BYTES, arena, ARENA_BYTES};
  const char *tty = NULL;
  long baud = 115200;
  int i, slave = -1;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--baud") == 0 && i + 1 < argc) {
      baud = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--tty") == 0 && i + 1 < argc) {
      tty = argv[++i];
    } else if (strcmp(argv[i], "--fault") == 0 && i + 1 < argc && strcmp(argv[i + 1], "corrupt-store") == 0) {
      board.faults |= QP_FAULT_CORRUPT_STORE;
      i++;
    } else if (strcmp(argv[i], "--announce-major") == 0 && i + 1 < argc) {
      board.announce_major = (uint8_t)strtol(argv[++i], NULL, 10);
    } else {
      return usage();
    }
  }
  if (baud < 0) return usage();
  signal(SIGPIPE, SIG_IGN);
  if (tty) {
    line = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (line < 0 || set_raw(line) != 0) {
      fprintf(stderr, "qm_host_board: %s: %s\n", tty, strerror(errno));
      return 1;
    }
  } else {
    const char *name;
    line = posix_openpt(O_RDWR | O_NOCTTY);
    if (line < 0 || grantpt(line) != 0 || unlockpt(line) != 0 || !(name = ptsname(line)) ||
        (slave = open(name, O_RDWR | O_NOCTTY)) < 0 || set_raw(slave) != 0) {
      fprintf(stderr, "qm_host_board: cannot open a pty: %s\n", strerror(errno));
      return 1;
    }
    fcntl(line, F_SETFL, fcntl(line, F_GETFL) | O_NONBLOCK);
    printf("pty %s\n", name);
    fflush(stdout);
  }
  byte_ns = baud > 0 ? 1e9 * 10.0 / (double)baud : 0.0;
  rx_bucket.last_ns = tx_bucket.last_ns = now_ns();
  qp_init(&board);
  for (;;) qp_step();
  (void)slave;
  return 0;
}
