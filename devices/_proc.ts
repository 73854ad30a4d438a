/**
 * Process-tree helpers over Linux /proc, for ending a timed-out command with
 * everything it started (devices/local.ts) and for the test rigs.
 *
 * @module
 */

/**
 * Parent PID of a process from /proc/PID/stat, or null when it is gone (or /proc is absent).
 *
 * @example
 * ```ts ignore
 * parentPid(Deno.pid); // the PID of whoever started this process
 * ```
 */
export function parentPid(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/**
 * Every live descendant of `pid` (children first, then theirs), by one scan of /proc.
 *
 * @example
 * ```ts ignore
 * descendants(Deno.pid); // [] when this process started nothing
 * ```
 */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      const child = Number(entry.name);
      if (!Number.isInteger(child)) continue;
      const parent = parentPid(child);
      if (parent === null) continue;
      const list = children.get(parent) ?? [];
      list.push(child);
      children.set(parent, list);
    }
  } catch {
    return [];
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * Sends a signal, ignoring a process that is already gone.
 *
 * @example
 * ```ts ignore
 * signalPid(child.pid, "SIGTERM");
 * ```
 */
export function signalPid(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * SIGKILLs every descendant of `pid` (stopping them first so none forks a
 * new one in between) — but only when `pid` is really our own child, so a
 * PID from an injected fake spawner can never hit an unrelated process.
 * The process itself is left to its owner (kill it through its handle).
 *
 * @example
 * ```ts ignore
 * killDescendants(child.pid);
 * child.kill("SIGKILL");
 * ```
 */
export function killDescendants(pid: number): void {
  if (parentPid(pid) !== Deno.pid) return;
  signalPid(pid, "SIGSTOP");
  const tree = descendants(pid);
  for (const p of tree) signalPid(p, "SIGSTOP");
  for (const p of [...descendants(pid), ...tree]) signalPid(p, "SIGKILL");
  signalPid(pid, "SIGCONT");
}
