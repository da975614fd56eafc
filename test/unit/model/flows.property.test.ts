/**
 * The allowed flows, for stages varied by shuffling and by dropping calls, workers and push: sorted
 * and unique, independent of list order, every endpoint a pod group the stage runs, every call and
 * every budgeted store client let through.
 */
import fc from "fast-check";
import { ANYWHERE } from "../../../model/flows";
import { migrateJobName, NAMES } from "../../../model/names";
import { stageModel } from "../../../model/stage";
import type { Spec } from "../../../spec/schema";
import { stageSpec } from "../../lib/stacks";

const STAGES = ["mvc", "split", "micro", "ddd"] as const;

/** A stage with some calls, workers and its push dropped, and its services and workers shuffled. */
const variant: fc.Arbitrary<Spec> = fc.constantFrom(...STAGES).chain((stage) => {
  const spec = stageSpec(stage);
  return fc
    .record({
      keepCall: fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
      keepWorker: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      keepPush: fc.boolean(),
      services: fc.shuffledSubarray(spec.services, { minLength: spec.services.length }),
    })
    .map(({ keepCall, keepWorker, keepPush, services }) => {
      let n = 0;
      return {
        ...spec,
        services: services.map((s) => ({ ...s, calls: s.calls.filter(() => keepCall[n++ % keepCall.length]) })),
        workers: spec.workers.filter((_w, i) => keepWorker[i % keepWorker.length]),
        push: keepPush ? spec.push : undefined,
      };
    });
});

describe("allowedFlows (property)", () => {
  test("sorted, unique, and the same whatever the order of services and workers", () => {
    fc.assert(
      fc.property(variant, (spec) => {
        const flows = stageModel(spec).flows;
        const keys = flows.map((f) => `${f.from}|${f.to}|${f.port}`);
        expect(new Set(keys).size).toBe(keys.length);
        const reversed = stageModel({ ...spec, services: [...spec.services].reverse(), workers: [...spec.workers].reverse() }).flows;
        expect(reversed).toEqual(flows);
      }),
    );
  });

  test("every endpoint is a pod group of the stage: a workload or one of its Jobs", () => {
    fc.assert(
      fc.property(variant, (spec) => {
        const model = stageModel(spec);
        const groups = new Set<string>([
          ...model.workloads.map((w) => w.name),
          ...spec.services.filter((s) => s.migrate).map((s) => migrateJobName(s.name)),
          NAMES.mysqlBootstrap,
          NAMES.etcdAuth,
        ]);
        for (const f of model.flows) {
          if (f.from !== ANYWHERE) expect(groups).toContain(f.from);
          expect(groups).toContain(f.to);
        }
      }),
    );
  });

  test("every call is open on the callee's port, and every budgeted store client reaches its store", () => {
    fc.assert(
      fc.property(variant, (spec) => {
        const model = stageModel(spec);
        const open = (from: string, to: string) => model.flows.some((f) => f.from === from && f.to === to);
        for (const c of model.calls) expect(model.flows).toContainEqual({ from: c.from, to: c.to, port: c.port });
        for (const c of model.storeClients) expect(open(c.client, c.store)).toBe(true);
        // A dropped call is closed: no flow between two services that the spec does not declare.
        const services = new Set(spec.services.map((s) => s.name));
        for (const f of model.flows)
          if (services.has(f.from) && services.has(f.to)) expect(model.calls.some((c) => c.from === f.from && c.to === f.to)).toBe(true);
      }),
    );
  });
});
