/**
 * A whole stage: platform -> data -> app -> edge, each tier from its part of the spec. Which parts
 * exist is data (an optional spec section), never a test of the stage's name.
 *
 * Names are fixed or derived from the spec (`mysql`, `redis`, a service's name), and every child
 * sits directly under this component, so whatever survives a stage move keeps its URN and is
 * updated in place.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StageModel } from "../../model/stage";
import { appSettings, ENV } from "../app/appSettings";
import { AdoptionCatchUp } from "../app/AdoptionCatchUp";
import { AppService } from "../app/AppService";
import { CeleryBeat } from "../app/CeleryBeat";
import { CeleryWorker } from "../app/CeleryWorker";
import { PushService } from "../app/PushService";
import { rpcConfigJson } from "../app/rpcConfig";
import { ShortUrl } from "../app/ShortUrl";
import { EtcdCluster } from "../data/EtcdCluster";
import { MySqlCluster } from "../data/MySqlCluster";
import { RedisCache } from "../data/RedisCache";
import { KongGateway } from "../edge/KongGateway";
import { NginxLoadBalancer } from "../edge/NginxLoadBalancer";
import { NAMES, PORTS, serviceHost } from "../../model/names";
import { DEFAULT_PREFIX_ROOT } from "../../model/registry";
import { derivedSecret } from "../lib/secrets";
import { CallGraphPolicies } from "../platform/CallGraphPolicies";
import { Namespace } from "../platform/Namespace";
import type { ServiceSpec } from "../../spec/schema";

export interface StageArgs {
  /** What the stage runs, derived once from the validated spec (model/stage.ts). */
  readonly model: StageModel;
  readonly namespace: string;
  /** The stack's secret seed: every password is derived from it. */
  readonly secretSeed: pulumi.Output<string>;
  /** Kong consumer credentials, by their config key (Pulumi secrets). */
  readonly credentials: Readonly<Record<string, pulumi.Output<string>>>;
  /** Annotations for LoadBalancer Services (AWS NLB on EKS, none locally). */
  readonly loadBalancerAnnotations: Record<string, string>;
  /** Where data-tier pods go (EKS data nodes), if anywhere in particular. */
  readonly dataPlacement?: Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations">;
  /** Where Kong's pods go, if the target says (`stagecraft:target.placement.kong`). */
  readonly kongPlacement?: Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations">;
}

/** The app tier's components, those behind a Service (what the edge routes to), and its services by name. */
interface AppTier {
  readonly all: pulumi.Resource[];
  readonly served: pulumi.Resource[];
  readonly services: ReadonlyMap<string, AppService>;
}

/** The data tier's components, which the app and edge tiers wait for. */
interface DataTier {
  readonly redis: RedisCache;
  readonly mysql: MySqlCluster;
  readonly etcd?: EtcdCluster;
}

export class Stage extends pulumi.ComponentResource {
  readonly stage: string;
  readonly namespace: string;
  /** Public entry points: the LoadBalancer Services. */
  readonly entryPoints: string[];
  /** Peak connections over the limit, per store, for dashboards and red flags. */
  readonly connectionUse: { mysql: string; redis: string };

  constructor(name: string, args: StageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:stage:Stage", name, {}, opts);
    const { model } = args;
    const namespace = new Namespace("namespace", { name: args.namespace, callRules: model.spec.callRules }, { parent: this });
    new CallGraphPolicies("network-policies", { flows: model.flows, namespace: args.namespace }, this.after(namespace));
    const data = this.dataTier(args, namespace);
    const app = this.appTier(args, namespace, data);
    this.entryPoints = this.edgeTier(args, namespace, data.redis, app.served);
    // Rows an old owner wrote while its callers were moving: copied once they all have moved.
    for (const s of model.spec.services.filter((x) => x.migrate && (x.mysql?.adopt ?? []).length > 0))
      new AdoptionCatchUp(
        `${s.name}-adopt-late`,
        { service: s, namespace: args.namespace, env: (app.services.get(s.name) as AppService).env },
        this.after(...app.all),
      );

    const { mysql, redis } = model.connections;
    this.stage = model.spec.stage;
    this.namespace = args.namespace;
    this.connectionUse = { mysql: `${mysql.required}/${mysql.limit}`, redis: `${redis.required}/${redis.limit}` };
    this.registerOutputs({
      stage: this.stage,
      namespace: this.namespace,
      entryPoints: this.entryPoints,
      connectionUse: this.connectionUse,
    });
  }

