// A second change to the provider's source, made after copying it (scripts/toolchain.sh build_provider).
//
// Why: the provider's Deployment and StatefulSet awaits judge an update by the object's status, but
// for a moment after the update the status still describes the previous rollout (the controller has
// not observed the new generation yet), and it reads as done: seen on the real node, `up` logged
// "Deployment initialization complete" 0.4 s after updating a Deployment whose new pods took 20 s,
// so a caller's pods rolled while its callee's were still starting. The change makes both awaits
// ignore an object whose status.observedGeneration is below its metadata.generation, as upstream
// later did for StatefulSets (pulumi/pulumi-kubernetes#4094). Upstream: pkg/await/deployment.go
// processDeploymentEvent, pkg/await/statefulset.go processStatefulSetEvent.
const fs = require("fs");
const path = require("path");

/** One anchored insertion per file: after the awaiter's own stale-object check. */
const CHANGES = [
  { file: path.join("pkg", "await", "deployment.go"), object: "deployment", awaiter: "dia" },
  { file: path.join("pkg", "await", "statefulset.go"), object: "statefulset", awaiter: "sia" },
].map((c) => ({
  ...c,
  anchor:
    "\t// Do nothing if this is a stale object.\n" +
    `\tif ${c.object}.GetGeneration() < ${c.awaiter}.config.currentOutputs.GetGeneration() {\n` +
    "\t\treturn\n" +
    "\t}\n",
  insert:
    "\n\t// Stagecraft: until the controller has observed this generation, the status is the previous\n" +
    "\t// rollout's and would read as done (scripts/toolchain/k8sprovider/awaitObserved.js).\n" +
    `\tif observed, found, _ := unstructured.NestedInt64(${c.object}.Object, "status", "observedGeneration"); !found || observed < ${c.object}.GetGeneration() {\n` +
    "\t\treturn\n" +
    "\t}\n",
}));

/** `source` (the file `change.file`) with the check inserted; throws unless the anchor is there exactly once. */
function patchAwaitObserved(source, change) {
  const at = source.indexOf(change.anchor);
  if (at < 0 || source.indexOf(change.anchor, at + 1) >= 0 || source.includes(change.insert)) {
    throw new Error(
      `${change.file}: the stale-object check is not there exactly once, or the change is made already (the provider changed): re-check ${__filename}`,
    );
  }
  const end = at + change.anchor.length;
  return source.slice(0, end) + change.insert + source.slice(end);
}

module.exports = { patchAwaitObserved, CHANGES };

if (require.main === module) {
  const [dir] = process.argv.slice(2);
  if (!dir) throw new Error("usage: awaitObserved.js <provider module dir>");
  for (const c of CHANGES) {
    const file = path.join(dir, c.file);
    fs.writeFileSync(file, patchAwaitObserved(fs.readFileSync(file, "utf8"), c));
  }
}
