/**
 * Environment overrides (`stagecraft:specOverrides`): what a team changed for one environment
 * (replicas, resources, pool sizes, limits) kept apart from the stage, so a stage move (`promote`)
 * swaps the stage and keeps them. A deep merge onto the raw spec, before validation; list entries
 * (services, workers) are addressed by name, so an override never depends on list order.
 *
 *   stagecraft:specOverrides:
 *     services: { web: { replicas: 6, hpa: { maxReplicas: 12 } } }
 *     data: { mysql: { maxConnections: 2000 } }
 */
import type { SpecProblem } from "./errors";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Lists whose entries are addressed by their `name` in overrides. */
const NAMED_LISTS = new Set(["services", "workers"]);

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

function merge(base: Json | undefined, patch: Json, path: (string | number)[], problems: SpecProblem[]): Json {
  if (!isObject(patch) || !isObject(base)) return patch;
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const here = [...path, k];
    if (NAMED_LISTS.has(k) && path.length === 0) {
      const list = base[k];
      if (!Array.isArray(list) || !isObject(v)) {
        problems.push({
          key: "specOverrides",
          path: here,
          message: "must map entry names to partial entries, e.g. { web: { replicas: 4 } }",
          fix: "edit stagecraft:specOverrides in the stack file",
        });
        continue;
      }
      const names = list.map((e) => (isObject(e) ? e.name : undefined));
      for (const name of Object.keys(v)) {
        if (!names.includes(name))
          problems.push({
            key: "specOverrides",
            path: [...here, name],
            message: `overrides '${name}', which this stage does not have (it has ${names.join(", ") || "none"})`,
            fix: `remove it: pulumi config rm --path 'specOverrides.${k}.${name}'`,
          });
      }
      out[k] = list.map((e) =>
        isObject(e) && typeof e.name === "string" && v[e.name] !== undefined ? merge(e, v[e.name], [...here, e.name], problems) : e,
      );
    } else {
      out[k] = merge(base[k], v, here, problems);
    }
  }
  return out;
}

/** The spec with the overrides applied, and any override that points at nothing. */
export function applyOverrides(spec: unknown, overrides: unknown): { spec: unknown; problems: SpecProblem[] } {
  if (overrides === undefined || overrides === null) return { spec, problems: [] };
  if (!isObject(overrides))
    return {
      spec,
      problems: [
        {
          key: "specOverrides",
          path: [],
          message: "must be an object of fields to override",
          fix: "edit stagecraft:specOverrides in the stack file",
        },
      ],
    };
  const problems: SpecProblem[] = [];
  return { spec: merge(spec as Json, overrides, [], problems), problems };
}
