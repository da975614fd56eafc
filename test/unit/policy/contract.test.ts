/** The pack reads the labels the components write: the two sides must name them the same. */
import { CALL_RULES_ANNOTATION as C_CALL_RULES, LAYER_LABEL as C_LAYER, TIER_LABEL as C_TIER, labels } from "../../../model/names";
import { POD_NAME_LABEL } from "../../../components/platform/networkPolicies";
import { CALL_RULES_ANNOTATION, COMPONENT_LABEL, LAYER_LABEL, NAME_LABEL, STORE_COMPONENTS, TIER_LABEL } from "../../../policy/contract";

test("policy/contract.ts matches the components' label names", () => {
  expect([NAME_LABEL, TIER_LABEL, LAYER_LABEL, CALL_RULES_ANNOTATION]).toEqual([POD_NAME_LABEL, C_TIER, C_LAYER, C_CALL_RULES]);
  expect(Object.keys(labels("mysql", "database", "data"))).toEqual(expect.arrayContaining([COMPONENT_LABEL, TIER_LABEL, NAME_LABEL]));
  for (const c of STORE_COMPONENTS) expect(labels("x", c as "database", "data")[COMPONENT_LABEL]).toBe(c);
});
