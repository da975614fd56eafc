/** The VPC address plan, for every CIDR and zone count the rules accept. */
import fc from "fast-check";
import { formatCidr, MAX_ZONES, parseCidr, subnetPlan, VPC_PREFIX, type Cidr } from "../../../aws/eksNetwork";

/** A network address of a private /16../20 block. */
const vpc: fc.Arbitrary<Cidr> = fc
  .record({ prefix: fc.integer({ min: VPC_PREFIX.largest, max: VPC_PREFIX.smallest }), slot: fc.integer({ min: 0, max: 2 ** 20 - 1 }) })
  .map(({ prefix, slot }) => {
    const size = 2 ** (32 - prefix);
    const base10 = 10 * 2 ** 24;
    return { base: base10 + (slot % (2 ** 24 / size)) * size, prefix };
  });
const zones = fc.integer({ min: 2, max: MAX_ZONES });
const range = (c: Cidr) => [c.base, c.base + 2 ** (32 - c.prefix)] as const;

describe("subnetPlan (property)", () => {
  test("every subnet lies inside the VPC and no two overlap", () => {
    fc.assert(
      fc.property(vpc, zones, (v, n) => {
        const plan = subnetPlan(formatCidr(v), n);
        const subnets = [...plan.private, ...plan.public].map((s) => parseCidr(s) as Cidr);
        expect(plan.private).toHaveLength(n);
        expect(plan.public).toHaveLength(n);
        const [lo, hi] = range(v);
        const spans = subnets.map(range).sort((a, b) => a[0] - b[0]);
        for (const [a, b] of spans) {
          expect(a).toBeGreaterThanOrEqual(lo);
          expect(b).toBeLessThanOrEqual(hi);
        }
        for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
      }),
    );
  });

  test("adding a zone only adds: every existing zone keeps its subnets", () => {
    fc.assert(
      fc.property(vpc, fc.integer({ min: 2, max: MAX_ZONES - 1 }), (v, n) => {
        const before = subnetPlan(formatCidr(v), n);
        const after = subnetPlan(formatCidr(v), n + 1);
        expect(after.private.slice(0, n)).toEqual(before.private);
        expect(after.public.slice(0, n)).toEqual(before.public);
      }),
    );
  });

  test("private subnets are the large ones: each holds at least eight times a public one", () => {
    fc.assert(
      fc.property(vpc, zones, (v, n) => {
        const plan = subnetPlan(formatCidr(v), n);
        const size = (s: string) => 2 ** (32 - (parseCidr(s) as Cidr).prefix);
        expect(size(plan.private[0])).toBe(8 * size(plan.public[0]));
      }),
    );
  });
});
