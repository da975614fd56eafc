/**
 * Bad stack config, one kind per row: each row takes a valid stage file (read with readStackFile),
 * breaks one thing, and expects validateStack to throw a SpecError whose message names the stack,
 * the exact field path, what is wrong, and a `Fix:` to run. validateStack registers nothing, so
 * every one of these fails before a resource exists. The CLI is checked at the end on real files.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { fieldPath, SpecError } from "../../../spec/errors";
import type { RawStack, SecretState } from "../../../spec/config";
import { validateStack } from "../../../validate/validateStack";
import { ROOT } from "../../lib/paths";
import { readStackFile } from "../../../spec/stackFile";

const STAGES = ["mvc", "split", "micro", "ddd"] as const;
type Stage = (typeof STAGES)[number];

const stackFile = (stage: Stage) => path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`);
const valid = new Map(STAGES.map((s) => [s, readStackFile(stackFile(s)).raw]));

// ---------------------------------------------------------------------------------------------
// Editing a raw stack by the same paths the errors print (`spec.services[0].image`).

type Container = Record<string, unknown> | unknown[];
type Token = string | number;

function tokens(p: string): Token[] {
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

function isContainer(v: unknown): v is Container {
  return typeof v === "object" && v !== null;
}

interface Editor {
  get(p: string): unknown;
  set(p: string, value: unknown): void;
  del(p: string): void;
  /** How a secret key was supplied, as readStackFile reports it. */
  secret(key: string, state: SecretState | undefined): void;
}

function editor(raw: { spec: unknown; target: unknown; secrets: Record<string, SecretState> }): Editor {
  const root: Record<string, unknown> = raw as unknown as Record<string, unknown>;
  const parent = (p: string): [Container, Token] => {
    const ts = tokens(p);
    let at: unknown = root;
    for (const t of ts.slice(0, -1)) {
      if (!isContainer(at)) throw new Error(`${p}: nothing to edit at ${String(t)}`);
      at = (at as Record<Token, unknown>)[t];
    }
    if (!isContainer(at)) throw new Error(`${p}: parent is not an object or list`);
    return [at, ts[ts.length - 1]];
  };
  return {
    get: (p) => {
      const [c, last] = parent(p);
      return (c as Record<Token, unknown>)[last];
    },
    set: (p, value) => {
      const [c, last] = parent(p);
      (c as Record<Token, unknown>)[last] = value;
    },
    del: (p) => {
      const [c, last] = parent(p);
      if (Array.isArray(c) && typeof last === "number") c.splice(last, 1);
      else delete (c as Record<Token, unknown>)[last];
    },
    secret: (key, state) => {
      if (state === undefined) delete raw.secrets[key];
      else raw.secrets[key] = state;
    },
  };
}

// ---------------------------------------------------------------------------------------------

interface Case {
  /** What kind of bad input this is: unique per row. */
  readonly kind: string;
  readonly stage: Stage;
  readonly mutate: (e: Editor) => void;
  /** The exact field path the error must name. */
  readonly path: string;
  /** What the error must say about it. */
  readonly says: RegExp;
  /** The fix it must offer; by default a `pulumi config` command for this stack. */
  readonly fix?: RegExp;
}

const set =
  (p: string, value: unknown) =>
  (e: Editor): void =>
    e.set(p, value);
const del =
  (p: string) =>
  (e: Editor): void =>
    e.del(p);
const long = (n: number) => "a".repeat(n);

