/**
 * The program's entry (package.json `main`): index.ts and what it imports, loaded through the
 * transpile cache (transpileCache.js) instead of being transpiled again on every preview and up.
 *
 * PULUMI_NODEJS_TRANSPILE_ONLY=false (scripts/env.sh) still means "type-check in the engine": then
 * the language host's ts-node loads the program, as it did before the cache.
 */
"use strict";
const path = require("path");
const typeCheck = process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "false" && require.extensions[".ts"] !== undefined;
if (!typeCheck) require("./transpileCache").install(path.join(__dirname, ".."));
module.exports = require("../index.ts");
