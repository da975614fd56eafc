import {
  hostNamespaces,
  imagePinned,
  imageProblem,
  looksSecret,
  probes,
  resources,
  secretEnv,
  securityContext,
  WORKLOAD_RULES,
} from "../../../../policy/rules/workload";
import { deployment, goodContainer, resource } from "../resources";

const good = deployment("web", [goodContainer()]);

describe("workload baseline rules", () => {
  test("a workload built like Stagecraft's passes every workload rule", () => {
    expect(WORKLOAD_RULES.flatMap((r) => r.check(good))).toEqual([]);
  });

  test("non-workloads are not judged", () => {
    const cm = resource("ConfigMap", { metadata: { name: "web-config" }, data: { a: "b" } });
    expect(WORKLOAD_RULES.flatMap((r) => r.check(cm))).toEqual([]);
  });

  test("workload-security-context: a root, writable, capable container fails, naming the resource and each fix", () => {
    const bad = deployment("web", [goodContainer({ securityContext: { runAsUser: 0, capabilities: { add: ["NET_ADMIN"] } } })]);
    const msgs = securityContext.check(bad);
    expect(msgs).toEqual([
      "Deployment stagecraft/web container web does not run as non-root. Fix: set securityContext.runAsNonRoot: true",
      "Deployment stagecraft/web container web runs as uid 0. Fix: set securityContext.runAsUser to the image's non-root uid",
      "Deployment stagecraft/web container web has a writable root filesystem. Fix: set securityContext.readOnlyRootFilesystem: true (mount an emptyDir where it must write)",
      "Deployment stagecraft/web container web may escalate privileges. Fix: set securityContext.allowPrivilegeEscalation: false",
      "Deployment stagecraft/web container web keeps Linux capabilities. Fix: set securityContext.capabilities.drop: [ALL]",
      "Deployment stagecraft/web container web adds capabilities NET_ADMIN. Fix: remove securityContext.capabilities.add",
      "Deployment stagecraft/web container web has seccomp profile unset. Fix: set securityContext.seccompProfile.type: RuntimeDefault",
    ]);
    expect(securityContext.level).toBe("mandatory");
  });

  test("workload-security-context: pod-level runAsNonRoot and seccomp count for every container", () => {
    const sc = { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
    const w = deployment("web", [goodContainer({ securityContext: sc })]);
    const spec = (w.props.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(securityContext.check(w)).toHaveLength(2);
    spec.securityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
    expect(securityContext.check(w)).toEqual([]);
  });

  test("workload-security-context: init containers and CronJobs are judged too", () => {
    const cron = resource("CronJob", {
      metadata: { name: "report", namespace: "stagecraft" },
      spec: {
        jobTemplate: {
          spec: {
            template: {
              spec: { initContainers: [goodContainer({ name: "prep", securityContext: undefined })], containers: [goodContainer()] },
            },
          },
        },
      },
    });
    expect(securityContext.check(cron).every((m) => m.startsWith("CronJob stagecraft/report initContainer prep "))).toBe(true);
    expect(securityContext.check(cron)).toHaveLength(5);
  });

  test("workload-host-namespaces", () => {
    const bad = deployment("web", [goodContainer()]);
    (bad.props.spec as { template: { spec: Record<string, unknown> } }).template.spec.hostNetwork = true;
    expect(hostNamespaces.check(bad)).toEqual(["Deployment stagecraft/web sets hostNetwork. Fix: remove spec.hostNetwork"]);
    expect(hostNamespaces.check(good)).toEqual([]);
  });

  test("workload-resources: every request and limit", () => {
    const bad = deployment("web", [goodContainer({ resources: { requests: { cpu: "1" } } })]);
    expect(resources.check(bad)).toEqual([
      "Deployment stagecraft/web container web has no requests for memory, ephemeral-storage. Fix: set resources.requests.{memory,ephemeral-storage}",
      "Deployment stagecraft/web container web has no limits for cpu, memory, ephemeral-storage. Fix: set resources.limits.{cpu,memory,ephemeral-storage}",
    ]);
  });

  test("workload-image-pinned", () => {
    expect(imageProblem("redis")).toMatch(/without a tag/);
    expect(imageProblem("redis:latest")).toMatch(/replace 'latest'/);
    expect(imageProblem("registry.local:5000/redis")).toMatch(/without a tag/);
    expect(imageProblem(`redis@sha256:${"a".repeat(64)}`)).toBeUndefined();
    expect(imageProblem("docker.io/library/redis:7.2.6")).toBeUndefined();
    expect(imagePinned.check(deployment("web", [goodContainer({ image: "nginx:latest" })]))).toEqual([
      "Deployment stagecraft/web container web uses image 'nginx:latest'. Fix: replace 'latest' with a pinned version",
    ]);
    expect(imagePinned.check(good)).toEqual([]);
  });

  test("workload-secret-env: literal secrets and URLs with credentials; secretKeyRef passes", () => {
    expect(looksSecret("DB_PASSWORD")).toBe(true);
    expect(looksSecret("API_KEY")).toBe(true);
    expect(looksSecret("PASSWORD_FILE")).toBe(false);
    expect(looksSecret("KEYSPACE")).toBe(false);
    const bad = deployment("web", [
      goodContainer({
        env: [
          { name: "DB_PASSWORD", value: "hunter2" },
          { name: "CACHE", value: "redis://:pw@redis:6379/0" },
          { name: "DEBUG", value: "0" },
        ],
      }),
    ]);
    expect(secretEnv.check(bad)).toEqual([
      "Deployment stagecraft/web container web sets DB_PASSWORD as a literal value. Fix: take it from a Secret (env[DB_PASSWORD].valueFrom.secretKeyRef)",
      "Deployment stagecraft/web container web sets CACHE to a URL with credentials in it. Fix: take it from a Secret (env[CACHE].valueFrom.secretKeyRef)",
    ]);
    const ok = deployment("web", [
      goodContainer({ env: [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "mysql-user-app", key: "password" } } }] }),
    ]);
    expect(secretEnv.check(ok)).toEqual([]);
  });

  test("workload-probes: missing, identical, and on an undeclared port; Jobs need none", () => {
    const none = deployment("web", [goodContainer({ readinessProbe: undefined, livenessProbe: undefined })]);
    expect(probes.check(none)).toEqual([
      "Deployment stagecraft/web container web has no readinessProbe. Fix: add one that answers 'can I take traffic?'",
      "Deployment stagecraft/web container web has no livenessProbe. Fix: add one that answers 'am I wedged?'",
    ]);
    const same = { tcpSocket: { port: 9999 } };
    expect(probes.check(deployment("web", [goodContainer({ readinessProbe: same, livenessProbe: { ...same } })]))).toEqual([
      "Deployment stagecraft/web container web has identical readiness and liveness probes. Fix: make liveness slower and more tolerant, so a slow dependency never gets a healthy process killed",
      "Deployment stagecraft/web container web readinessProbe points at port 9999, which it does not declare. Fix: add it to ports",
      "Deployment stagecraft/web container web livenessProbe points at port 9999, which it does not declare. Fix: add it to ports",
    ]);
    const job = resource("Job", {
      metadata: { name: "web-migrate", namespace: "stagecraft" },
      spec: { template: { spec: { containers: [goodContainer({ readinessProbe: undefined, livenessProbe: undefined })] } } },
    });
    expect(probes.check(job)).toEqual([]);
    expect(probes.check(good)).toEqual([]);
  });
});
