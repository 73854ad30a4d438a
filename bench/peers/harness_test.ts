import assert from "node:assert/strict";
import { peerPython, PeersNotInstalledError } from "./harness.ts";

Deno.test("peerPython: a missing or stale venv is an error that names scripts/peers/setup", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/scripts/peers`, { recursive: true });
    await Deno.writeTextFile(`${root}/scripts/peers/requirements.txt`, "onnxruntime==1.30.0\n");
    await assert.rejects(
      peerPython(root),
      (e) => e instanceof PeersNotInstalledError && /not installed.*scripts\/peers\/setup/.test(e.message),
    );
    await Deno.mkdir(`${root}/.venv-peers`);
    await Deno.writeTextFile(`${root}/.venv-peers/.requirements.sha256`, "0".repeat(64));
    await assert.rejects(peerPython(root), /predates scripts\/peers\/requirements\.txt: run scripts\/peers\/setup/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
