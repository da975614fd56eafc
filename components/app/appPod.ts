/**
 * What every pod running a service's code shares (web, RPC, migration Job, Celery): its uid,
 * its config files and its Secret-backed environment. Pure.
 */
import type * as k8s from "@pulumi/kubernetes";
import { etcdUserSecret, mysqlUserSecret, PASSWORD_KEY, SECRETS } from "../../model/names";
import type { ServiceSpec } from "../../spec/schema";
import { ENV, type AppSettings } from "./appSettings";
import { workloadId } from "../lib/workloadIds";

/** The image contract: app images run as this uid and read config from CONFIG_DIR. */
export const APP_UID = workloadId("app");
export const CONFIG_DIR = "/etc/stagecraft";

/**
 * Where the service's code finds its config files: settings.json always, rpc.json when the service
 * has one (it serves RPC, or calls an RPC service: every pod of it then needs the registry's address).
 */
export function configEnv(hasRpc: boolean): k8s.types.input.core.v1.EnvVar[] {
  return [
    { name: "STAGECRAFT_SETTINGS", value: `${CONFIG_DIR}/settings.json` },
    ...(hasRpc ? [{ name: "STAGECRAFT_RPC", value: `${CONFIG_DIR}/rpc.json` }] : []),
  ];
}

/**
 * Secret-backed environment: passwords by reference, never as literals. `etcdAuth` is true when
 * etcd auth is on and the service talks to the registry (it registers or calls an RPC service).
 */
export function secretEnv(service: ServiceSpec, etcdAuth = false): k8s.types.input.core.v1.EnvVar[] {
  const env: k8s.types.input.core.v1.EnvVar[] = [];
  if (etcdAuth)
    env.push({ name: ENV.etcdPassword, valueFrom: { secretKeyRef: { name: etcdUserSecret(service.name), key: PASSWORD_KEY } } });
  if (service.mysql)
    env.push({ name: ENV.dbPassword, valueFrom: { secretKeyRef: { name: mysqlUserSecret(service.mysql.user), key: PASSWORD_KEY } } });
  if (service.redis) env.push({ name: ENV.redisPassword, valueFrom: { secretKeyRef: { name: SECRETS.redis, key: PASSWORD_KEY } } });
  return env;
}

/** Config files every pod of a service mounts. */
export function serviceFiles(settings: AppSettings, rpcConfig?: string): Record<string, string> {
  return { "settings.json": JSON.stringify(settings, null, 2) + "\n", ...(rpcConfig ? { "rpc.json": rpcConfig } : {}) };
}

/** The service's ConfigMap (made by its chart) as a volume and its read-only mount. */
export function configMount(service: string) {
  return {
    volume: { name: "config", configMap: { name: `${service}-config` } },
    mount: { name: "config", mountPath: CONFIG_DIR, readOnly: true },
  };
}
