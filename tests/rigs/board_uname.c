/* `uname` for the arm64 board rig (tests/rigs/sshd.ts): an aarch64 build of the few options the
 * device transports use (-s -n -r -v -m -p -i -o -a, combinable as in "-sr"). The board runs the host's
 * x86 userland except this, so `uname -m` reports what an aarch64 process sees under qemu-aarch64. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

int main(int argc, char **argv) {
  struct utsname u;
  int s = 0, n = 0, r = 0, v = 0, m = 0, o = 0, any = 0;
  if (uname(&u) != 0) { perror("uname"); return 1; }
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-') { fprintf(stderr, "uname: extra operand '%s'\n", argv[i]); return 1; }
    for (const char *c = argv[i] + 1; *c; c++) {
      switch (*c) {
        case 'a': s = n = r = v = m = o = 1; break;
        case 's': s = 1; break;
        case 'n': n = 1; break;
        case 'r': r = 1; break;
        case 'v': v = 1; break;
        case 'm': case 'p': case 'i': m = 1; break;
        case 'o': o = 1; break;
        default: fprintf(stderr, "uname: invalid option -- '%c'\n", *c); return 1;
      }
      any = 1;
    }
  }
  if (!any) s = 1;
  const char *fields[6] = { s ? u.sysname : 0, n ? u.nodename : 0, r ? u.release : 0,
                            v ? u.version : 0, m ? u.machine : 0, o ? "GNU/Linux" : 0 };
  const char *sep = "";
  for (int i = 0; i < 6; i++) if (fields[i]) { printf("%s%s", sep, fields[i]); sep = " "; }
  printf("\n");
  return 0;
}
