/** Edit distance is a metric on words; `nearest` picks the closest known word. */
import fc from "fast-check";
import { editDistance, nearest } from "../../../validate/nearest";

describe("editDistance (property)", () => {
  const word = fc.string({ maxLength: 12 });
  test("zero exactly for equal words, symmetric, at most the longer length, and obeys the triangle inequality", () => {
    fc.assert(
      fc.property(word, word, word, (a, b, c) => {
        expect(editDistance(a, b) === 0).toBe(a === b);
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
      }),
    );
  });
});

test("nearest: the known value one typo away", () => {
  expect(nearest("eu-west-l", ["us-east-1", "eu-west-1", "eu-west-2"])).toBe("eu-west-1");
  expect(nearest("m6i.larg", ["m6i.large", "m6i.xlarge"])).toBe("m6i.large");
});
