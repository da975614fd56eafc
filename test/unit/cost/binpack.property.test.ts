/** First-fit decreasing, for any pods and node: a valid packing, never worse than one node per pod, never below the volume bound. */
import fc from "fast-check";
import { binPack, packNodes, type NodeCapacity, type PodRequest } from "../../../cost/binpack";

const node: fc.Arbitrary<NodeCapacity> = fc.record({
  cpuMilli: fc.integer({ min: 500, max: 16000 }),
  memoryMi: fc.integer({ min: 512, max: 65536 }),
  maxPods: fc.integer({ min: 1, max: 110 }),
});
/** Pods that each fit an empty node of `n`. */
const podsFor = (n: NodeCapacity): fc.Arbitrary<PodRequest[]> =>
  fc.array(fc.record({ cpuMilli: fc.integer({ min: 0, max: n.cpuMilli }), memoryMi: fc.integer({ min: 0, max: n.memoryMi }) }), {
    maxLength: 60,
  });
const case_ = node.chain((n) => podsFor(n).map((pods) => ({ n, pods })));

describe("packNodes (property)", () => {
  test("places every pod exactly once and overfills no node in CPU, memory or pod count", () => {
    fc.assert(
      fc.property(case_, ({ n, pods }) => {
        const packed = packNodes(pods, n);
        expect(packed.flat().sort((a, b) => a - b)).toEqual(pods.map((_p, i) => i));
        for (const ids of packed) {
          expect(ids.length).toBeGreaterThan(0);
          expect(ids.length).toBeLessThanOrEqual(n.maxPods);
          expect(ids.reduce((s, i) => s + pods[i].cpuMilli, 0)).toBeLessThanOrEqual(n.cpuMilli);
          expect(ids.reduce((s, i) => s + pods[i].memoryMi, 0)).toBeLessThanOrEqual(n.memoryMi);
        }
      }),
    );
  });

  test("needs at least the volume bound and at most one node per pod", () => {
    fc.assert(
      fc.property(case_, ({ n, pods }) => {
        const count = binPack(pods, n);
        const sum = (f: (p: PodRequest) => number) => pods.reduce((s, p) => s + f(p), 0);
        const bound = Math.max(
          Math.ceil(sum((p) => p.cpuMilli) / n.cpuMilli),
          Math.ceil(sum((p) => p.memoryMi) / n.memoryMi),
          Math.ceil(pods.length / n.maxPods),
        );
        expect(count).toBeGreaterThanOrEqual(bound);
        expect(count).toBeLessThanOrEqual(pods.length);
      }),
    );
  });

  test("does not depend on the order the pods are listed in", () => {
    fc.assert(
      fc.property(
        case_.chain(({ n, pods }) => fc.shuffledSubarray(pods, { minLength: pods.length }).map((shuffled) => ({ n, pods, shuffled }))),
        ({ n, pods, shuffled }) => expect(binPack(shuffled, n)).toBe(binPack(pods, n)),
      ),
    );
  });
});
