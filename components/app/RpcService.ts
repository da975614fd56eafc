/**
 * An RPC service (the write-up's gevent + msgpack framework): a Deployment behind a headless
 * Service, since clients balance across instances themselves from the etcd registry. The service
 * registers itself under its own prefix with a lease; rpc.json carries the prefix, the lease TTL
 * and the client policy for each callee.
 */
import * as pulumi from "@pulumi/pulumi";
import { container, probes, scratch } from "../lib/pod";
import type { ServiceSpec } from "../stage/spec";
import type { AppSettings } from "./appSettings";
import { serviceChart } from "./serviceChart";
import { serviceValues } from "./serviceValues";
import { APP_UID, CONFIG_DIR, configMount, secretEnv, serviceFiles } from "./appPod";

export interface RpcServiceArgs {
  /** The service's spec entry (kind `rpc`). */
  readonly service: ServiceSpec;
  readonly namespace: string;
  readonly settings: AppSettings;
  /** Registry prefix, lease and client policies (rpc.json). */
  readonly rpcConfig: string;
  /** True when etcd auth is on: the service gets its own etcd user's password. */
  readonly etcdAuth: boolean;
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class RpcService extends pulumi.ComponentResource {
  readonly serviceName: string;
  readonly port: number;

  constructor(name: string, args: RpcServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:RpcService", name, {}, opts);
    const s = args.service;
    const tmp = scratch("tmp", "/tmp");
    const env = [
      { name: "STAGECRAFT_SETTINGS", value: `${CONFIG_DIR}/settings.json` },
      { name: "STAGECRAFT_RPC", value: `${CONFIG_DIR}/rpc.json` },
      // The address it registers under: the pod's own, so clients reach it directly.
      { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      ...secretEnv(s, args.etcdAuth),
    ];
    const values = serviceValues({
      name: s.name,
      role: "rpc",
      layer: s.layer,
      replicas: s.replicas,
      hpa: s.hpa,
      uid: APP_UID,
      configFiles: serviceFiles(args.settings, args.rpcConfig),
      containers: [
        container({
          name: "rpc",
          image: s.image,
          resources: s.resources,
          command: ["python", "-m", "app.rpc", "serve", "--port", String(s.port)],
          ports: [{ name: "rpc", containerPort: s.port }],
          env,
          volumeMounts: [tmp.mount, configMount(s.name).mount],
          // Readiness: accepting RPC connections. Liveness: the same socket, judged slowly.
          ...probes({ tcpSocket: { port: "rpc" } }),
        }),
      ],
      volumes: [tmp.volume, configMount(s.name).volume],
      service: { headless: true, ports: [{ name: "rpc", port: s.port, targetPort: "rpc" }] },
      // Time to revoke its lease so clients stop picking it before it exits.
      terminationGracePeriodSeconds: 30,
    });
    serviceChart(`${name}-chart`, args.namespace, values, { parent: this, dependsOn: args.dependsOn });
    this.serviceName = s.name;
    this.port = s.port;
    this.registerOutputs({ serviceName: this.serviceName, port: this.port });
  }
}
