/**
 * MySQL (MariaDB) with GTID replication: the primary StatefulSet `mysql` (writes, Service
 * `mysql-client`), and, when the spec asks, read replicas as their own StatefulSet `mysql-replica`
 * beside it (reads, Service `mysql-read-client`; governing Services `mysql` and `mysql-read`).
 * Adding replicas never touches the primary: a new replica clones the primary in its init
 * container, then follows it by GTID. A bootstrap Job keeps the replication
 * user and each service's schema and user in place (idempotent), with passwords from Secrets.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, mysqlUserSecret, NAMES, PASSWORD_KEY, PORTS, SECRETS, selectorLabels, serviceHost } from "../../model/names";
import { configHash, container, contentHash, podSecurity, scratch, spread } from "../lib/pod";
import { workloadId } from "../lib/workloadIds";
import type { MySqlSpec, ServiceSpec } from "../../spec/schema";
import { myCnf } from "./myCnf";
import {
  mariadbdCommand,
  mariadbProbes,
  mysqlPasswordEnv,
  primaryBootstrapSql,
  primaryInitScript,
  replicaInitScript,
  SERVER_ID_CNF,
  serverIdScript,
} from "./mysqlReplication";
import { dataOptions, statefulSetBasics, statefulSetServices, type DataGuard } from "./stateful";

/** The mariadb image's mysql user has the same id (images/mariadb). */
const MYSQL_UID = workloadId("mysql");
const REPL_USER = "replicator";
const ROOT_KEY = "root-password";
const REPL_KEY = "replication-password";
/** server_id bases far apart, so primary and replica ids never collide. */
const PRIMARY_ID_BASE = 1;
const REPLICA_ID_BASE = 100;

export interface MySqlClusterArgs {
  readonly mysql: MySqlSpec;
  readonly namespace: string;
  /** Services of the stage: each one with `mysql` gets its schema and user. */
  readonly services: readonly ServiceSpec[];
  readonly rootPassword: pulumi.Output<string>;
  readonly replicationPassword: pulumi.Output<string>;
  /** A MySQL user's password. */
  readonly userPassword: (user: string) => pulumi.Output<string>;
  readonly placement?: Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations">;
}

/** One MariaDB StatefulSet: the primary or the read replicas. */
interface ServerSet {
  /** Prefix of the Pulumi names of its objects. */
  readonly pulumiName: string;
  readonly role: "primary" | "replica";
  /** Kubernetes name of the StatefulSet (and its pods' selector). */
  readonly k8sName: string;
  /** The governing Service of the StatefulSet. */
  readonly serviceName: string;
  readonly replicas: number;
  /** First server_id; the pod's ordinal is added. */
  readonly idBase: number;
  readonly cnf: string;
  /** Init containers after the config step (the replicas' clone). */
  readonly extraInit: k8s.types.input.core.v1.Container[];
  readonly guard: DataGuard;
}

/** The server reads only this file (the spec's cnf, which includes the pod's server-id file): no image config. */
const CONF_DIR = "/etc/mysql/conf.d";
const DEFAULTS_FILE = `${CONF_DIR}/stagecraft.cnf`;
const DATA_DIR = "/var/lib/mysql";
const SOCKET = "/run/mysqld/mysqld.sock";
/** The port both Services of each StatefulSet publish (the pods' port is named "mysql"). */
const MYSQL_PORT = { name: "mysql", port: PORTS.mysql };
const SERVER_ARGS = [`--defaults-file=${DEFAULTS_FILE}`];

const adminEnv = (key: string, envName: string) => ({ name: envName, valueFrom: { secretKeyRef: { name: SECRETS.mysqlAdmin, key } } });
const ROOT_ENV = adminEnv(ROOT_KEY, "MARIADB_ROOT_PASSWORD");
const REPL_ENV = [{ name: "REPL_USER", value: REPL_USER }, adminEnv(REPL_KEY, "REPL_PASSWORD")];

export class MySqlCluster extends pulumi.ComponentResource {
  /** The pods' ServiceAccount, which the StatefulSets wait for. */
  private account!: k8s.core.v1.ServiceAccount;

