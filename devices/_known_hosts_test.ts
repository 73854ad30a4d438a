// known_hosts matching against vectors made by OpenSSH's own ssh-keygen (keys, `-l` fingerprints, `-H` hashing).
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  checkHostKey,
  describeKey,
  fingerprint,
  hostKeyAlgorithms,
  keyBlobType,
  knownHostsLine,
  parseKnownHosts,
} from "./_known_hosts.ts";

// `ssh-keygen -t ed25519`; `ssh-keygen -l` printed SHA256:A9z5Xo8j8Zj7vO+nIrLfYTf2iW8+jIYJP6gFeCKJEvs.
const ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIA+86bnvkOegzLhacMUktELUJOkEvib3AalI/OWeIXTi";
// `ssh-keygen -t ecdsa`; SHA256:OwUlWlSU+YQobMlcv1eh1HcCux4zOUNcG6m6/21Pvgg.
const ECDSA =
  "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBD1l5LpS4oysrChK+AkMxAjJETWPw8ZSK9Xrunooob4oDIyfs4Tcy1nKpAh6OAWGiT152vcumuUFfbnxIxkoS88=";
// `ssh-keygen -H` of "[127.0.0.1]:2222 …" and "board.lan …".
const HASHED_PORT = "|1|LpsD3w1FKpKEqtQ5u2ocxVKbE3g=|BEw+ZCgZ90FEWTJgpyZ8eYR+f9Y=";
const HASHED_BOARD = "|1|teqhwBHlT2kvCLjHXJS+BacLQ5A=|34YL0HLRrpVlxzLvkFZrxjJZMSk=";

const blob = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));

Deno.test("fingerprints and key types equal ssh-keygen's", () => {
  assert.equal(fingerprint(blob(ED25519)), "SHA256:A9z5Xo8j8Zj7vO+nIrLfYTf2iW8+jIYJP6gFeCKJEvs");
  assert.equal(fingerprint(blob(ECDSA)), "SHA256:OwUlWlSU+YQobMlcv1eh1HcCux4zOUNcG6m6/21Pvgg");
  assert.equal(keyBlobType(blob(ECDSA)), "ecdsa-sha2-nistp256");
  assert.equal(describeKey(blob(ED25519)), "ED25519 key SHA256:A9z5Xo8j8Zj7vO+nIrLfYTf2iW8+jIYJP6gFeCKJEvs");
});

Deno.test("plain, [host]:port and hashed names match only their host and port", () => {
  for (const hosts of ["[127.0.0.1]:2222", HASHED_PORT, "other,[127.0.0.1]:2222", "[127.0.0.*]:2222"]) {
    const entries = parseKnownHosts(`# comment\n\n${hosts} ssh-ed25519 ${ED25519}\n`);
    assert.equal(entries.length, 1);
    assert.equal(checkHostKey(entries, "127.0.0.1", 2222, blob(ED25519)).status, "known", hosts);
    assert.equal(checkHostKey(entries, "127.0.0.1", 22, blob(ED25519)).status, "unknown", hosts);
    assert.equal(
      checkHostKey(entries, "127.0.0.2", 2222, blob(ED25519)).status,
      hosts.includes("*") ? "known" : "unknown",
    );
  }
  for (const hosts of ["board.lan", "BOARD.lan", HASHED_BOARD, "*.lan", "b?ard.lan"]) {
    const entries = parseKnownHosts(`${hosts} ssh-ed25519 ${ED25519}`);
    assert.equal(checkHostKey(entries, "board.lan", 22, blob(ED25519)).status, "known", hosts);
    assert.equal(checkHostKey(entries, "board.lan", 2222, blob(ED25519)).status, "unknown", hosts);
  }
  const negated = parseKnownHosts(`*.lan,!board.lan ssh-ed25519 ${ED25519}`);
  assert.equal(checkHostKey(negated, "board.lan", 22, blob(ED25519)).status, "unknown");
  assert.equal(checkHostKey(negated, "pi.lan", 22, blob(ED25519)).status, "known");
});

Deno.test("a listed host with another key has changed; @revoked refuses; @cert-authority is skipped", () => {
  const entries = parseKnownHosts(
    [`board.lan ecdsa-sha2-nistp256 ${ECDSA}`, `@cert-authority * ssh-ed25519 ${ED25519}`, "garbage line"].join("\n"),
  );
  assert.equal(entries.length, 2);
  const changed = checkHostKey(entries, "board.lan", 22, blob(ED25519));
  assert.equal(changed.status, "changed");
  assert.deepEqual(changed.status === "changed" && changed.entries.map((e) => e.line), [1]);
  assert.equal(checkHostKey(entries, "pi.lan", 22, blob(ED25519)).status, "unknown"); // CA lines are not keys
  const revoked = parseKnownHosts(`@revoked * ssh-ed25519 ${ED25519}\nboard.lan ssh-ed25519 ${ED25519}`);
  assert.equal(checkHostKey(revoked, "board.lan", 22, blob(ED25519)).status, "revoked");
});

Deno.test("known key types are offered first; a recorded line reads back as known", () => {
  assert.deepEqual(hostKeyAlgorithms(["ecdsa-sha2-nistp256"]).slice(0, 2), ["ecdsa-sha2-nistp256", "ssh-ed25519"]);
  assert.equal(hostKeyAlgorithms([])[0], "ssh-ed25519");
  assert.ok(
    hostKeyAlgorithms(["ssh-rsa"]).indexOf("rsa-sha2-256") < hostKeyAlgorithms(["ssh-rsa"]).indexOf("ssh-ed25519"),
  );
  const line = knownHostsLine("127.0.0.1", 2222, blob(ED25519));
  assert.equal(line, `[127.0.0.1]:2222 ssh-ed25519 ${ED25519}`);
  assert.equal(checkHostKey(parseKnownHosts(line), "127.0.0.1", 2222, blob(ED25519)).status, "known");
});
