/**
 * calleesFirst, for random call graphs over random service lists: a permutation of the services;
 * on an acyclic graph every callee comes before its callers; with a cycle it still names each
 * service once (validation refuses the cycle, the model must not loop or drop a service).
 */
import fc from "fast-check";
import { calleesFirst, calls } from "../../../model/calls";
import type { ServiceSpec } from "../../../spec/schema";
import { stageSpec } from "../../lib/stacks";

const base = stageSpec("split").services[0];
const names = ["a", "b", "c", "d", "e", "f", "g"];

/** n services; each may call any other (acyclic: only services later in a hidden order). */
const graph = (acyclic: boolean): fc.Arbitrary<ServiceSpec[]> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: names.length }),
      edges: fc.array(fc.tuple(fc.nat(6), fc.nat(6)), { maxLength: 20 }),
      shuffle: fc.shuffledSubarray(names, { minLength: names.length }),
    })
    .map(({ n, edges, shuffle }) => {
      const hidden = shuffle.filter((x) => names.indexOf(x) < n);
      return hidden.map((name, i) => ({
        ...base,
        name,
        calls: edges
          .filter(([from, to]) => from % hidden.length === i && (acyclic ? to % hidden.length > i : to % hidden.length !== i))
          .map(([, to]) => hidden[to % hidden.length]),
      }));
    })
    .chain((services) => fc.shuffledSubarray(services, { minLength: services.length }));

describe("calleesFirst (property)", () => {
  test("acyclic: every callee before its callers, each service once", () => {
    fc.assert(
      fc.property(graph(true), (services) => {
        const order = calleesFirst(services, calls(services));
        expect([...order].sort()).toEqual(services.map((s) => s.name).sort());
        for (const s of services) for (const to of s.calls) expect(order.indexOf(to)).toBeLessThan(order.indexOf(s.name));
      }),
    );
  });

  test("with cycles: still each service exactly once", () => {
    fc.assert(
      fc.property(graph(false), (services) => {
        const order = calleesFirst(services, calls(services));
        expect([...order].sort()).toEqual(services.map((s) => s.name).sort());
      }),
    );
  });

  test("the stage stacks: split starts account, then feed (which calls account), then web", () => {
    const split = stageSpec("split").services;
    expect(calleesFirst(split, calls(split))).toEqual(["account", "feed", "web"]);
  });
});
