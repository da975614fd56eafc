/**
 * Kong in DB-less mode: 2+ nodes behind the cloud load balancer, every node reading the same
 * declarative config, which is a pure function of the spec (kongConfig.ts). The file holds consumer
 * keys, so it lives in a Secret; rate-limit counters are shared through Redis, whose password Kong
 * resolves from its environment. A config change rolls the nodes one at a time.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, NAMES, PASSWORD_KEY, PORTS, SECRETS } from "../../model/names";
import { CONFIG_HASH_ANNOTATION, container, contentHash, probes, scratch } from "../lib/pod";
import { workloadId } from "../lib/workloadIds";
import type { KongSpec, PushSpec, ServiceSpec, ShortUrlSpec } from "../../spec/schema";
import { edgeWorkload } from "./edgeWorkload";
import { KONG_SECRET_ENV, kongYaml, type Endpoint } from "./kongConfig";

/**
 * Kong's image names a `kong` user (uid 1000), but Kong does not need that uid: it writes only under
 * its prefix and /tmp (both emptyDirs here, KONG_PREFIX below), so it runs as whatever uid the pod
 * gives, as under OpenShift's arbitrary uids (Kong's chart dropped its default uid 1000 for that
 * once: Kong/charts#1003). Kong cannot run here (no image), so this is unproven on the real node:
 * Kong's pods sit on the local cluster's KWOK nodes.
 */
const KONG_UID = workloadId("kong");
const CONFIG_PATH = "/etc/kong/declarative/kong.yml";

export interface KongGatewayArgs {
  readonly kong: KongSpec;
  readonly namespace: string;
  readonly services: readonly ServiceSpec[];
  readonly push?: PushSpec;
  readonly shortUrl?: ShortUrlSpec;
  /** Where each routed upstream listens, by Kubernetes Service name. */
  readonly endpoints: Readonly<Record<string, Endpoint>>;
  readonly redis: { host: string; port: number; database: number };
  /** Consumer credentials by their config key: Pulumi secrets. */
  readonly credentials: Readonly<Record<string, pulumi.Output<string>>>;
  readonly loadBalancerAnnotations: Record<string, string>;
  /**
   * What the Deployment waits for (the app tier, whose Services it routes to), so Kong nodes report
   * ready only once their upstreams exist. Only the Deployment: its config Secret, ServiceAccount,
   * PDB and LoadBalancer Service need none of it.
   */
  readonly rolloutAfter: pulumi.Resource[];
  /** Where Kong's pods go, from the target (local stacks: the KWOK nodes, where no container runs). */
  readonly placement?: Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations">;
}

export class KongGateway extends pulumi.ComponentResource {
  readonly serviceName: string;

  constructor(name: string, args: KongGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:edge:KongGateway", name, {}, opts);
    const k = args.kong;
    const input = (credentials: Record<string, string>) => ({
      kong: k,
      services: args.services,
      push: args.push,
      shortUrl: args.shortUrl,
      endpoints: args.endpoints,
      redis: k.rateLimit.policy === "redis" ? args.redis : undefined,
      credentials,
    });
    // The file with the real keys is a secret end to end.
    const yaml = pulumi.secret(pulumi.all(args.credentials).apply((c) => kongYaml(input(c))));
    // Rolls on any config change: the shape (hashed in the open) and the keys (hash unsecreted: a
    // truncated SHA-256 of a random key reveals nothing, and previews stay readable).
    const placeholders = Object.fromEntries(Object.keys(args.credentials).map((key) => [key, `<${key}>`]));
    const shapeHash = contentHash(kongYaml(input(placeholders)));
    const keysHash = pulumi.unsecret(
      pulumi.all(args.credentials).apply((c) =>
        contentHash(
          ...Object.keys(c)
            .sort()
            .map((key) => c[key]),
        ),
      ),
    );

    const secret = new k8s.core.v1.Secret(
      `${name}-config`,
      {
        metadata: { name: SECRETS.kong, namespace: args.namespace, labels: labels(NAMES.kong, "gateway", "edge") },
        type: "Opaque",
        stringData: { "kong.yml": yaml },
      },
      { parent: this },
    );
    const tmp = scratch("tmp", "/tmp", "256Mi");
    const prefix = scratch("prefix", "/kong_prefix", "256Mi");
    edgeWorkload(
      name,
      {
        name: NAMES.kong,
        role: "gateway",
        namespace: args.namespace,
        replicas: k.replicas,
        uid: KONG_UID,
        placement: args.placement,
        podAnnotations: { [CONFIG_HASH_ANNOTATION]: shapeHash, "stagecraft.dev/credentials-hash": keysHash },
        containers: [
          container({
            name: "kong",
            image: k.image,
            resources: k.resources,
            ports: [
              { name: "proxy", containerPort: PORTS.kongProxy },
              { name: "status", containerPort: PORTS.kongStatus },
            ],
            env: [
              { name: "KONG_DATABASE", value: "off" },
              { name: "KONG_DECLARATIVE_CONFIG", value: CONFIG_PATH },
              { name: "KONG_PREFIX", value: "/kong_prefix" },
              { name: "KONG_PROXY_LISTEN", value: `0.0.0.0:${PORTS.kongProxy}` },
              { name: "KONG_STATUS_LISTEN", value: `0.0.0.0:${PORTS.kongStatus}` },
              // No Admin API: the config is declarative and comes only from the Secret.
              { name: "KONG_ADMIN_LISTEN", value: "off" },
              { name: "KONG_PROXY_ACCESS_LOG", value: "/dev/stdout" },
              { name: "KONG_PROXY_ERROR_LOG", value: "/dev/stderr" },
              { name: "KONG_NGINX_WORKER_PROCESSES", value: "2" },
              { name: KONG_SECRET_ENV.redisPassword, valueFrom: { secretKeyRef: { name: SECRETS.redis, key: PASSWORD_KEY } } },
            ],
            volumeMounts: [tmp.mount, prefix.mount, { name: "config", mountPath: "/etc/kong/declarative", readOnly: true }],
            // /status/ready turns true once the config is loaded; /status only says Kong runs.
            ...probes({ httpGet: { path: "/status/ready", port: "status" } }, { httpGet: { path: "/status", port: "status" } }),
          }),
        ],
        volumes: [tmp.volume, prefix.volume, { name: "config", secret: { secretName: SECRETS.kong } }],
        loadBalancer: {
          name: NAMES.kongProxy,
          ports: [{ name: "http", port: 80, targetPort: "proxy" }],
          annotations: args.loadBalancerAnnotations,
        },
        dependsOn: [secret, ...args.rolloutAfter],
      },
      this,
    );
    this.serviceName = NAMES.kongProxy;
    this.registerOutputs({ serviceName: this.serviceName });
  }
}
