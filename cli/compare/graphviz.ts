/** Runs Graphviz: DOT text in, SVG out. The only impure step of the diagram. */
import { spawnSync } from "child_process";

export function dotToSvg(dot: string, bin = "dot"): string {
  const r = spawnSync(bin, ["-Tsvg"], { input: dot, encoding: "utf8", timeout: 60_000 });
  if (r.error)
    throw new Error(
      `could not run Graphviz '${bin}' (${r.error.message}): install it (Debian: apt-get install -y graphviz) to draw the diagrams`,
    );
  if (r.status !== 0) throw new Error(`Graphviz failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}

/**
 * Prefixes every id (and every reference to one) in an SVG so several SVGs can sit inline in one
 * HTML page: Graphviz and Vega both number their ids from 1, and duplicates break clip paths.
 */
export function namespaceSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/<\?xml[^>]*\?>\s*/g, "")
    .replace(/<!DOCTYPE[^>]*>\s*/g, "")
    .replace(/<!--[\s\S]*?-->\s*/g, "")
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}
