/**
 * The program's entry (package.json `main`): index.ts and what it imports, loaded through the
 * transpile cache (transpileCache.js) instead of being transpiled again on every preview and up.
 *
 * PULUMI_NODEJS_TRANSPILE_ONLY=false (scripts/env.sh) still means "type-check in the engine": then
 * ts-node loads the program, registered by the language host or, when Pulumi.yaml's
 * `typescript: false` kept the host from it (boot/runner.js), here.
 */
"use strict";
const path = require("path");
if (process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "false") {
  if (require.extensions[".ts"] === undefined) require("ts-node").register({ transpileOnly: false });
} else {
  require("./transpileCache").install(path.join(__dirname, ".."));
}
module.exports = require("../index.ts");
