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
import { appSettings, ENV } from "../app/appSettings";
import { AppService } from "../app/AppService";
import { CeleryBeat } from "../app/CeleryBeat";
import { CeleryWorker } from "../app/CeleryWorker";
import { PushService } from "../app/PushService";
import { needsRpcConfig, rpcConfigJson } from "../app/rpcConfig";
import { ShortUrl } from "../app/ShortUrl";
import { DEFAULT_PREFIX_ROOT } from "../data/etcdAuth";
import { EtcdCluster } from "../data/EtcdCluster";
import { MySqlCluster } from "../data/MySqlCluster";
import { RedisCache } from "../data/RedisCache";
import { KongGateway } from "../edge/KongGateway";
import { NginxLoadBalancer } from "../edge/NginxLoadBalancer";
import { NAMES, PORTS, serviceHost } from "../../model/names";
import { derivedSecret } from "../lib/secrets";
import { CallGraphPolicies } from "../platform/CallGraphPolicies";
import { Namespace } from "../platform/Namespace";
import { connectionBudget } from "../../model/connections";
import type { Spec } from "../../spec/schema";

export interface StageArgs {
  readonly spec: Spec;
  readonly namespace: string;
  /** The stack's secret seed: every password is derived from it. */
  readonly secretSeed: pulumi.Output<string>;
  /** Kong consumer credentials, by their config key (Pulumi secrets). */
  readonly credentials: Readonly<Record<string, pulumi.Output<string>>>;
  /** Annotations for LoadBalancer Services (AWS NLB on EKS, none locally). */
  readonly loadBalancerAnnotations: Record<string, string>;
  /** Where data-tier pods go (EKS data nodes), if anywhere in particular. */
  readonly dataPlacement?: Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations">;
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
    const { spec } = args;
    const ns = args.namespace;
    const child = { parent: this };
    const secret = (purpose: string) => derivedSecret(args.secretSeed, purpose);
    const host = (n: string) => serviceHost(n, ns);

    // Platform.
    const namespace = new Namespace("namespace", { name: ns }, child);
    const inNs = { parent: this, dependsOn: [namespace] };
    new CallGraphPolicies("network-policies", { spec, namespace: ns }, inNs);

    // Data.
    const redis = new RedisCache(
      "redis",
      { redis: spec.data.redis, namespace: ns, password: secret("redis/password"), placement: args.dataPlacement },
      inNs,
    );
    const mysql = new MySqlCluster(
      "mysql",
      {
        mysql: spec.data.mysql,
        namespace: ns,
        services: spec.services,
        rootPassword: secret("mysql/root"),
        replicationPassword: secret("mysql/replication"),
        userPassword: (u) => secret(`mysql/user/${u}`),
        placement: args.dataPlacement,
      },
      inNs,
    );
    const etcd =
      spec.data.etcd &&
      new EtcdCluster(
        "etcd",
        {
          etcd: spec.data.etcd,
          namespace: ns,
          services: spec.services,
          rootPassword: secret("etcd/root"),
          userPasswords: (u) => secret(`etcd/user/${u}`),
          placement: args.dataPlacement,
        },
        inNs,
      );
    const stores = [redis, mysql];

    // App.
    const etcdAuth = !!spec.data.etcd?.auth;
    const rpcJson = (s: Spec["services"][number]) =>
      etcd && needsRpcConfig(s, spec.services)
        ? rpcConfigJson({
            service: s,
            services: spec.services,
            etcdEndpoints: etcd.endpoints,
            prefixRoot: DEFAULT_PREFIX_ROOT,
            etcdAuth: etcdAuth ? { passwordEnv: ENV.etcdPassword } : undefined,
          })
        : undefined;
    for (const s of spec.services) {
      const settings = appSettings(s, spec, ns);
      const rpcConfig = rpcJson(s);
      const deps = { parent: this, dependsOn: [namespace, ...stores, ...(etcd ? [etcd] : [])] };
      new AppService(s.name, { service: s, namespace: ns, settings, rpcConfig, etcdAuth: etcdAuth && !!rpcConfig }, deps);
    }
    const byName = new Map(spec.services.map((s) => [s.name, s]));
    for (const w of spec.workers) {
      const svc = byName.get(w.service);
      if (svc)
        new CeleryWorker(
          `celery-${w.name}`,
          { worker: w, service: svc, namespace: ns },
          { parent: this, dependsOn: [namespace, ...stores] },
        );
    }
    const beatService = spec.beat && byName.get(spec.beat.service);
    if (spec.beat && beatService)
      new CeleryBeat(
        "celery-beat",
        { beat: spec.beat, service: beatService, namespace: ns },
        { parent: this, dependsOn: [namespace, redis] },
      );
    if (spec.push?.kind === "tormq") new PushService("push", { push: spec.push, namespace: ns }, inNs);
    if (spec.shortUrl)
      new ShortUrl("shorturl", { shortUrl: spec.shortUrl, namespace: ns }, { parent: this, dependsOn: [namespace, redis] });

    // Edge.
    const routed = spec.services.filter((s) => s.routes.length > 0);
    const endpoints: Record<string, { host: string; port: number }> = Object.fromEntries(
      routed.map((s) => [s.name, { host: host(s.name), port: s.port }]),
    );
    if (spec.push?.kind === "tormq") endpoints[NAMES.push] = { host: host(NAMES.push), port: spec.push.port };
    if (spec.shortUrl) endpoints[NAMES.shortUrl] = { host: host(NAMES.shortUrl), port: PORTS.shortUrl };
    const entryPoints: string[] = [];
    if (spec.edge.nginx) {
      new NginxLoadBalancer(
        "nginx",
        {
          nginx: spec.edge.nginx,
          namespace: ns,
          loadBalancerAnnotations: args.loadBalancerAnnotations,
          redis: { host: host(NAMES.redis), port: PORTS.redis },
          conf: {
            upstreams: routed.map((s) => ({ name: s.name, host: host(s.name), port: s.port, routes: s.routes })),
            push:
              spec.push?.kind === "tormq"
                ? { kind: "tormq", host: host(NAMES.push), port: spec.push.port, path: spec.push.path }
                : spec.push,
            shortUrl: spec.shortUrl && { host: host(NAMES.shortUrl), port: PORTS.shortUrl, route: spec.shortUrl.route },
          },
        },
        inNs,
      );
      entryPoints.push(NAMES.nginx);
    }
    if (spec.edge.kong) {
      new KongGateway(
        "kong",
        {
          kong: spec.edge.kong,
          namespace: ns,
          services: spec.services,
          push: spec.push,
          shortUrl: spec.shortUrl,
          endpoints,
          redis: { host: host(NAMES.redis), port: PORTS.redis, database: 0 },
          credentials: args.credentials,
          loadBalancerAnnotations: args.loadBalancerAnnotations,
        },
        { parent: this, dependsOn: [namespace, redis] },
      );
      entryPoints.push(NAMES.kongProxy);
    }

    const budget = connectionBudget(spec);
    this.stage = spec.stage;
    this.namespace = ns;
    this.entryPoints = entryPoints;
    this.connectionUse = {
      mysql: `${budget.mysql.required}/${budget.mysql.limit}`,
      redis: `${budget.redis.required}/${budget.redis.limit}`,
    };
    this.registerOutputs({
      stage: this.stage,
      namespace: this.namespace,
      entryPoints: this.entryPoints,
      connectionUse: this.connectionUse,
    });
  }
}
