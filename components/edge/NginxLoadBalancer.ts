/**
 * Nginx load-balancing the web services (2+ replicas behind a LoadBalancer Service). Its nginx.conf
 * is a pure function of the spec (nginxConf.ts). With nchan push, the publisher location lives on a
 * second, cluster-internal server exposed only by a ClusterIP Service (nginx-internal); the public
 * load balancer never reaches it.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, NAMES, PASSWORD_KEY, PORTS, SECRETS, selectorLabels } from "../../model/names";
import { configHash, container, probes, scratch } from "../lib/pod";
import { workloadId } from "../lib/workloadIds";
import type { NginxSpec } from "../../spec/schema";
import { edgeWorkload } from "./edgeWorkload";
import { nginxConf, type NginxConfInput } from "./nginxConf";

/**
 * nginx runs unprivileged, master included (it skips the `user` directive when not root); the
 * nginx-nchan image's nginx user has the same id (images/nginx-nchan). Every path it writes is on an emptyDir.
 */
const NGINX_UID = workloadId("nginx");
/** Where the nginx image keeps the nchan module (a Debian nginx build with libnginx-mod-nchan). */
export const NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so";
/** nchan keeps channels in Redis so a message published on one replica reaches subscribers on all. */
export const NCHAN_REDIS_DB = 2;
const NCHAN_AUTH_INCLUDE = "/tmp/nchan-redis-auth.conf";

export interface NginxLoadBalancerArgs {
  readonly nginx: NginxSpec;
  readonly namespace: string;
  /** Where the shared Redis is, for nchan's channel store. */
  readonly redis: { host: string; port: number };
  /** Everything nginx.conf needs besides the spec: upstreams, push, short URL. */
  readonly conf: Omit<NginxConfInput, "nginx" | "listenPort" | "internalPort" | "modules">;
  readonly loadBalancerAnnotations: Record<string, string>;
  /**
   * What the Deployment waits for (the app tier): nginx resolves its upstreams' Service names when
   * it starts and exits if one does not exist yet (seen on the real node). Only the Deployment: its
   * ConfigMap, ServiceAccount, PDB and Services need none of it.
   */
  readonly rolloutAfter: pulumi.Resource[];
}

export class NginxLoadBalancer extends pulumi.ComponentResource {
  readonly serviceName: string;

  constructor(name: string, args: NginxLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:edge:NginxLoadBalancer", name, {}, opts);
    const n = args.nginx;
    const nchan = args.conf.push?.kind === "nchan";
    const push =
      args.conf.push?.kind === "nchan"
        ? { ...args.conf.push, redis: { ...args.redis, db: NCHAN_REDIS_DB, passwordInclude: NCHAN_AUTH_INCLUDE } }
        : args.conf.push;
    const conf = nginxConf({
      ...args.conf,
      push,
      nginx: n,
      listenPort: PORTS.nginx,
      internalPort: PORTS.nginxInternal,
      modules: nchan ? [NCHAN_MODULE] : [],
    });
    const lbl = labels(NAMES.nginx, "load-balancer", "edge");
    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      { metadata: { name: `${NAMES.nginx}-config`, namespace: args.namespace, labels: lbl }, data: { "nginx.conf": conf } },
      { parent: this },
    );
    const tmp = scratch("tmp", "/tmp", "256Mi");
    const imageTemp = n.imageTempDir ? [scratch("image-temp", n.imageTempDir, "64Mi")] : [];
    const ports = [
      { name: "http", containerPort: PORTS.nginx },
      ...(nchan ? [{ name: "internal", containerPort: PORTS.nginxInternal }] : []),
    ];
    edgeWorkload(
      name,
      {
        name: NAMES.nginx,
        role: "load-balancer",
        namespace: args.namespace,
        replicas: n.replicas,
        uid: NGINX_UID,
        podAnnotations: configHash(conf),
        containers: [
          container({
            name: "nginx",
            image: n.image,
            resources: n.resources,
            // nchan's Redis password goes to a file on the emptyDir at start, never into the ConfigMap;
            // `-e stderr` keeps nginx off the read-only /var/log before it reads its config.
            command: nchan
              ? [
                  "sh",
                  "-c",
                  `umask 077; printf 'nchan_redis_password "%s";\n' "$REDIS_PASSWORD" > ${NCHAN_AUTH_INCLUDE}; exec nginx -e stderr -c /etc/nginx/stagecraft/nginx.conf -g 'daemon off;'`,
                ]
              : ["nginx", "-e", "stderr", "-c", "/etc/nginx/stagecraft/nginx.conf", "-g", "daemon off;"],
            env: nchan ? [{ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: SECRETS.redis, key: PASSWORD_KEY } } }] : [],
            ports,
            volumeMounts: [
              tmp.mount,
              ...imageTemp.map((v) => v.mount),
              { name: "config", mountPath: "/etc/nginx/stagecraft", readOnly: true },
            ],
            // Readiness: nginx serves /healthz. Liveness: the port accepts connections.
            ...probes({ httpGet: { path: "/healthz", port: "http" } }, { tcpSocket: { port: "http" } }),
          }),
        ],
        volumes: [tmp.volume, ...imageTemp.map((v) => v.volume), { name: "config", configMap: { name: `${NAMES.nginx}-config` } }],
        loadBalancer: {
          name: NAMES.nginx,
          ports: [{ name: "http", port: 80, targetPort: "http" }],
          annotations: args.loadBalancerAnnotations,
        },
        dependsOn: [config, ...args.rolloutAfter],
      },
      this,
    );
    if (nchan) {
      new k8s.core.v1.Service(
        `${name}-internal`,
        {
          metadata: { name: NAMES.nginxInternal, namespace: args.namespace, labels: lbl },
          spec: { selector: selectorLabels(NAMES.nginx), ports: [{ name: "internal", port: PORTS.nginxInternal, targetPort: "internal" }] },
        },
        { parent: this },
      );
    }
    this.serviceName = NAMES.nginx;
    this.registerOutputs({ serviceName: this.serviceName });
  }
}
