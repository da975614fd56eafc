import { migrationStepList, stepContainers } from "../../../../components/app/migrationSteps";
import type { ServiceSpec } from "../../../../spec/schema";
import { stageModelOf } from "../../../lib/stacks";

const service = (stage: string, name: string): ServiceSpec => {
  const s = stageModelOf(stage).spec.services.find((x) => x.name === name);
  if (!s) throw new Error(`${stage} has no service ${name}`);
  return s;
};

describe("migration steps", () => {
  test("a service that adopts nothing migrates in the Job's one container (no init container)", () => {
    const web = service("mvc", "web");
    expect(migrationStepList(web).map((s) => s.name)).toEqual(["migrate"]);
    expect(stepContainers(migrationStepList(web), (s) => s.command.join(" "))).toEqual({
      containers: ["python manage.py migrate --noinput"],
    });
  });

  test("an adopting owner migrates first (init container), then adopts (the Job's container)", () => {
    for (const [stage, name] of [
      ["split", "account"],
      ["split", "feed"],
      ["ddd", "content-data"],
    ] as const)
      expect(stepContainers(migrationStepList(service(stage, name)), (s) => s.command.join(" "))).toEqual({
        initContainers: ["python manage.py migrate --noinput"],
        containers: ["python manage.py adopt"],
      });
  });
});
