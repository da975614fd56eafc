// One change to the provider's source, made after copying it (scripts/toolchain.sh build_provider).
//
// Why: in server-side-apply mode a preview cannot dry-run the create half of a delete-before-replace
// (the old object still exists), so the provider retries the dry run under a generated name when
// the API server says a field is immutable. It recognises that answer only by the text "field is
// immutable"; a Service whose clusterIP changes (e.g. to a headless "None") is refused with
// "spec.clusterIPs[0]: ... may not change once set", so the preview of that replacement fails and
// with it the whole `pulumi up`, although the update itself (delete, then create) would succeed.
// The change makes that answer take the same retry. Upstream: pkg/await/await.go, Creation.
const fs = require("fs");
const path = require("path");

const FILE = path.join("pkg", "await", "await.go");
const ANCHOR = "(apierrors.IsInvalid(err) && strings.Contains(err.Error(), apivalidation.FieldImmutableErrorMsg))";
const PATCHED =
  "(apierrors.IsInvalid(err) && (strings.Contains(err.Error(), apivalidation.FieldImmutableErrorMsg) ||\n" +
  '\t\t\t\t\t\tstrings.Contains(err.Error(), "may not change once set")))';

/** The source with the change made; throws if the code it changes is not there exactly once. */
function patchPreviewReplace(source) {
  const at = source.indexOf(ANCHOR);
  if (at < 0 || source.indexOf(ANCHOR, at + 1) >= 0) {
    throw new Error(
      `${FILE}: the preview retry's condition is not there exactly once (the provider changed): re-check the change in ${__filename}`,
    );
  }
  return source.slice(0, at) + PATCHED + source.slice(at + ANCHOR.length);
}

module.exports = { patchPreviewReplace, ANCHOR, PATCHED };

if (require.main === module) {
  const [dir] = process.argv.slice(2);
  if (!dir) throw new Error("usage: previewReplace.js <provider module dir>");
  const file = path.join(dir, FILE);
  fs.writeFileSync(file, patchPreviewReplace(fs.readFileSync(file, "utf8")));
}
