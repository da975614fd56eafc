/**
 * The short-URL service on OpenResty: nginx + Lua looks codes up in Redis and redirects.
 * Its nginx.conf is a pure function of the spec (openrestyConf.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { NAMES, PASSWORD_KEY, PORTS, SECRETS, serviceHost } from "../../model/names";
import { container, probes, scratch } from "../lib/pod";
import { workloadId } from "../lib/workloadIds";
import type { ShortUrlSpec } from "../../spec/schema";
import { CONFIG_DIR, configMount } from "./appPod";
import { ENV } from "./appSettings";
import { openrestyConf } from "./openrestyConf";
import { serviceChart } from "./serviceChart";
import { serviceValues } from "./serviceValues";

/** nginx + Lua, unprivileged (master and workers): it writes only its temp paths, on the /tmp emptyDir. */
const OPENRESTY_UID = workloadId("openresty");

export interface ShortUrlArgs {
  readonly shortUrl: ShortUrlSpec;
  readonly namespace: string;
}

export class ShortUrl extends pulumi.ComponentResource {
  readonly serviceName: string;
  readonly port: number;

  constructor(name: string, args: ShortUrlArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:ShortUrl", name, {}, opts);
    const su = args.shortUrl;
    const tmp = scratch("tmp", "/tmp");
    const config = configMount(NAMES.shortUrl);
    const conf = openrestyConf({
      shortUrl: su,
      listenPort: PORTS.shortUrl,
      redis: { host: serviceHost(NAMES.redisClient, args.namespace), port: PORTS.redis, db: su.redisDb },
      resolver: "kube-dns.kube-system.svc.cluster.local",
      modules: su.modules,
    });
    const values = serviceValues({
      name: NAMES.shortUrl,
      role: "short-url",
      replicas: su.replicas,
      uid: OPENRESTY_UID,
      configFiles: { "nginx.conf": conf },
      containers: [
        container({
          name: "openresty",
          image: su.image,
          resources: su.resources,
          // `-e stderr`: the error log before the config is read, off the read-only root filesystem.
          command: ["openresty", "-e", "stderr", "-c", `${CONFIG_DIR}/nginx.conf`, "-g", "daemon off;"],
          ports: [{ name: "http", containerPort: PORTS.shortUrl }],
          env: [{ name: ENV.redisPassword, valueFrom: { secretKeyRef: { name: SECRETS.redis, key: PASSWORD_KEY } } }],
          volumeMounts: [tmp.mount, config.mount],
          ...probes({ httpGet: { path: "/healthz", port: "http" } }, { tcpSocket: { port: "http" } }),
        }),
      ],
      volumes: [tmp.volume, config.volume],
      service: { headless: false, ports: [{ name: "http", port: PORTS.shortUrl, targetPort: "http" }] },
    });
    serviceChart(`${name}-chart`, args.namespace, values, { parent: this });
    this.serviceName = NAMES.shortUrl;
    this.port = PORTS.shortUrl;
    this.registerOutputs({ serviceName: this.serviceName, port: this.port });
  }
}
