/**
 * Redis as the shared cache (and Celery broker): a one-replica StatefulSet with a persistent volume,
 * its password in a Secret derived from the stack's seed, its redis.conf from the spec. The password
 * reaches the server through an include file written at start, never through the ConfigMap.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, NAMES, PASSWORD_KEY, PORTS, SECRETS, serviceHost } from "../../model/names";
import { configHash, container, podSecurity, scratch } from "../lib/pod";
import { workloadId } from "../lib/workloadIds";
import type { RedisSpec } from "../../spec/schema";
import { dataOptions, statefulSetBasics, statefulSetServices } from "./stateful";
import { redisConf } from "./redisConf";

/** The redis image's redis user has the same id (images/redis). */
const REDIS_UID = workloadId("redis");
const AUTH_INCLUDE = "/run/redis/auth.conf";

export interface RedisCacheArgs {
  readonly redis: RedisSpec;
  readonly namespace: string;
  /** The password, derived from the stack's secret seed. */
  readonly password: pulumi.Output<string>;
  /** Node placement for data-tier pods (EKS data node group), if any. */
  readonly placement?: Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations">;
}

export class RedisCache extends pulumi.ComponentResource {
  /** In-cluster host name clients connect to. */
  readonly host: string;
  readonly port: number;
  readonly secretName: string;

  constructor(name: string, args: RedisCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:data:RedisCache", name, {}, opts);
    const r = args.redis;
    const ns = args.namespace;
    const lbl = labels(NAMES.redis, "cache", "data");
    const protectedData = dataOptions(this, "protected");

    const secret = new k8s.core.v1.Secret(
      `${name}-credentials`,
      { metadata: { name: SECRETS.redis, namespace: ns, labels: lbl }, type: "Opaque", stringData: { [PASSWORD_KEY]: args.password } },
      protectedData,
    );
    const conf = redisConf(r, { port: PORTS.redis, dir: "/data", authInclude: AUTH_INCLUDE });
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      { metadata: { name: `${NAMES.redis}-config`, namespace: ns, labels: lbl }, data: { "redis.conf": conf } },
      { parent: this },
    );
    statefulSetServices(this, {
      governing: { pulumiName: `${name}-service`, name: NAMES.redis },
      client: { pulumiName: `${name}-client`, name: NAMES.redisClient },
      namespace: ns,
      labels: lbl,
      selectName: NAMES.redis,
      port: { name: "redis", port: PORTS.redis },
    });
    const account = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: { name: NAMES.redis, namespace: ns, labels: lbl }, automountServiceAccountToken: false },
      { parent: this },
    );

    const run = scratch("run", "/run/redis", "1Mi");
    const tmp = scratch("tmp", "/tmp");
    const passwordEnv = { name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: SECRETS.redis, key: PASSWORD_KEY } } };
    // REDISCLI_AUTH keeps the password off the probe's command line.
    const ping = ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p ' + PORTS.redis + " ping | grep -q PONG"];
    new k8s.apps.v1.StatefulSet(
      `${name}-statefulset`,
      {
        metadata: { name: NAMES.redis, namespace: ns, labels: lbl },
        spec: {
          ...statefulSetBasics(NAMES.redis, NAMES.redis, r.storage),
          replicas: 1,
          template: {
            metadata: { labels: lbl, annotations: configHash(conf) },
            spec: {
              serviceAccountName: NAMES.redis,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurity(REDIS_UID),
              ...args.placement,
              containers: [
                container({
                  name: "redis",
                  image: r.image,
                  resources: r.resources,
                  command: [
                    "sh",
                    "-c",
                    `umask 077; printf 'requirepass "%s"\\n' "$REDIS_PASSWORD" > ${AUTH_INCLUDE}; exec redis-server /etc/redis/redis.conf`,
                  ],
                  ports: [{ name: "redis", containerPort: PORTS.redis }],
                  env: [passwordEnv],
                  volumeMounts: [
                    { name: "data", mountPath: "/data" },
                    { name: "config", mountPath: "/etc/redis", readOnly: true },
                    run.mount,
                    tmp.mount,
                  ],
                  // Readiness: answers an authenticated PING. Liveness: the port is open.
                  readinessProbe: { exec: { command: ping }, periodSeconds: 5, timeoutSeconds: 3 },
                  livenessProbe: { tcpSocket: { port: "redis" }, initialDelaySeconds: 20, periodSeconds: 20, failureThreshold: 6 },
                }),
              ],
              volumes: [{ name: "config", configMap: { name: `${NAMES.redis}-config` } }, run.volume, tmp.volume],
            },
          },
        },
      },
      { ...protectedData, dependsOn: [secret, config, account] },
    );

    this.host = serviceHost(NAMES.redisClient, ns);
    this.port = PORTS.redis;
    this.secretName = SECRETS.redis;
    this.registerOutputs({ host: this.host, port: this.port, secretName: this.secretName });
  }
}
