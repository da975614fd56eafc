/**
 * Cross-field rules: what one field alone cannot say. Each check adds SpecProblems with their fix.
 * Pure: a stage model in, problems out.
 */
import type { StoreBudget } from "../model/connections";
import { adoptLateJobName, migrateJobName, NAMES, workerName } from "../model/names";
import type { StageModel } from "../model/stage";
import { setCommand, type SpecProblem } from "../spec/errors";
import type { Spec } from "../spec/schema";
import { checkCallGraph } from "./callGraph";

type Path = (string | number)[];
type Add = (path: Path, message: string, fix: string) => void;
/** The fix commands: set a field to a value, or remove it (given in `--path` spelling). */
interface Fix {
  readonly set: (path: Path, value: string | number) => string;
  readonly rm: (field: string) => string;
}
/** Longest label value / Job name Kubernetes accepts. */
const MAX_LABEL = 63;

export function checkRules(stack: string, model: StageModel): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const add: Add = (path, message, fix) => problems.push({ key: "spec", path, message, fix });
  const fix: Fix = {
    set: (path, value) => setCommand(stack, "spec", path, String(value)),
    rm: (field) => `pulumi config rm --path '${field}' --stack ${stack}`,
  };
  const { spec } = model;
  for (const check of [checkNames, checkDerivedNames, checkSections, checkOwnership, checkAdoption, checkRoutes, checkEdge, checkEtcd])
    check(spec, add, fix);
  checkCalls(spec, add, fix);
  checkBudget(model, add, fix);
  return problems;
}

