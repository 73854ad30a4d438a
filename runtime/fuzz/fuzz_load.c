/* libFuzzer harness of the loader and interpreter: any bytes are loaded; what loads runs once on a zero
 * input in a fixed arena. Built and run by scripts/native/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined);
 * an input that crashes or trips a sanitizer is saved, and kept in runtime/fuzz/regressions/ as a test
 * (tests/native_loader_test.ts replays it with `qm_run FILE --time 1`, which does what this harness does). */
#include <stdint.h>
#include <string.h>

#include "qm.h"

#define ARENA_BYTES (4u << 20)

static uint8_t arena[ARENA_BYTES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qm_model model;
  if (qm_load(&model, data, size) != QM_OK) return 0;
  if (qm_arena_size(&model) > ARENA_BYTES) return 0;
  memset(arena, 0, qm_arena_size(&model));
  (void)qm_run(&model, arena, ARENA_BYTES, NULL, NULL);
  return 0;
}
