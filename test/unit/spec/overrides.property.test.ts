/** Environment overrides, for any overrides of a stage's named entries and scalar fields. */
import fc from "fast-check";
import { applyOverrides } from "../../../spec/overrides";
import { stageSpec } from "../../lib/stacks";

const STAGES = ["mvc", "split", "micro", "ddd"] as const;
type Raw = { services: { name: string; replicas: number; [k: string]: unknown }[]; data: { redis: { maxclients: number } } };

/** A stage and an override of some of its services' replicas and of Redis' maxclients. */
const caseArb = fc.constantFrom(...STAGES).chain((stage) => {
  const spec = stageSpec(stage) as unknown as Raw;
  const names = spec.services.map((s) => s.name);
  return fc
    .record({
      replicas: fc.dictionary(
        fc.constantFrom(...names),
        fc.integer({ min: 1, max: 50 }).map((replicas) => ({ replicas })),
      ),
      maxclients: fc.option(fc.integer({ min: 16, max: 100000 }), { nil: undefined }),
    })
    .map(({ replicas, maxclients }) => ({
      spec,
      overrides: { services: replicas, ...(maxclients === undefined ? {} : { data: { redis: { maxclients } } }) },
    }));
});

describe("applyOverrides (property)", () => {
  test("changes exactly the named entries' fields, keeps list order, and is idempotent", () => {
    fc.assert(
      fc.property(caseArb, ({ spec, overrides }) => {
        const { spec: merged, problems } = applyOverrides(spec, overrides);
        const m = merged as Raw;
        expect(problems).toEqual([]);
        expect(m.services.map((s) => s.name)).toEqual(spec.services.map((s) => s.name));
        m.services.forEach((s, i) => {
          const want = overrides.services[s.name]?.replicas ?? spec.services[i].replicas;
          expect(s).toEqual({ ...spec.services[i], replicas: want });
        });
        expect(m.data.redis.maxclients).toBe(overrides.data?.redis.maxclients ?? spec.data.redis.maxclients);
        expect(applyOverrides(merged, overrides).spec).toEqual(merged);
      }),
    );
  });

  test("an override of an entry the stage lacks is a problem naming it, and changes nothing else", () => {
    fc.assert(
      fc.property(caseArb, fc.stringMatching(/^[a-z]{3,12}-x$/), ({ spec }, ghost) => {
        const { spec: merged, problems } = applyOverrides(spec, { services: { [ghost]: { replicas: 3 } } });
        expect(problems).toHaveLength(1);
        expect(problems[0].path).toEqual(["services", ghost]);
        expect(problems[0].message).toContain(`'${ghost}'`);
        expect(merged).toEqual(spec);
      }),
    );
  });

  test("no overrides, no change", () => {
    for (const stage of STAGES) expect(applyOverrides(stageSpec(stage), undefined)).toEqual({ spec: stageSpec(stage), problems: [] });
  });
});