/** Service and worker names are unique, and workers and the beat run a web service of the stage. */
function checkNames(spec: Spec, add: Add, fix: Fix): void {
  // Names: each Kubernetes object is named from these, so they must be unique.
  const firstIndex = new Map<string, number>();
  spec.services.forEach((s, i) => {
    const prior = firstIndex.get(s.name);
    if (prior !== undefined)
      add(
        ["services", i, "name"],
        `'${s.name}' is already the name of services[${prior}]: names become Kubernetes object names and must be unique`,
        fix.set(["services", i, "name"], `${s.name}-2`),
      );
    else firstIndex.set(s.name, i);
  });
  const byName = new Map(spec.services.map((s) => [s.name, s]));
  const workerNames = new Map<string, number>();
  spec.workers.forEach((w, i) => {
    const prior = workerNames.get(w.name);
    if (prior !== undefined)
      add(
        ["workers", i, "name"],
        `'${w.name}' is already the name of workers[${prior}]: each worker Deployment needs its own name`,
        fix.set(["workers", i, "name"], `${w.name}-2`),
      );
    else workerNames.set(w.name, i);
    const svc = byName.get(w.service);
    if (!svc)
      add(
        ["workers", i, "service"],
        `names '${w.service}', which is not a service of this stage: a worker runs a service's code`,
        fix.set(["workers", i, "service"], spec.services[0].name),
      );
    else if (svc.kind !== "web")
      add(
        ["workers", i, "service"],
        `names '${w.service}', an rpc service: Celery workers run a Django (web) service's code`,
        fix.set(["workers", i, "service"], spec.services.find((s) => s.kind === "web")?.name ?? "<a web service>"),
      );
  });
  if (spec.beat && !byName.has(spec.beat.service))
    add(
      ["beat", "service"],
      `names '${spec.beat.service}', which is not a service of this stage`,
      fix.set(["beat", "service"], spec.services[0].name),
    );
  else if (spec.beat && byName.get(spec.beat.service)?.kind !== "web")
    add(
      ["beat", "service"],
      `names '${spec.beat.service}', an rpc service: Celery beat runs a Django (web) service's schedule`,
      fix.set(["beat", "service"], spec.services.find((s) => s.kind === "web")?.name ?? "<a web service>"),
    );
}
/** Names derived from spec names fit Kubernetes' limits and clash with none of Stagecraft's own. */
function checkDerivedNames(spec: Spec, add: Add, fix: Fix): void {
  // Names derived from spec names (`celery-<worker>`, `<service>-migrate`) become label values and
  // Job names, which Kubernetes caps at 63 characters; fixed names (mysql, redis, …) are taken.
  const reserved = new Map<string, string>(Object.values(NAMES).map((n) => [n, "one of Stagecraft's own objects"]));
  spec.workers.forEach((w) => reserved.set(workerName(w.name), `the Deployment of worker '${w.name}'`));
  spec.services.forEach((s, i) => {
    const taken = reserved.get(s.name);
    if (taken)
      add(
        ["services", i, "name"],
        `'${s.name}' is already the name of ${taken}: Kubernetes objects and NetworkPolicies select by this name`,
        fix.set(["services", i, "name"], `${s.name}-svc`),
      );
    if (s.migrate && migrateJobName(s.name).length > MAX_LABEL)
      add(
        ["services", i, "name"],
        `is too long for its migration Job '${migrateJobName(s.name)}' (${migrateJobName(s.name).length} > ${MAX_LABEL} characters)`,
        fix.set(["services", i, "name"], s.name.slice(0, MAX_LABEL - migrateJobName("").length).replace(/-+$/, "")),
      );
    else if ((s.mysql?.adopt ?? []).length > 0 && adoptLateJobName(s.name).length > MAX_LABEL)
      add(
        ["services", i, "name"],
        `is too long for its late-rows Job '${adoptLateJobName(s.name)}' (${adoptLateJobName(s.name).length} > ${MAX_LABEL} characters)`,
        fix.set(["services", i, "name"], s.name.slice(0, MAX_LABEL - adoptLateJobName("").length).replace(/-+$/, "")),
      );
  });
  const fixed = new Set<string>(Object.values(NAMES));
  spec.workers.forEach((w, i) => {
    if (fixed.has(workerName(w.name)))
      add(
        ["workers", i, "name"],
        `'${w.name}' would name its Deployment '${workerName(w.name)}', which Stagecraft already uses`,
        fix.set(["workers", i, "name"], `${w.name}-2`),
      );
    if (workerName(w.name).length > MAX_LABEL)
      add(
        ["workers", i, "name"],
        `is too long for its Deployment '${workerName(w.name)}' (${workerName(w.name).length} > ${MAX_LABEL} characters, a label value's limit)`,
        fix.set(["workers", i, "name"], w.name.slice(0, MAX_LABEL - workerName("").length).replace(/-+$/, "")),
      );
  });
}
/** Each kind and layer of service has the sections it needs and none it cannot use. */
function checkSections(spec: Spec, add: Add, fix: Fix): void {
  // Per-kind sections.
  spec.services.forEach((s, i) => {
    if (s.kind === "web" && !s.uwsgi)
      add(
        ["services", i, "uwsgi"],
        "is required for a web service: Django runs under uWSGI master + workers",
        fix.set(["services", i, "uwsgi", "processes"], 4),
      );
    if (s.kind === "rpc" && s.uwsgi)
      add(
        ["services", i, "uwsgi"],
        "is only for web services: an rpc service runs its own gevent server",
        fix.rm(`spec.services[${i}].uwsgi`),
      );
    if (s.kind === "rpc" && !spec.data.etcd)
      add(
        ["data", "etcd"],
        `is required: services[${i}] (${s.name}) is an rpc service and registers itself in etcd`,
        fix.set(["data", "etcd", "members"], 3),
      );
    if (s.kind === "rpc" && !s.rpc)
      add(
        ["services", i, "rpc"],
        "is required for an rpc service: it carries the client policy (rate limit, retries, balancing)",
        fix.set(["services", i, "rpc", "clientPolicy", "retries"], 2),
      );
    if (s.layer === "data" && s.kind !== "rpc")
      add(
        ["services", i, "kind"],
        "must be 'rpc' for a data service: data services expose their aggregate roots over RPC",
        fix.set(["services", i, "kind"], "rpc"),
      );
    if (s.layer === "data" && s.contexts.length === 0)
      add(
        ["services", i, "contexts"],
        "must list at least one bounded context for a data service",
        fix.set(["services", i, "contexts[0].name"], "orders"),
      );
    if (s.layer === "data" && !s.mysql && !s.redis)
      add(
        ["services", i, "mysql"],
        "is required: a data service owns its data (its own schema or Redis prefix)",
        fix.set(["services", i, "mysql", "schema"], s.name.replace(/-/g, "_")),
      );
    if (s.layer === "app" && s.contexts.length > 0)
      add(
        ["services", i, "contexts"],
        "belongs to data services only: application services hold no bounded context",
        fix.set(["services", i, "layer"], "data"),
      );
    if (s.hpa && (s.replicas < s.hpa.minReplicas || s.replicas > s.hpa.maxReplicas))
      add(
        ["services", i, "replicas"],
        `must lie within the HPA's range ${s.hpa.minReplicas}..${s.hpa.maxReplicas} (got ${s.replicas})`,
        fix.set(["services", i, "replicas"], s.hpa.minReplicas),
      );
    if (s.mysql?.readFromReplicas && spec.data.mysql.readReplicas === 0)
      add(
        ["services", i, "mysql", "readFromReplicas"],
        "asks for read replicas, but spec.data.mysql.readReplicas is 0",
        fix.set(["data", "mysql", "readReplicas"], 1),
      );
    if (s.migrate && !s.mysql)
      add(
        ["services", i, "migrate"],
        "needs a database: the migration Job runs against the service's MySQL schema",
        fix.set(["services", i, "migrate"], "false"),
      );
  });
}
/** Each service owns its data: no two share a MySQL schema, user or Redis prefix. */
function checkOwnership(spec: Spec, add: Add, fix: Fix): void {
  // Each service owns its data: no two share a MySQL schema, user or Redis prefix.
  const owners = new Map<string, number>();
  spec.services.forEach((s, i) => {
    const claims: [string, Path, string][] = [];
    if (s.mysql)
      claims.push(
        [`schema ${s.mysql.schema}`, ["services", i, "mysql", "schema"], `${s.mysql.schema}_${i}`],
        [`user ${s.mysql.user}`, ["services", i, "mysql", "user"], `${s.mysql.user}_${i}`],
      );
    if (s.redis) claims.push([`prefix ${s.redis.prefix}`, ["services", i, "redis", "prefix"], `${s.name}:`]);
    for (const [claim, path, alt] of claims) {
      const prior = owners.get(claim);
      if (prior !== undefined)
        add(
          path,
          `'${claim.split(" ")[1]}' is already owned by services[${prior}] (${spec.services[prior].name}): each service owns its own data`,
          fix.set(path, alt),
        );
      else owners.set(claim, i);
    }
  });
}
/**
 * Adoption (rows taken over from an earlier stage's schema): the migration Job does the copy, a
 * schema cannot adopt from itself, and one app's tables of one schema go to one new owner only.
 */
