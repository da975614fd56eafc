/** The repository's root, for tests that read its stack files, charts and fixtures wherever they sit. */
import * as path from "path";

export const ROOT = path.join(__dirname, "..", "..");
