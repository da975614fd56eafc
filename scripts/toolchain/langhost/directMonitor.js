// A change to the language host's source, made after copying it (scripts/toolchain.sh build_langhost).
//
// Why: the host built here (sdk/v3 v3.58.0, see go.mod) hands the program the address of a proxy it
// runs itself, which decodes and re-encodes every call the program makes to the engine (each
// resource's registration, each invoke) before forwarding it. Later hosts hand over the engine's own
// monitor address, as the change below does. In a no-op preview of a live ddd stack the host spent
// ~0.4 s of CPU; without the proxy the whole preview took ~0.2 s less CPU and ~0.2 s less wall time
// (docs/benchmarks.md §4). The proxy also answers "unimplemented" to the calls a newer SDK makes
// that v3.58.0 did not know. Upstream: nodejs/cmd/pulumi-language-nodejs main.go, Run.
const fs = require("fs");
const path = require("path");

/** One anchored replacement: the address the program is launched with. */
const CHANGE = {
  file: "main.go",
  anchor:
    "\tgo host.execNodejs(ctx, responseChannel, req, nodeBin, runPath,\n" +
    '\t\tfmt.Sprintf("127.0.0.1:%d", handle.Port), pipes.directory())\n',
  replacement:
    "\t// Stagecraft: the engine's monitor itself, not this host's proxy of it\n" +
    "\t// (scripts/toolchain/langhost/directMonitor.js).\n" +
    "\tgo host.execNodejs(ctx, responseChannel, req, nodeBin, runPath,\n" +
    "\t\treq.GetMonitorAddress(), pipes.directory())\n",
};

/** `source` (main.go) with the launch address replaced; throws unless the anchor is there exactly once. */
function patchDirectMonitor(source, change = CHANGE) {
  const at = source.indexOf(change.anchor);
  if (at < 0 || source.indexOf(change.anchor, at + 1) >= 0 || source.includes(change.replacement)) {
    throw new Error(
      `${change.file}: the program's launch is not there exactly once, or the change is made already (the host changed): re-check ${__filename}`,
    );
  }
  return source.slice(0, at) + change.replacement + source.slice(at + change.anchor.length);
}

module.exports = { patchDirectMonitor, CHANGE };

if (require.main === module) {
  const [dir] = process.argv.slice(2);
  if (!dir) throw new Error("usage: directMonitor.js <language host source dir>");
  const file = path.join(dir, CHANGE.file);
  fs.writeFileSync(file, patchDirectMonitor(fs.readFileSync(file, "utf8")));
}
