/**
 * The Tornado + ZeroMQ push service (the write-up's tormq), which replaced the Nginx push module
 * when long-lived connections outgrew it. Clients hold websockets to any replica; backends publish
 * over ZeroMQ to every replica (the Service is headless, so its DNS name lists them all), so no
 * replica-to-replica relay is needed.
 */
import * as pulumi from "@pulumi/pulumi";
import { NAMES } from "../../model/names";
import { container, probes, scratch } from "../lib/pod";
import type { PushSpec } from "../../spec/schema";
import { APP_UID } from "./appPod";
import { serviceChart } from "./serviceChart";
import { serviceValues } from "./serviceValues";

type TormqSpec = Extract<PushSpec, { kind: "tormq" }>;

export interface PushServiceArgs {
  readonly push: TormqSpec;
  readonly namespace: string;
}

export class PushService extends pulumi.ComponentResource {
  readonly serviceName: string;
  readonly port: number;

  constructor(name: string, args: PushServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:PushService", name, {}, opts);
    const p = args.push;
    const tmp = scratch("tmp", "/tmp");
    const values = serviceValues({
      name: NAMES.push,
      role: "push",
      replicas: p.replicas,
      uid: APP_UID,
      containers: [
        container({
          name: "tormq",
          image: p.image,
          resources: p.resources,
          args: [`--port=${p.port}`, `--zmq-port=${p.zmqPort}`, `--path=${p.path}`],
          ports: [
            { name: "ws", containerPort: p.port },
            { name: "zmq", containerPort: p.zmqPort },
          ],
          volumeMounts: [tmp.mount],
          ...probes({ httpGet: { path: "/healthz", port: "ws" } }, { tcpSocket: { port: "zmq" } }),
        }),
      ],
      volumes: [tmp.volume],
      service: {
        headless: true,
        ports: [
          { name: "ws", port: p.port, targetPort: "ws" },
          { name: "zmq", port: p.zmqPort, targetPort: "zmq" },
        ],
      },
      // Websockets drain slowly: give clients time to reconnect elsewhere.
      terminationGracePeriodSeconds: 60,
    });
    serviceChart(`${name}-chart`, args.namespace, values, { parent: this });
    this.serviceName = NAMES.push;
    this.port = p.port;
    this.registerOutputs({ serviceName: this.serviceName, port: this.port });
  }
}