const CASES: readonly Case[] = [
  // Wrong types.
  {
    kind: "number given as a string",
    stage: "mvc",
    mutate: set("spec.services[0].replicas", "three"),
    path: "spec.services[0].replicas",
    says: /must be a number \(got "three"\)/,
  },
  {
    kind: "fractional count",
    stage: "mvc",
    mutate: set("spec.services[0].replicas", 2.5),
    path: "spec.services[0].replicas",
    says: /must be an integer \(got 2\.5\)/,
  },
  {
    kind: "boolean given as a string",
    stage: "mvc",
    mutate: set("spec.data.redis.appendonly", "yes"),
    path: "spec.data.redis.appendonly",
    says: /must be a boolean \(got "yes"\)/,
  },
  {
    kind: "list given as a map",
    stage: "split",
    mutate: set("spec.services[0].calls", { account: true }),
    path: "spec.services[0].calls",
    says: /must be an array/,
  },
  {
    kind: "section given as a scalar",
    stage: "mvc",
    mutate: set("spec.edge.nginx", "nginx"),
    path: "spec.edge.nginx",
    says: /must be an object \(got "nginx"\)/,
  },
  {
    kind: "unknown enum value",
    stage: "ddd",
    mutate: set("spec.callRules", "strict"),
    path: "spec.callRules",
    says: /must be one of 'open', 'layered' \(got "strict"\)/,
    fix: /set --path 'spec\.callRules' open --stack ddd$/,
  },
  {
    kind: "unknown service kind",
    stage: "mvc",
    mutate: set("spec.services[0].kind", "grpc"),
    path: "spec.services[0].kind",
    says: /must be one of 'web', 'rpc'/,
  },
  {
    kind: "number out of range",
    stage: "mvc",
    mutate: set("spec.services[0].redis.db", 16),
    path: "spec.services[0].redis.db",
    says: /must be at most 15 \(got 16\)/,
  },
  {
    kind: "privileged port",
    stage: "split",
    mutate: set("spec.services[0].port", 80),
    path: "spec.services[0].port",
    says: /must be at least 1024 \(got 80\)/,
  },
  {
    kind: "zero replicas",
    stage: "split",
    mutate: set("spec.services[1].replicas", 0),
    path: "spec.services[1].replicas",
    says: /must be at least 1 \(got 0\)/,
  },

  // Unknown keys: typos, with a did-you-mean where one is near.
  {
    kind: "typo in a top-level key",
    stage: "mvc",
    mutate: (e) => {
      e.set("spec.servcies", e.get("spec.services"));
      e.del("spec.services");
    },
    path: "spec.servcies",
    says: /is not a known field \(did you mean 'services'\?\)/,
    fix: /^pulumi config rm --path 'spec\.servcies' --stack mvc and set 'services' instead$/,
  },
  {
    kind: "typo in a nested key",
    stage: "micro",
    mutate: (e) => {
      e.set("spec.edge.kong.replcas", 2);
      e.del("spec.edge.kong.replicas");
    },
    path: "spec.edge.kong.replcas",
    says: /did you mean 'replicas'\?/,
  },
  {
    kind: "typo in a list entry",
    stage: "split",
    mutate: set("spec.services[1].imgae", "x:1"),
    path: "spec.services[1].imgae",
    says: /did you mean 'image'\?/,
    fix: /rm --path 'spec\.services\[1\]\.imgae' --stack split/,
  },
  {
    kind: "unknown key with no near match",
    stage: "mvc",
    mutate: set("spec.data.mysql.sharding", true),
    path: "spec.data.mysql.sharding",
    says: /^is not a known field; known fields here: image, resources, storage/,
  },
  {
    kind: "typo in the target",
    stage: "mvc",
    mutate: set("target.namepsace", "prod"),
    path: "target.namepsace",
    says: /did you mean 'namespace'\?/,
  },

  // Images.
  {
    kind: "missing service image",
    stage: "mvc",
    mutate: del("spec.services[0].image"),
    path: "spec.services[0].image",
    says: /^is required$/,
  },
  {
    kind: "missing data-store image",
    stage: "split",
    mutate: del("spec.data.redis.image"),
    path: "spec.data.redis.image",
    says: /^is required$/,
  },
  {
    kind: "untagged image",
    stage: "mvc",
    mutate: set("spec.services[0].image", "ghcr.io/stagecraft-demo/django-monolith"),
    path: "spec.services[0].image",
    says: /must carry a pinned tag or digest/,
  },
  {
    kind: "registry port mistaken for a tag",
    stage: "mvc",
    mutate: set("spec.data.mysql.image", "registry.local:5000/mariadb"),
    path: "spec.data.mysql.image",
    says: /must carry a pinned tag or digest/,
  },
  {
    kind: "latest tag",
    stage: "micro",
    mutate: set("spec.data.redis.image", "docker.io/library/redis:latest"),
    path: "spec.data.redis.image",
    says: /must not use the 'latest' tag/,
  },
  {
    kind: "not an image reference",
    stage: "mvc",
    mutate: set("spec.edge.nginx.image", "Nginx With Nchan"),
    path: "spec.edge.nginx.image",
    says: /is not an image reference/,
  },

  // Sizes that lose availability.
  {
    kind: "even etcd size",
    stage: "micro",
    mutate: set("spec.data.etcd.members", 4),
    path: "spec.data.etcd.members",
    says: /must be odd \(3, 5, 7\)/,
  },
  {
    kind: "etcd below 3 members",
    stage: "micro",
    mutate: set("spec.data.etcd.members", 1),
    path: "spec.data.etcd.members",
    says: /must be at least 3 \(got 1\)/,
    fix: /^pulumi config set --path 'spec\.data\.etcd\.members' 3 --stack micro$/,
  },
  {
    kind: "Kong with one node",
    stage: "micro",
    mutate: set("spec.edge.kong.replicas", 1),
    path: "spec.edge.kong.replicas",
    says: /must be at least 2 \(got 1\): two nodes/,
    fix: /^pulumi config set --path 'spec\.edge\.kong\.replicas' 2 --stack micro$/,
  },
  {
    kind: "Kong local rate limits on 2 nodes",
    stage: "ddd",
    mutate: set("spec.edge.kong.rateLimit.policy", "local"),
    path: "spec.edge.kong.rateLimit.policy",
    says: /must be 'redis' with 2 Kong nodes/,
    fix: /set --path 'spec\.edge\.kong\.rateLimit\.policy' redis --stack ddd$/,
  },
  {
    kind: "Nginx with one replica",
    stage: "split",
    mutate: set("spec.edge.nginx.replicas", 1),
    path: "spec.edge.nginx.replicas",
    says: /must be at least 2 \(got 1\)/,
  },
  {
    kind: "tormq push with one replica",
    stage: "split",
    mutate: set("spec.push.replicas", 1),
    path: "spec.push.replicas",
    says: /must be at least 2 \(got 1\)/,
  },
  { kind: "no edge at all", stage: "split", mutate: set("spec.edge", {}), path: "spec.edge", says: /needs nginx or kong/ },
  {
    kind: "replicas outside the HPA range",
    stage: "mvc",
    mutate: set("spec.services[0].replicas", 10),
    path: "spec.services[0].replicas",
    says: /must lie within the HPA's range 3\.\.6 \(got 10\)/,
    fix: /set --path 'spec\.services\[0\]\.replicas' 3 --stack mvc$/,
  },
  {
    kind: "HPA maximum below its minimum",
    stage: "mvc",
    mutate: set("spec.services[0].hpa", { minReplicas: 5, maxReplicas: 3 }),
    path: "spec.services[0].hpa.maxReplicas",
    says: /must be at least minReplicas \(got 3\)/,
  },

  // Connection budget.
  {
    kind: "MySQL connection budget does not fit",
    stage: "mvc",
    mutate: set("spec.data.mysql.maxConnections", 50),
    path: "spec.data.mysql.maxConnections",
    says: /^is 50, but the stage can open \d+ MySQL connections at peak .*services\[web\]: 6 replicas × 4 processes × pool 5 = 120/,
    fix: /^pulumi config set --path 'spec\.data\.mysql\.maxConnections' \d+ --stack mvc$/,
  },
  {
    kind: "Redis connection budget does not fit",
    stage: "micro",
    mutate: set("spec.data.redis.maxclients", 100),
    path: "spec.data.redis.maxclients",
    says: /^is 100, but the stage can open \d+ Redis connections at peak .*kong: 2 nodes × 8/,
  },

  // Call graph.
  {
    kind: "data service calls an application service",
    stage: "ddd",
    mutate: (e) => {
      e.set("spec.services[1].calls", ["content-data"]);
      e.set("spec.services[2].calls", ["feed"]);
    },
    path: "spec.services[2].calls[0]",
    says: /declares user-data -> feed, which breaks the rule: data services never depend on application services/,
    fix: /^pulumi config rm --path 'spec\.services\[2\]\.calls\[0\]' --stack ddd$/,
  },
  {
    kind: "application service calls another under layered rules",
    stage: "ddd",
    mutate: set("spec.services[0].calls", ["user-data", "content-data", "feed"]),
    path: "spec.services[0].calls[2]",
    says: /web -> feed, .*application services do not call each other/,
  },
  {
    kind: "call cycle",
    stage: "split",
    mutate: set("spec.services[1].calls", ["feed"]),
    path: "spec.services[2].calls[0]",
    says: /must not form a cycle \(account -> feed -> account\)/,
  },
  {
    kind: "call to an unknown service",
    stage: "split",
    mutate: set("spec.services[0].calls", ["account", "feed", "billing"]),
    path: "spec.services[0].calls[2]",
    says: /'billing' is not a service of this stage/,
  },
  {
    kind: "service calls itself",
    stage: "split",
    mutate: set("spec.services[1].calls", ["account"]),
    path: "spec.services[1].calls[0]",
    says: /does not call itself/,
  },
  {
    kind: "duplicate call edge",
    stage: "split",
    mutate: set("spec.services[0].calls", ["account", "account", "feed"]),
    path: "spec.services[0].calls[1]",
    says: /an edge is declared once/,
  },

  // Names.
  {
    kind: "duplicate service names",
    stage: "split",
    mutate: set("spec.services[2].name", "account"),
    path: "spec.services[2].name",
    says: /'account' is already the name of services\[1\]/,
  },
  {
    kind: "duplicate worker names",
    stage: "split",
    mutate: set("spec.workers[1].name", "default"),
    path: "spec.workers[1].name",
    says: /'default' is already the name of workers\[0\]/,
  },
  {
    kind: "service name that is not a DNS label",
    stage: "mvc",
    mutate: set("spec.services[0].name", "Web_Orders"),
    path: "spec.services[0].name",
    says: /must be a DNS label/,
  },
  {
    kind: "service name longer than 63",
    stage: "mvc",
    mutate: set("spec.services[0].name", long(64)),
    path: "spec.services[0].name",
    says: /must be a DNS label/,
  },
  {
    kind: "worker name too long once prefixed",
    stage: "mvc",
    mutate: set("spec.workers[0].name", long(60)),
    path: "spec.workers[0].name",
    says: /is too long for its Deployment 'celery-a+' \(67 > 63/,
    fix: /set --path 'spec\.workers\[0\]\.name' a{56} --stack mvc$/,
  },
  {
    kind: "adopting service's name too long for its late-rows Job (fine for its migration Job)",
    stage: "split",
    mutate: set("spec.services[1].name", long(54)),
    path: "spec.services[1].name",
    says: /is too long for its late-rows Job 'a{54}-adopt-late' \(65 > 63/,
    fix: /set --path 'spec\.services\[1\]\.name' a{52} --stack split$/,
  },
  {
    kind: "service name too long for its migration Job",
    stage: "mvc",
    mutate: set("spec.services[0].name", long(60)),
    path: "spec.services[0].name",
    says: /too long for its migration Job/,
  },
  {
    kind: "service takes a fixed Stagecraft name",
    stage: "split",
    mutate: set("spec.services[1].name", "redis"),
    path: "spec.services[1].name",
    says: /'redis' is already the name of one of Stagecraft's own objects/,
  },
  {
    kind: "worker takes the beat's name",
    stage: "mvc",
    mutate: set("spec.workers[0].name", "beat"),
    path: "spec.workers[0].name",
    says: /would name its Deployment 'celery-beat'/,
  },
  {
    kind: "bounded context name not a DNS label",
    stage: "ddd",
    mutate: set("spec.services[2].contexts[0].name", "Account"),
    path: "spec.services[2].contexts[0].name",
    says: /must be a DNS label/,
  },
  {
    kind: "aggregate root not a type name",
    stage: "ddd",
    mutate: set("spec.services[2].contexts[0].aggregateRoot", "account"),
    path: "spec.services[2].contexts[0].aggregateRoot",
    says: /must be a type name/,
  },

  // Each service owns its data.
  {
    kind: "shared MySQL schema",
    stage: "split",
    mutate: set("spec.services[1].mysql.schema", "app"),
    path: "spec.services[1].mysql.schema",
    says: /'app' is already owned by services\[0\] \(web\)/,
  },
  {
    kind: "shared MySQL user",
    stage: "split",
    mutate: set("spec.services[2].mysql.user", "account"),
    path: "spec.services[2].mysql.user",
    says: /'account' is already owned by services\[1\] \(account\)/,
  },
  {
    kind: "shared Redis prefix",
    stage: "ddd",
    mutate: set("spec.services[3].redis.prefix", "account:"),
    path: "spec.services[3].redis.prefix",
    says: /'account:' is already owned by services\[2\] \(user-data\)/,
  },
  {
    kind: "service reads replicas that do not exist",
    stage: "mvc",
    mutate: set("spec.services[0].mysql.readFromReplicas", true),
    path: "spec.services[0].mysql.readFromReplicas",
    says: /spec\.data\.mysql\.readReplicas is 0/,
  },
  {
    kind: "adoption without the migration Job",
    stage: "split",
    mutate: set("spec.services[1].migrate", false),
    path: "spec.services[1].mysql.adopt",
    says: /needs the migration Job/,
    fix: /^pulumi config set --path 'spec.services\[1\].migrate' true --stack split$/,
  },
  {
    kind: "adoption from the service's own schema",
    stage: "split",
    mutate: set("spec.services[1].mysql.adopt[0].from", "account"),
    path: "spec.services[1].mysql.adopt[0].from",
    says: /'account' is this service's own schema/,
  },
  {
    kind: "one app's rows adopted by two owners",
    stage: "split",
    mutate: set("spec.services[2].mysql.adopt[0].apps[0]", "accounts"),
    path: "spec.services[2].mysql.adopt[0].apps[0]",
    says: /the 'accounts' tables of schema 'app' are already adopted by services\[1\] \(account\)/,
  },
  {
    kind: "adopted schema that is not a MySQL identifier",
    stage: "micro",
    mutate: set("spec.services[1].mysql.adopt[0].from", "App-1"),
    path: "spec.services[1].mysql.adopt[0].from",
    says: /must be a MySQL identifier/,
  },
  {
    kind: "migration without a database",
    stage: "ddd",
    mutate: set("spec.services[0].migrate", true),
    path: "spec.services[0].migrate",
    says: /needs a database/,
  },

  // Secrets.
  {
    kind: "plaintext secret seed",
    stage: "mvc",
    mutate: (e) => e.secret("secretSeed", "plaintext"),
    path: "stagecraft:secretSeed",
    says: /is stored in plaintext, but it is a secret/,
    fix: /^pulumi config set --secret stagecraft:secretSeed <value> --stack mvc$/,
  },
  {
    kind: "missing secret seed",
    stage: "split",
    mutate: (e) => e.secret("secretSeed", undefined),
    path: "stagecraft:secretSeed",
    says: /^is required \(a secret\)$/,
    fix: /^pulumi config set --secret stagecraft:secretSeed .* --stack split$/,
  },
  {
    kind: "plaintext Kong consumer credential",
    stage: "micro",
    mutate: (e) => e.secret("kongMobileAppKey", "plaintext"),
    path: "stagecraft:kongMobileAppKey",
    says: /plaintext/,
  },
  {
    kind: "missing Kong consumer credential",
    stage: "ddd",
    mutate: (e) => e.secret("kongMobileAppKey", undefined),
    path: "stagecraft:kongMobileAppKey",
    says: /^is required \(a secret\)$/,
  },

  // Target.
  {
    kind: "unknown target kind",
    stage: "mvc",
    mutate: set("target.kind", "gke"),
    path: "target.kind",
    says: /must be one of 'render', 'kubeconfig', 'eks' \(got "gke"\)/,
    fix: /^pulumi config set --path 'target\.kind' render --stack mvc$/,
  },
  {
    kind: "namespace not a DNS label",
    stage: "split",
    mutate: set("target.namespace", "Stage_Craft"),
    path: "target.namespace",
    says: /must be a DNS label/,
  },
  {
    kind: "EKS in one availability zone",
    stage: "micro",
    mutate: set("target", {
      kind: "eks",
      region: "eu-west-1",
      kubernetesVersion: "1.33",
      availabilityZones: 1,
      nodeGroups: [{ name: "general", instanceType: "m6i.large", minSize: 2, desiredSize: 2, maxSize: 4 }],
    }),
    path: "target.availabilityZones",
    says: /must be at least 2 \(got 1\)/,
  },

  // Resource quantities.
  {
    kind: "bad CPU quantity",
    stage: "mvc",
    mutate: set("spec.services[0].resources.cpu", "half"),
    path: "spec.services[0].resources.cpu",
    says: /must be a CPU quantity/,
  },
  {
    kind: "bad memory quantity",
    stage: "split",
    mutate: set("spec.workers[0].resources.memory", "512MB"),
    path: "spec.workers[0].resources.memory",
    says: /must be a memory quantity/,
  },
  {
    kind: "bad storage size",
    stage: "mvc",
    mutate: set("spec.data.mysql.storage", "50GB"),
    path: "spec.data.mysql.storage",
    says: /must be a storage size/,
  },
  {
    kind: "missing resources",
    stage: "micro",
    mutate: del("spec.shortUrl.resources"),
    path: "spec.shortUrl.resources",
    says: /^is required$/,
  },

  // Workers and beat.
  {
    kind: "worker on an unknown service",
    stage: "split",
    mutate: set("spec.workers[1].service", "billing"),
    path: "spec.workers[1].service",
    says: /names 'billing', which is not a service of this stage/,
  },
  {
    kind: "worker on an rpc service",
    stage: "micro",
    mutate: set("spec.workers[0].service", "account"),
    path: "spec.workers[0].service",
    says: /names 'account', an rpc service/,
    fix: /set --path 'spec\.workers\[0\]\.service' web --stack micro$/,
  },
  {
    kind: "beat on an unknown service",
    stage: "mvc",
    mutate: set("spec.beat.service", "cron"),
    path: "spec.beat.service",
    says: /names 'cron', which is not a service/,
  },
  {
    kind: "beat on an rpc service",
    stage: "micro",
    mutate: set("spec.beat.service", "feed"),
    path: "spec.beat.service",
    says: /names 'feed', an rpc service: Celery beat/,
  },

  // Kinds and layers.
  {
    kind: "rpc service without etcd",
    stage: "micro",
    mutate: del("spec.data.etcd"),
    path: "spec.data.etcd",
    says: /is required: services\[1\] \(account\) is an rpc service/,
  },
  {
    kind: "web service without uwsgi",
    stage: "mvc",
    mutate: del("spec.services[0].uwsgi"),
    path: "spec.services[0].uwsgi",
    says: /is required for a web service/,
  },
  {
    kind: "rpc service without client policy",
    stage: "micro",
    mutate: del("spec.services[1].rpc"),
    path: "spec.services[1].rpc",
    says: /is required for an rpc service/,
  },
  {
    kind: "rpc service with uwsgi",
    stage: "micro",
    mutate: set("spec.services[1].uwsgi", { processes: 2 }),
    path: "spec.services[1].uwsgi",
    says: /is only for web services/,
    fix: /^pulumi config rm --path 'spec\.services\[1\]\.uwsgi' --stack micro$/,
  },
  {
    kind: "data service without contexts",
    stage: "ddd",
    mutate: set("spec.services[2].contexts", []),
    path: "spec.services[2].contexts",
    says: /must list at least one bounded context/,
  },
  {
    kind: "data service that is not rpc",
    stage: "ddd",
    mutate: set("spec.services[3].kind", "web"),
    path: "spec.services[3].kind",
    says: /must be 'rpc' for a data service/,
  },
  {
    kind: "data service that owns no data",
    stage: "ddd",
    mutate: (e) => {
      e.del("spec.services[2].mysql");
      e.del("spec.services[2].redis");
      e.set("spec.services[2].migrate", false);
    },
    path: "spec.services[2].mysql",
    says: /a data service owns its data/,
  },
  {
    kind: "application service holding a bounded context",
    stage: "ddd",
    mutate: set("spec.services[1].contexts", [{ name: "timeline", aggregateRoot: "Timeline" }]),
    path: "spec.services[1].contexts",
    says: /belongs to data services only/,
  },

  // Routes and the edge.
  {
    kind: "duplicate route",
    stage: "split",
    mutate: set("spec.services[1].routes", ["/"]),
    path: "spec.services[1].routes[0]",
    says: /'\/' is already routed to services\[0\] \(web\)/,
  },
  {
    kind: "push path taken by a service",
    stage: "split",
    mutate: set("spec.push.path", "/feed"),
    path: "spec.push.path",
    says: /'\/feed' is already routed to services\[2\] \(feed\)/,
  },
  {
    kind: "route that is not a path",
    stage: "mvc",
    mutate: set("spec.services[0].routes", ["api"]),
    path: "spec.services[0].routes[0]",
    says: /must be a URL path starting with '\/'/,
  },
  {
    kind: "nchan without nginx",
    stage: "mvc",
    mutate: (e) => {
      const kong = structuredClone(valid.get("micro")?.spec as { edge: { kong: Record<string, unknown> } }).edge.kong;
      kong.consumers = [];
      e.set("spec.edge", { kong });
    },
    path: "spec.push.kind",
    says: /is 'nchan', which runs inside Nginx, but spec\.edge\.nginx is absent/,
  },
  {
    kind: "unknown push kind",
    stage: "mvc",
    mutate: set("spec.push.kind", "websocket"),
    path: "spec.push.kind",
    says: /must be one of 'nchan', 'tormq' \(got "websocket"\)/,
  },

  // Whole sections.
  {
    kind: "no services",
    stage: "mvc",
    mutate: set("spec.services", []),
    path: "spec.services",
    says: /must have at least 1 entries/,
    fix: /^add entries under 'spec\.services' in stacks\/Pulumi\.mvc\.yaml$/,
  },
  {
    kind: "no spec at all",
    stage: "split",
    mutate: del("spec"),
    path: "spec",
    says: /is missing: the stack holds no stage/,
    fix: /--stack split/,
  },
];

/** The SpecError validateStack throws for a raw stack, or a failure if it throws nothing or something else. */
function specError(stack: string, raw: RawStack): SpecError {
  try {
    validateStack(stack, raw);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw new Error(`expected a SpecError, got ${String(e)}`);
  }
  throw new Error(`stack ${stack}: expected a SpecError, but the stack validated`);
}

describe("bad input", () => {
  it("covers at least 40 distinct kinds", () => {
    expect(new Set(CASES.map((c) => c.kind)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(STAGES)("starts from a valid %s stack", (stage) => {
    const raw = valid.get(stage);
    if (!raw) throw new Error(`no ${stage}`);
    expect(() => validateStack(stage, raw)).not.toThrow();
  });

  it.each(CASES.map((c) => [c.kind, c] as const))("%s", (_kind, c) => {
    const base = valid.get(c.stage);
    if (!base) throw new Error(`no ${c.stage}`);
    const raw = structuredClone(base) as { spec: unknown; target: unknown; secrets: Record<string, SecretState> };
    c.mutate(editor(raw));
    const err = specError(c.stage, raw);

    expect(err.stack).toBe(c.stage);
    // The problem sits at exactly the path, and says what the row expects.
    const atPath = err.problems.filter((p) => fieldPath(p.key, p.path) === c.path);
    const problem = atPath.find((p) => c.says.test(p.message));
    expect({ path: c.path, messages: atPath.map((p) => p.message), all: err.message }).toEqual(
      expect.objectContaining({ messages: expect.arrayContaining([expect.stringMatching(c.says)]) }),
    );
    if (!problem) throw new Error("unreachable: matched above");
    expect(problem.fix).toMatch(c.fix ?? new RegExp(`^pulumi config (set|rm) .*--stack ${c.stage}( |$)`));

    // The printed message: stack, exact path, what is wrong, and the fix, on a line of its own.
    expect(err.message.split("\n")).toContain(`stack ${c.stage}: ${c.path} ${problem.message}. Fix: ${problem.fix}`);
  });
});

describe("the validate CLI", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-badinput-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A stack file: a copy of a stage file with edits applied to its YAML. */
  const write = (stage: Stage, name: string, edit: (doc: ReturnType<typeof parseDocument>) => void): string => {
    const doc = parseDocument(fs.readFileSync(stackFile(stage), "utf8"));
    edit(doc);
    const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
    const file = path.join(dir, `Pulumi.${name}.yaml`);
    fs.writeFileSync(file, doc.toString());
    return file;
  };
  const run = (...files: string[]) => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "cli/bin.js"), "validate", ...files], { cwd: ROOT, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("exits 0 on a good file", () => {
    const r = run(write("micro", "good", () => undefined));
    expect(r).toEqual(expect.objectContaining({ status: 0, stderr: "" }));
    expect(r.stdout).toMatch(/^stack good: ok \(3 services, 1 workers\)/);
  }, 60_000);

  it("exits 1 and prints stack, path and fix for a bad file", () => {
    const file = write("micro", "prod", (doc) => doc.setIn(["config", "stagecraft:spec", "edge", "kong", "replicas"], 1));
    const r = run(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "stack prod: spec.edge.kong.replicas must be at least 2 (got 1): two nodes keep the gateway up through a node loss. " +
        "Fix: pulumi config set --path 'spec.edge.kong.replicas' 2 --stack prod",
    );
  }, 60_000);

  it("exits 1 on a plaintext secret in the file, and still reports the good file next to it", () => {
    const bad = write("mvc", "staging", (doc) => doc.setIn(["config", "stagecraft:secretSeed"], "hunter2"));
    const good = write("split", "split", () => undefined);
    const r = run(bad, good);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("stack staging: stagecraft:secretSeed is stored in plaintext");
    expect(r.stderr).toContain("Fix: pulumi config set --secret stagecraft:secretSeed <value> --stack staging");
    expect(r.stdout).toContain("stack split: ok");
  }, 60_000);

  it("exits 1 on a file that is not YAML", () => {
    const file = path.join(fs.mkdtempSync(path.join(tmp, "broken-")), "Pulumi.broken.yaml");
    fs.writeFileSync(file, "config: [unclosed\n");
    const r = run(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/stack broken: .* is not valid YAML/);
  }, 60_000);
});