  constructor(name: string, args: MySqlClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:data:MySqlCluster", name, {}, opts);
    const m = args.mysql;
    const ns = args.namespace;
    const users = [...new Set(args.services.flatMap((s) => (s.mysql ? [s.mysql.user] : [])))].sort();
    const meta = (k8sName: string) => ({ name: k8sName, namespace: ns, labels: labels(NAMES.mysql, "database", "data") });

    // The primary and its admin Secret exist in every stage; users and replicas come and go.
    const admin = new k8s.core.v1.Secret(
      `${name}-admin`,
      {
        metadata: meta(SECRETS.mysqlAdmin),
        type: "Opaque",
        stringData: { [ROOT_KEY]: args.rootPassword, [REPL_KEY]: args.replicationPassword },
      },
      dataOptions(this, "protected"),
    );
    const userSecrets = users.map(
      (u) =>
        new k8s.core.v1.Secret(
          `${name}-user-${u}`,
          { metadata: meta(mysqlUserSecret(u)), type: "Opaque", stringData: { [PASSWORD_KEY]: args.userPassword(u) } },
          dataOptions(this, "retained"),
        ),
    );

    // Before the StatefulSets: a pod naming a missing ServiceAccount is refused (seen on the real node).
    this.account = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: meta(NAMES.mysql), automountServiceAccountToken: false },
      { parent: this },
    );
    const primary = this.serverSet(args, {
      pulumiName: name,
      role: "primary",
      k8sName: NAMES.mysql,
      serviceName: NAMES.mysql,
      replicas: 1,
      idBase: PRIMARY_ID_BASE,
      cnf: myCnf(m, { kind: "primary" }, { include: SERVER_ID_CNF }),
      extraInit: [this.installInit(m)],
      guard: "protected",
    });
    statefulSetServices(this, {
      governing: { pulumiName: `${name}-service`, name: NAMES.mysql },
      client: { pulumiName: `${name}-client`, name: NAMES.mysqlClient },
      namespace: ns,
      labels: labels(NAMES.mysql, "database", "data"),
      selectName: NAMES.mysql,
      port: MYSQL_PORT,
    });
    this.bootstrapJob(name, args, users, [primary, admin, ...userSecrets]);
    if (m.readReplicas > 0) this.readReplicas(name, args);
    this.registerOutputs({});
  }

  /** Schemas and users: re-applied whenever the set of users changes (a new Job, same name). */
  private bootstrapJob(name: string, args: MySqlClusterArgs, users: readonly string[], dependsOn: pulumi.Resource[]): void {
    const ns = args.namespace;
    const bootstrap = primaryBootstrapSql({ replUserEnv: "REPL_USER", replPasswordEnv: "REPL_PASSWORD", services: args.services });
    const jobName = NAMES.mysqlBootstrap;
    const jobLabels = labels(jobName, "migration", "data");
    const tmp = scratch("tmp", "/tmp");
    new k8s.batch.v1.Job(
      `${name}-bootstrap`,
      {
        metadata: { name: jobName, namespace: ns, labels: jobLabels, annotations: { "stagecraft.dev/sql-hash": contentHash(bootstrap) } },
        spec: {
          backoffLimit: 10,
          template: {
            metadata: { labels: jobLabels },
            spec: {
              restartPolicy: "OnFailure",
              serviceAccountName: NAMES.mysql,
              automountServiceAccountToken: false,
              securityContext: podSecurity(MYSQL_UID),
              containers: [
                container({
                  name: "bootstrap",
                  image: args.mysql.image,
                  resources: { cpu: "50m", memory: "64Mi", ephemeralStorage: "64Mi" },
                  command: [
                    "sh",
                    "-c",
                    // MYSQL_PWD keeps the password off the command line (and out of `ps`).
                    `set -e; sh -c "$BOOTSTRAP" | MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -h ${serviceHost(NAMES.mysqlClient, ns)} -P ${PORTS.mysql} -uroot`,
                  ],
                  env: [
                    { name: "BOOTSTRAP", value: bootstrap },
                    ROOT_ENV,
                    ...REPL_ENV,
                    ...users.map((u) => ({
                      name: mysqlPasswordEnv(u),
                      valueFrom: { secretKeyRef: { name: mysqlUserSecret(u), key: PASSWORD_KEY } },
                    })),
                  ],
                  volumeMounts: [tmp.mount],
                }),
              ],
              volumes: [tmp.volume],
            },
          },
        },
      },
      { parent: this, deleteBeforeReplace: true, replaceOnChanges: ["metadata.annotations"], dependsOn },
    );
  }

  /** The primary's datadir, initialised once by the project's own step (no image entrypoint). */
  private installInit(m: MySqlSpec): k8s.types.input.core.v1.Container {
    return container({
      name: "install",
      image: m.image,
      resources: m.resources,
      command: ["sh", "-c", primaryInitScript({ rootPasswordEnv: "MARIADB_ROOT_PASSWORD", dataDir: DATA_DIR, serverArgs: SERVER_ARGS })],
      env: [ROOT_ENV],
      volumeMounts: [
        { name: "data", mountPath: DATA_DIR },
        { name: "conf", mountPath: CONF_DIR },
        scratch("run", "/run/mysqld").mount,
        scratch("tmp", "/tmp").mount,
      ],
    });
  }

  /** Read replicas, beside the untouched primary: each clones the primary, then follows it by GTID. */
  private readReplicas(name: string, args: MySqlClusterArgs): void {
    const m = args.mysql;
    const ns = args.namespace;
    const init = replicaInitScript({
      primaryHost: serviceHost(NAMES.mysqlClient, ns),
      port: PORTS.mysql,
      replUserEnv: "REPL_USER",
      replPasswordEnv: "REPL_PASSWORD",
      rootPasswordEnv: "MARIADB_ROOT_PASSWORD",
      dataDir: DATA_DIR,
      serverArgs: SERVER_ARGS,
    });
    const cloneInit = container({
      name: "clone",
      image: m.image,
      resources: m.resources,
      command: ["sh", "-c", init],
      env: [ROOT_ENV, ...REPL_ENV],
      volumeMounts: [
        { name: "data", mountPath: "/var/lib/mysql" },
        { name: "conf", mountPath: "/etc/mysql/conf.d" },
        scratch("run", "/run/mysqld").mount,
        scratch("tmp", "/tmp").mount,
      ],
    });
    this.serverSet(args, {
      pulumiName: `${name}-replica`,
      role: "replica",
      k8sName: NAMES.mysqlReplica,
      serviceName: NAMES.mysqlRead,
      replicas: m.readReplicas,
      idBase: REPLICA_ID_BASE,
      cnf: myCnf(m, { kind: "replica" }, { include: SERVER_ID_CNF }),
      extraInit: [cloneInit],
      guard: "retained",
    });
    statefulSetServices(this, {
      governing: { pulumiName: `${name}-read`, name: NAMES.mysqlRead },
      client: { pulumiName: `${name}-read-client`, name: NAMES.mysqlReadClient },
      namespace: ns,
      labels: labels(NAMES.mysqlReplica, "database", "data"),
      selectName: NAMES.mysqlReplica,
      port: MYSQL_PORT,
    });
    if (m.readReplicas > 1) {
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-replica-pdb`,
        {
          metadata: { name: NAMES.mysqlReplica, namespace: ns, labels: labels(NAMES.mysqlReplica, "database", "data") },
          spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(NAMES.mysqlReplica) } },
        },
        { parent: this },
      );
    }
  }

  /** A MariaDB StatefulSet: server_id from the ordinal, the cnf from the spec, its own volume. */
  private serverSet(args: MySqlClusterArgs, set: ServerSet): k8s.apps.v1.StatefulSet {
    const m = args.mysql;
    const ns = args.namespace;
    const lbl = labels(set.k8sName, "database", "data");
    const cnfName = `${set.k8sName}-config`;
    new k8s.core.v1.ConfigMap(
      `${set.pulumiName}-config`,
      { metadata: { name: cnfName, namespace: ns, labels: lbl }, data: { "stagecraft.cnf": set.cnf } },
      { parent: this },
    );
    const conf = scratch("conf", CONF_DIR, "1Mi");
    const run = scratch("run", "/run/mysqld", "1Mi");
    const tmp = scratch("tmp", "/tmp", "1Gi");
    const probe = mariadbProbes({ socket: SOCKET, rootPasswordEnv: "MARIADB_ROOT_PASSWORD" });
    return new k8s.apps.v1.StatefulSet(
      `${set.pulumiName}-statefulset`,
      {
        metadata: { name: set.k8sName, namespace: ns, labels: lbl },
        spec: {
          ...statefulSetBasics(set.k8sName, set.serviceName, m.storage),
          replicas: set.replicas,
          template: {
            metadata: { labels: lbl, annotations: configHash(set.cnf) },
            spec: {
              serviceAccountName: NAMES.mysql,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurity(MYSQL_UID),
              topologySpreadConstraints: set.replicas > 1 ? spread(selectorLabels(set.k8sName)) : [],
              ...args.placement,
              // 1. server_id (and read_only on replicas) into conf.d; 2. the spec's cnf beside it.
              initContainers: [
                container({
                  name: "config",
                  image: m.image,
                  resources: { cpu: "50m", memory: "32Mi", ephemeralStorage: "16Mi" },
                  command: [
                    "sh",
                    "-c",
                    `${serverIdScript(set.idBase, { readOnly: set.role === "replica" })}\ncp /config/stagecraft.cnf ${DEFAULTS_FILE}\n`,
                  ],
                  env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
                  volumeMounts: [conf.mount, { name: "config", mountPath: "/config", readOnly: true }],
                }),
                ...set.extraInit,
              ],
              containers: [
                container({
                  name: "mariadb",
                  image: m.image,
                  resources: m.resources,
                  command: mariadbdCommand({ defaultsFile: DEFAULTS_FILE, dataDir: DATA_DIR, socket: SOCKET, port: PORTS.mysql }),
                  ports: [{ name: "mysql", containerPort: PORTS.mysql }],
                  env: [ROOT_ENV],
                  volumeMounts: [{ name: "data", mountPath: DATA_DIR }, conf.mount, run.mount, tmp.mount],
                  // Readiness: root's query answers; liveness: the server answers a ping at all.
                  readinessProbe: { exec: { command: probe.readiness }, periodSeconds: 10, timeoutSeconds: 5 },
                  livenessProbe: {
                    exec: { command: probe.liveness },
                    initialDelaySeconds: 60,
                    periodSeconds: 20,
                    timeoutSeconds: 5,
                    failureThreshold: 6,
                  },
                }),
              ],
              volumes: [conf.volume, run.volume, tmp.volume, { name: "config", configMap: { name: cnfName } }],
              terminationGracePeriodSeconds: 120,
            },
          },
        },
      },
      { ...dataOptions(this, set.guard), dependsOn: [this.account] },
    );
  }
}