  /** Options for a direct child that waits for `deps`. */
  private after(...deps: pulumi.Resource[]): pulumi.ComponentResourceOptions {
    return { parent: this, dependsOn: deps };
  }

  private secret(args: StageArgs, purpose: string): pulumi.Output<string> {
    return derivedSecret(args.secretSeed, purpose);
  }

  private dataTier(args: StageArgs, namespace: Namespace): DataTier {
    const { spec } = args.model;
    const ns = args.namespace;
    const placement = args.dataPlacement;
    const redis = new RedisCache(
      "redis",
      { redis: spec.data.redis, namespace: ns, password: this.secret(args, "redis/password"), placement },
      this.after(namespace),
    );
    const mysql = new MySqlCluster(
      "mysql",
      {
        mysql: spec.data.mysql,
        namespace: ns,
        services: spec.services,
        rootPassword: this.secret(args, "mysql/root"),
        replicationPassword: this.secret(args, "mysql/replication"),
        userPassword: (u) => this.secret(args, `mysql/user/${u}`),
        placement,
      },
      this.after(namespace),
    );
    const etcd =
      spec.data.etcd &&
      new EtcdCluster(
        "etcd",
        {
          etcd: spec.data.etcd,
          namespace: ns,
          services: spec.services,
          rootPassword: this.secret(args, "etcd/root"),
          userPasswords: (u) => this.secret(args, `etcd/user/${u}`),
          placement,
        },
        this.after(namespace),
      );
    return { redis, mysql, etcd };
  }

  /** The app tier; returns its components, those the edge routes to, and its services by name. */
  private appTier(args: StageArgs, namespace: Namespace, data: DataTier): AppTier {
    const { model } = args;
    const { spec } = model;
    const ns = args.namespace;
    const { redis, mysql, etcd } = data;
    const etcdAuth = !!spec.data.etcd?.auth;
    const rpcConfig = (s: ServiceSpec) =>
      etcd && model.registryUsers.has(s.name)
        ? rpcConfigJson({
            service: s,
            services: spec.services,
            etcdEndpoints: etcd.endpoints,
            prefixRoot: DEFAULT_PREFIX_ROOT,
            etcdAuth: etcdAuth ? { passwordEnv: ENV.etcdPassword } : undefined,
          })
        : undefined;
    const byName = new Map(spec.services.map((s) => [s.name, s]));
    // Callees first, and each caller's pods wait for them: in a stage move a caller's new pods
    // (which now call out for data they used to hold) go live only once the callees serve. Only the
    // rollout waits (rolloutAfter): the caller's migration needs the data tier, not its callees.
    const started = new Map<string, AppService>();
    for (const name of model.startOrder) {
      const s = byName.get(name) as ServiceSpec;
      const rpc = rpcConfig(s);
      const callees = s.calls.flatMap((c) => started.get(c) ?? []);
      const service = new AppService(
        s.name,
        {
          service: s,
          namespace: ns,
          settings: appSettings(s, model, ns),
          rpcConfig: rpc,
          etcdAuth: etcdAuth && !!rpc,
          rolloutAfter: callees,
        },
        this.after(namespace, redis, mysql, ...(etcd ? [etcd] : [])),
      );
      started.set(name, service);
    }
    // Workers and beat run their service's code: they start once its schema is migrated (and the
    // stores are up), with their own copy of its settings.json. Before, they mounted the service's
    // chart's ConfigMap without waiting for it, and the kubelet's retry back-off held beat up to 74 s
    // past the chart (seen on the real node); waiting for the whole AppService instead held them
    // behind the callers-after-callees levels.
    const codeRuns = (owner: AppService) => this.after(namespace, redis, mysql, ...(owner.migration ? [owner.migration] : []));
    const celery: pulumi.Resource[] = [];
    for (const w of spec.workers) {
      const svc = byName.get(w.service);
      const owner = started.get(w.service);
      if (svc && owner)
        celery.push(
          new CeleryWorker(`celery-${w.name}`, { worker: w, service: svc, settings: owner.settings, namespace: ns }, codeRuns(owner)),
        );
    }
    const beatService = spec.beat && byName.get(spec.beat.service);
    const beatOwner = spec.beat && started.get(spec.beat.service);
    if (spec.beat && beatService && beatOwner)
      celery.push(
        new CeleryBeat(
          "celery-beat",
          { beat: spec.beat, service: beatService, settings: beatOwner.settings, namespace: ns },
          codeRuns(beatOwner),
        ),
      );
    const served: pulumi.Resource[] = [...started.values()];
    if (spec.push?.kind === "tormq") served.push(new PushService("push", { push: spec.push, namespace: ns }, this.after(namespace)));
    if (spec.shortUrl) served.push(new ShortUrl("shorturl", { shortUrl: spec.shortUrl, namespace: ns }, this.after(namespace, redis)));
    return { all: [...served, ...celery], served, services: started };
  }

