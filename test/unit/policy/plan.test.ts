import { dataLosses, RULE, type StateFile } from "../../../policy/plan";

const DATA = { "app.kubernetes.io/name": "mysql", "app.kubernetes.io/component": "database", "stagecraft.dev/tier": "data" };
const urn = (type: string, name: string) => `urn:pulumi:prod::stagecraft::stagecraft:stage:Stage$${type}::${name}`;
const mysql = urn("kubernetes:apps/v1:StatefulSet", "mysql-statefulset");
const secret = urn("kubernetes:core/v1:Secret", "mysql-user-feed");
const web = urn("kubernetes:apps/v1:Deployment", "web");

const state = (retain: boolean): StateFile => ({
  deployment: {
    resources: [
      {
        urn: mysql,
        type: "kubernetes:apps/v1:StatefulSet",
        inputs: { metadata: { name: "mysql", namespace: "stagecraft", labels: DATA }, spec: { template: { metadata: { labels: DATA } } } },
        retainOnDelete: true,
      },
      {
        urn: secret,
        type: "kubernetes:core/v1:Secret",
        inputs: { metadata: { name: "mysql-user-feed", namespace: "stagecraft", labels: DATA } },
        retainOnDelete: retain,
      },
      { urn: web, type: "kubernetes:apps/v1:Deployment", inputs: { metadata: { name: "web", namespace: "stagecraft" } } },
    ],
  },
});

describe("data-no-replace-or-unretained-delete (plan check)", () => {
  test("a plan that updates data objects and replaces or deletes others passes", () => {
    const plan = {
      resourcePlans: {
        [mysql]: { steps: ["update"] },
        [secret]: { steps: ["same"] },
        [web]: { steps: ["create-replacement", "replace", "delete-replaced"] },
      },
    };
    expect(dataLosses(plan, state(false))).toEqual([]);
  });

  test("replacing a data StatefulSet fails, naming the rule, the object and the fix", () => {
    const plan = { resourcePlans: { [mysql]: { steps: ["create-replacement", "replace", "delete-replaced"] } } };
    expect(dataLosses(plan, state(true))).toEqual([
      `${RULE}: StatefulSet stagecraft/mysql holds data and this preview replaces it (${mysql}). Fix: keep its immutable fields as they are (a StatefulSet's selector, serviceName, volumeClaimTemplates, podManagementPolicy; a claim's spec), or move the data first`,
    ]);
  });

  test("deleting a data Secret fails unless it is retained", () => {
    const plan = { resourcePlans: { [secret]: { steps: ["delete"] } } };
    expect(dataLosses(plan, state(false))).toEqual([
      `${RULE}: Secret stagecraft/mysql-user-feed holds data and this preview deletes it (${secret}). Fix: keep it in the program, or register it with retainOnDelete: true so it stays in the cluster`,
    ]);
    expect(dataLosses(plan, state(true))).toEqual([]);
  });

  const ns = urn("kubernetes:core/v1:Namespace", "namespace");
  const pvc = urn("kubernetes:core/v1:PersistentVolumeClaim", "data-mysql-0");
  const withMore: StateFile = {
    deployment: {
      resources: [
        ...(state(true).deployment?.resources ?? []),
        { urn: ns, type: "kubernetes:core/v1:Namespace", inputs: { metadata: { name: "stagecraft" } } },
        {
          urn: pvc,
          type: "kubernetes:core/v1:PersistentVolumeClaim",
          inputs: { metadata: { name: "data-mysql-0", namespace: "stagecraft" } },
        },
      ],
    },
  };

  test("the Namespace may be updated, never replaced or deleted: everything in it would go", () => {
    expect(dataLosses({ resourcePlans: { [ns]: { steps: ["update"] } } }, withMore)).toEqual([]);
    expect(dataLosses({ resourcePlans: { [ns]: { steps: ["replace"] } } }, withMore)).toEqual([
      expect.stringMatching(new RegExp(`^${RULE}: Namespace stagecraft holds every object of the stage and this preview replaces it`)),
    ]);
    expect(dataLosses({ resourcePlans: { [ns]: { steps: ["delete"] } } }, withMore)).toEqual([
      expect.stringMatching(/Namespace stagecraft holds every object of the stage and this preview deletes it/),
    ]);
  });

  test("a claim is data whatever its labels; a retained store's delete (a stage that drops it) passes", () => {
    expect(dataLosses({ resourcePlans: { [pvc]: { steps: ["delete"] } } }, withMore)).toEqual([
      expect.stringMatching(/PersistentVolumeClaim stagecraft\/data-mysql-0 holds data and this preview deletes it/),
    ]);
    expect(dataLosses({ resourcePlans: { [mysql]: { steps: ["delete"] } } }, withMore)).toEqual([]);
  });

  test("a plan that names none of the stack's objects (another stack's, or not a plan) is refused, not passed", () => {
    expect(dataLosses({}, state(true))).toEqual([
      expect.stringMatching(new RegExp(`^${RULE}: the plan names none of the stack's 3 resources`)),
    ]);
    expect(dataLosses({ resourcePlans: { [urn("x:y:Z", "other")]: { steps: ["same"] } } }, state(true))).toHaveLength(1);
  });

  test("a first preview (empty state) has nothing to lose", () => {
    expect(dataLosses({ resourcePlans: { [mysql]: { steps: ["create"] } } }, {})).toEqual([]);
  });
});
