/** Kubernetes quantities as numbers, for sums and bin-packing. */

/** '20Gi' -> 20, '512Mi' -> 0.5. */
export function gibibytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)$/.exec(q);
  if (!m) throw new Error(`not a binary quantity: ${q}`);
  const scale = { Ki: 1 / (1024 * 1024), Mi: 1 / 1024, Gi: 1, Ti: 1024 }[m[2] as "Ki" | "Mi" | "Gi" | "Ti"];
  return Number(m[1]) * scale;
}

/** '250m' -> 250, '1' -> 1000. */
export function millicores(q: string): number {
  return q.endsWith("m") ? Number(q.slice(0, -1)) : Math.round(Number(q) * 1000);
}