  /**
   * The edge tier. Its Deployments roll out after the app components it routes to (`rolloutAfter`):
   * nginx resolves its upstreams' Service names when it starts and exits if one does not exist yet
   * (seen on the real node), so the Services must come first. Celery has no Service: the edge does
   * not wait for it. Its config, ServiceAccount, PDB and LoadBalancer Service wait only for the
   * namespace and Redis. Returns the names of its LoadBalancer Services.
   */
  private edgeTier(args: StageArgs, namespace: Namespace, redis: RedisCache, served: pulumi.Resource[]): string[] {
    const { spec } = args.model;
    const ns = args.namespace;
    const host = (n: string) => serviceHost(n, ns);
    const routed = spec.services.filter((s) => s.routes.length > 0);
    const entryPoints: string[] = [];
    if (spec.edge.nginx) {
      new NginxLoadBalancer(
        "nginx",
        {
          nginx: spec.edge.nginx,
          namespace: ns,
          loadBalancerAnnotations: args.loadBalancerAnnotations,
          rolloutAfter: served,
          redis: { host: host(NAMES.redisClient), port: PORTS.redis },
          conf: {
            upstreams: routed.map((s) => ({ name: s.name, host: host(s.name), port: s.port, routes: s.routes })),
            push:
              spec.push?.kind === "tormq"
                ? { kind: "tormq", host: host(NAMES.push), port: spec.push.port, path: spec.push.path }
                : spec.push,
            shortUrl: spec.shortUrl && { host: host(NAMES.shortUrl), port: PORTS.shortUrl, route: spec.shortUrl.route },
          },
        },
        this.after(namespace, redis),
      );
      entryPoints.push(NAMES.nginx);
    }
    if (spec.edge.kong) {
      const endpoints: Record<string, { host: string; port: number }> = Object.fromEntries(
        routed.map((s) => [s.name, { host: host(s.name), port: s.port }]),
      );
      if (spec.push?.kind === "tormq") endpoints[NAMES.push] = { host: host(NAMES.push), port: spec.push.port };
      if (spec.shortUrl) endpoints[NAMES.shortUrl] = { host: host(NAMES.shortUrl), port: PORTS.shortUrl };
      new KongGateway(
        "kong",
        {
          kong: spec.edge.kong,
          namespace: ns,
          services: spec.services,
          push: spec.push,
          shortUrl: spec.shortUrl,
          endpoints,
          redis: { host: host(NAMES.redisClient), port: PORTS.redis, database: 0 },
          credentials: args.credentials,
          loadBalancerAnnotations: args.loadBalancerAnnotations,
          rolloutAfter: served,
          placement: args.kongPlacement,
        },
        this.after(namespace, redis),
      );
      entryPoints.push(NAMES.kongProxy);
    }
    return entryPoints;
  }
}
