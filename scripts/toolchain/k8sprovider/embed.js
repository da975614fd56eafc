// Makes the two files the provider embeds but its module zip lacks (upstream: generate.go):
// schema-embed.json (schema.json with `version` set) and terraform-mapping-embed.json, both compact.
const fs = require("fs");
const path = require("path");
const [dir, version] = process.argv.slice(2);
if (!dir || !version) throw new Error("usage: embed.js <cmd dir> <version>");
const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
const schema = read("schema.json");
schema.version = version;
fs.writeFileSync(path.join(dir, "schema-embed.json"), JSON.stringify(schema));
fs.writeFileSync(path.join(dir, "terraform-mapping-embed.json"), JSON.stringify(read("terraform-mapping.json")));