function checkAdoption(spec: Spec, add: Add, fix: Fix): void {
  const taker = new Map<string, number>();
  spec.services.forEach((s, i) => {
    const adopt = s.mysql?.adopt ?? [];
    if (adopt.length > 0 && !s.migrate)
      add(
        ["services", i, "mysql", "adopt"],
        "needs the migration Job, which copies the adopted rows after `migrate`",
        fix.set(["services", i, "migrate"], "true"),
      );
    adopt.forEach((a, j) => {
      if (a.from === s.mysql?.schema)
        add(
          ["services", i, "mysql", "adopt", j, "from"],
          `'${a.from}' is this service's own schema: adopt names the schema that owned the rows before`,
          fix.rm(`spec.services[${i}].mysql.adopt[${j}]`),
        );
      a.apps.forEach((app, k) => {
        const key = `${a.from}.${app}`;
        const prior = taker.get(key);
        if (prior !== undefined && prior !== i)
          add(
            ["services", i, "mysql", "adopt", j, "apps", k],
            `the '${app}' tables of schema '${a.from}' are already adopted by services[${prior}] (${spec.services[prior].name}): rows move to one owner`,
            fix.rm(`spec.services[${i}].mysql.adopt[${j}].apps[${k}]`),
          );
        else taker.set(key, i);
      });
    });
  });
}
/** One owner per path at the edge. */
function checkRoutes(spec: Spec, add: Add, fix: Fix): void {
  // Routes: one owner per path at the edge.
  const routeOwner = new Map<string, string>();
  const claimRoute = (route: string, owner: string, path: Path) => {
    const prior = routeOwner.get(route);
    if (prior) add(path, `'${route}' is already routed to ${prior}: one path, one owner at the edge`, fix.set(path, `${route}-2`));
    else routeOwner.set(route, owner);
  };
  spec.services.forEach((s, i) => s.routes.forEach((r, j) => claimRoute(r, `services[${i}] (${s.name})`, ["services", i, "routes", j])));
  if (spec.push?.kind === "tormq") claimRoute(spec.push.path, "push", ["push", "path"]);
  if (spec.push?.kind === "nchan") claimRoute(spec.push.subscriberPath, "push", ["push", "subscriberPath"]);
  if (spec.shortUrl) claimRoute(spec.shortUrl.route, "shortUrl", ["shortUrl", "route"]);
}
/** Something takes the traffic; gateway, load balancer and push sizes survive a node loss. */
function checkEdge(spec: Spec, add: Add, fix: Fix): void {
  // Edge: something must take the traffic; gateway and LB sizes keep them up through a node loss.
  const { nginx, kong } = spec.edge;
  if (!nginx && !kong)
    add(["edge"], "needs nginx or kong: without an edge nothing reaches the services", fix.set(["edge", "nginx", "replicas"], 2));
  if (nginx && nginx.replicas < 2)
    add(
      ["edge", "nginx", "replicas"],
      `must be at least 2 (got ${nginx.replicas}): two load balancers keep the site up through a node loss, and their PodDisruptionBudget needs a spare`,
      fix.set(["edge", "nginx", "replicas"], 2),
    );
  if (kong && kong.replicas < 2)
    add(
      ["edge", "kong", "replicas"],
      `must be at least 2 (got ${kong.replicas}): two nodes keep the gateway up through a node loss`,
      fix.set(["edge", "kong", "replicas"], 2),
    );
  if (kong && kong.replicas > 1 && kong.rateLimit.policy === "local")
    add(
      ["edge", "kong", "rateLimit", "policy"],
      `must be 'redis' with ${kong.replicas} Kong nodes: 'local' counts per node, letting clients through ${kong.replicas}× the limit (DB-less Kong has no 'cluster' policy)`,
      fix.set(["edge", "kong", "rateLimit", "policy"], "redis"),
    );
  if (spec.push?.kind === "nchan" && !nginx)
    add(["push", "kind"], "is 'nchan', which runs inside Nginx, but spec.edge.nginx is absent", fix.set(["push", "kind"], "tormq"));
  if (spec.shortUrl && !kong && !nginx) add(["shortUrl"], "needs an edge to route to it", fix.set(["edge", "kong", "replicas"], 2));
  if (spec.push?.kind === "tormq" && spec.push.replicas < 2)
    add(
      ["push", "replicas"],
      `must be at least 2 (got ${spec.push.replicas}): ZeroMQ fan-out between replicas is the point of tormq, and one pod is a single point of failure`,
      fix.set(["push", "replicas"], 2),
    );
}
/** etcd keeps quorum through one disrupted member. */
function checkEtcd(spec: Spec, add: Add, fix: Fix): void {
  // etcd: quorum needs 3 so that one member may be disrupted.
  if (spec.data.etcd && spec.data.etcd.members < 3)
    add(
      ["data", "etcd", "members"],
      `must be at least 3 (got ${spec.data.etcd.members}): its PodDisruptionBudget keeps quorum, which needs a spare member`,
      fix.set(["data", "etcd", "members"], 3),
    );
}
/** The call graph's law (validate/callGraph.ts). */
function checkCalls(spec: Spec, add: Add, fix: Fix): void {
  for (const v of checkCallGraph(spec)) {
    add(
      ["services", v.serviceIndex, "calls", v.callIndex],
      `declares ${v.edge.from} -> ${v.edge.to}, which breaks the rule: ${v.rule}`,
      fix.rm(`spec.services[${v.serviceIndex}].calls[${v.callIndex}]`),
    );
  }
}
/** The stage's peak connections fit MySQL's and Redis's limits, with headroom. */
function checkBudget(model: StageModel, add: Add, fix: Fix): void {
  const budget = model.connections;
  const { spec } = model;
  const over = (b: StoreBudget, path: Path, what: string, knobs: string) =>
    add(
      path,
      `is ${b.limit}, but the stage can open ${b.demand} ${what} connections at peak (${b.lines.map((l) => `${l.consumer}: ${l.formula} = ${l.connections}`).join("; ")}) plus ${spec.connectionHeadroomPercent}% headroom = ${b.required}. Lower ${knobs}, or raise the limit`,
      fix.set(path, b.required),
    );
  if (!budget.mysql.fits)
    over(
      budget.mysql,
      ["data", "mysql", "maxConnections"],
      "MySQL",
      "replicas/hpa.maxReplicas, uwsgi.processes, mysql.pool, worker replicas or concurrency",
    );
  if (!budget.redis.fits)
    over(
      budget.redis,
      ["data", "redis", "maxclients"],
      "Redis",
      "replicas/hpa.maxReplicas, uwsgi.processes, redis.pool, worker replicas or concurrency",
    );
}
