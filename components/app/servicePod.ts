/**
 * What differs between a Django web service and an RPC service: its main container, config files,
 * Service ports and shutdown grace. Pure, chosen by the service's `kind` (data), so one component
 * (AppService) serves both and a service keeps its identity when its protocol changes (split ->
 * micro turns HTTP services into RPC services in place).
 */
import type * as k8s from "@pulumi/kubernetes";
import type { Role } from "../../model/names";
import { container, probes } from "../lib/pod";
import type { ServiceSpec } from "../../spec/schema";
import { CONFIG_DIR } from "./appPod";
import { rpcAnswersCommand } from "./healthChecks";
import { uwsgiIni } from "./uwsgiIni";

/** The image contract: the Django project's WSGI entry point. */
export const WSGI_MODULE = "app.wsgi:application";

export interface ServicePod {
  readonly role: Role;
  readonly container: k8s.types.input.core.v1.Container;
  /** Extra config files beside settings.json / rpc.json. */
  readonly files: Record<string, string>;
  readonly ports: { name: string; port: number; targetPort: string }[];
  readonly terminationGracePeriodSeconds: number;
}

export function servicePod(
  s: ServiceSpec,
  env: k8s.types.input.core.v1.EnvVar[],
  volumeMounts: k8s.types.input.core.v1.VolumeMount[],
): ServicePod {
  if (s.kind === "web") {
    if (!s.uwsgi) throw new Error(`service ${s.name}: a web service needs uwsgi settings (the spec rules should have caught this)`);
    return {
      role: "web",
      container: container({
        name: "uwsgi",
        image: s.image,
        resources: s.resources,
        command: ["uwsgi", "--ini", `${CONFIG_DIR}/uwsgi.ini`],
        ports: [{ name: "http", containerPort: s.port }],
        env,
        volumeMounts,
        // Readiness asks the app (database reachable); liveness only that uWSGI answers.
        ...probes({ httpGet: { path: "/readyz", port: "http" } }, { httpGet: { path: "/healthz", port: "http" } }),
      }),
      files: { "uwsgi.ini": uwsgiIni({ service: s, httpPort: s.port, module: WSGI_MODULE }) },
      ports: [{ name: "http", port: s.port, targetPort: "http" }],
      // uWSGI's harakiri bounds a request; give in-flight ones that long to finish.
      terminationGracePeriodSeconds: s.uwsgi.harakiri + 10,
    };
  }
  return {
    role: "rpc",
    container: container({
      name: "rpc",
      image: s.image,
      resources: s.resources,
      command: ["python", "-m", "app.rpc", "serve", "--port", String(s.port)],
      ports: [{ name: "rpc", containerPort: s.port }],
      // The address it registers under in etcd: the pod's own, so clients reach it directly.
      // (STAGECRAFT_RPC comes with `env`: every pod of a service with an rpc.json gets it.)
      env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }, ...env],
      volumeMounts,
      // Readiness: accepting RPC connections (it listens once Django and its handlers are set up).
      // Liveness: its dispatch loop answers a request, which a wedged process's socket would not.
      ...probes({ tcpSocket: { port: "rpc" } }, { exec: { command: rpcAnswersCommand(s.port) } }),
    }),
    files: {},
    ports: [{ name: "rpc", port: s.port, targetPort: "rpc" }],
    // Time to revoke its lease so clients stop picking it before it exits.
    terminationGracePeriodSeconds: 30,
  };
}
