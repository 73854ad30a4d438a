/**
 * Signal names → Linux numbers, for the `128 + n` exit code of a process a
 * signal ended (Deno reports "SIGKILL", SSH reports "KILL").
 *
 * @module
 */

const SIGNAL_NUMBERS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  XCPU: 24,
  XFSZ: 25,
};

/**
 * The shell's exit code for a process ended by `signal` (128 + its number; 128 + 0 when unknown).
 *
 * @example
 * ```ts
 * import { signalExitCode } from "./_signals.ts";
 * signalExitCode("SIGKILL"); // 137
 * signalExitCode("SEGV"); // 139
 * ```
 */
export function signalExitCode(signal: string): number {
  return 128 + (SIGNAL_NUMBERS[signal.replace(/^SIG/, "")] ?? 0);
}
