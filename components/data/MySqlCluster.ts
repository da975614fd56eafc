/**
 * MySQL (MariaDB) with GTID replication: the primary StatefulSet `mysql` (writes, Service `mysql`),
 * and, when the spec asks, read replicas as their own StatefulSet `mysql-replica` beside it
 * (reads, Service `mysql-read`). Adding replicas never touches the primary: a new replica clones the
 * primary in its init container, then follows it by GTID. A bootstrap Job keeps the replication
 * user and each service's schema and user in place (idempotent), with passwords from Secrets.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, mysqlUserSecret, NAMES, PASSWORD_KEY, PORTS, SECRETS, selectorLabels, serviceHost } from "../../model/names";
import { container, contentHash, podSecurity, scratch, spread } from "../lib/pod";
import type { MySqlSpec, ServiceSpec } from "../../spec/schema";
import { myCnf } from "./myCnf";
import { mysqlPasswordEnv, primaryBootstrapSql, replicaInitScript, serverIdScript } from "./mysqlReplication";
import { dataOptions, statefulSetBasics } from "./stateful";

/** The mariadb image's mysql user. */
const MYSQL_UID = 999;
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

export class MySqlCluster extends pulumi.ComponentResource {
  /** Where writes go (the primary). */
  readonly writeHost: string;
  /** Where reads may go (the replicas, or the primary when there are none). */
  readonly readHost: string;
  readonly port: number;

  constructor(name: string, args: MySqlClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:data:MySqlCluster", name, {}, opts);
    const m = args.mysql;
    const ns = args.namespace;
    // The primary and its admin Secret exist in every stage; users and replicas come and go.
    const keep = dataOptions(this, true);
    const retain = dataOptions(this, false);
    const users = [...new Set(args.services.flatMap((s) => (s.mysql ? [s.mysql.user] : [])))].sort();

    const admin = new k8s.core.v1.Secret(
      `${name}-admin`,
      {
        metadata: { name: SECRETS.mysqlAdmin, namespace: ns, labels: labels(NAMES.mysql, "database", "data") },
        type: "Opaque",
        stringData: { [ROOT_KEY]: args.rootPassword, [REPL_KEY]: args.replicationPassword },
      },
      keep,
    );
    const userSecrets = users.map(
      (u) =>
        new k8s.core.v1.Secret(
          `${name}-user-${u}`,
          {
            metadata: { name: mysqlUserSecret(u), namespace: ns, labels: labels(NAMES.mysql, "database", "data") },
            type: "Opaque",
            stringData: { [PASSWORD_KEY]: args.userPassword(u) },
          },
          retain,
        ),
    );
    const adminEnv = (key: string, envName: string) => ({ name: envName, valueFrom: { secretKeyRef: { name: SECRETS.mysqlAdmin, key } } });
    const rootEnv = adminEnv(ROOT_KEY, "MARIADB_ROOT_PASSWORD");
    const replEnv = [{ name: "REPL_USER", value: REPL_USER }, adminEnv(REPL_KEY, "REPL_PASSWORD")];

    // The primary.
    const primary = this.statefulSet(
      name,
      "primary",
      NAMES.mysql,
      1,
      PRIMARY_ID_BASE,
      myCnf(m, { kind: "primary" }),
      [],
      [rootEnv],
      args,
      keep,
    );
    this.service(`${name}-service`, NAMES.mysql, NAMES.mysql, ns);

    // Schemas and users: re-applied whenever the set of users changes (a new Job, same name).
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
                  image: m.image,
                  resources: { cpu: "50m", memory: "64Mi", ephemeralStorage: "64Mi" },
                  command: [
                    "sh",
                    "-c",
                    // MYSQL_PWD keeps the password off the command line (and out of `ps`).
                    `set -e; sh -c "$BOOTSTRAP" | MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -h ${serviceHost(NAMES.mysql, ns)} -P ${PORTS.mysql} -uroot`,
                  ],
                  env: [
                    { name: "BOOTSTRAP", value: bootstrap },
                    rootEnv,
                    ...replEnv,
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
      { parent: this, deleteBeforeReplace: true, replaceOnChanges: ["metadata.annotations"], dependsOn: [primary, admin, ...userSecrets] },
    );

    // Read replicas, beside the untouched primary.
    if (m.readReplicas > 0) {
      const init = replicaInitScript({
        primaryHost: serviceHost(NAMES.mysql, ns),
        port: PORTS.mysql,
        replUserEnv: "REPL_USER",
        replPasswordEnv: "REPL_PASSWORD",
        rootPasswordEnv: "MARIADB_ROOT_PASSWORD",
        dataDir: "/var/lib/mysql",
      });
      const cloneInit = container({
        name: "clone",
        image: m.image,
        resources: m.resources,
        command: ["sh", "-c", init],
        env: [rootEnv, ...replEnv],
        volumeMounts: [
          { name: "data", mountPath: "/var/lib/mysql" },
          { name: "conf", mountPath: "/etc/mysql/conf.d" },
          scratch("run", "/run/mysqld").mount,
          tmp.mount,
        ],
      });
      this.statefulSet(
        `${name}-replica`,
        "replica",
        NAMES.mysqlReplica,
        m.readReplicas,
        REPLICA_ID_BASE,
        myCnf(m, { kind: "replica" }),
        [cloneInit],
        [rootEnv],
        args,
        retain,
      );
      this.service(`${name}-read`, NAMES.mysqlRead, NAMES.mysqlReplica, ns);
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
    new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: { name: NAMES.mysql, namespace: ns, labels: labels(NAMES.mysql, "database", "data") },
        automountServiceAccountToken: false,
      },
      { parent: this },
    );

    this.writeHost = serviceHost(NAMES.mysql, ns);
    this.readHost = serviceHost(m.readReplicas > 0 ? NAMES.mysqlRead : NAMES.mysql, ns);
    this.port = PORTS.mysql;
    this.registerOutputs({ writeHost: this.writeHost, readHost: this.readHost, port: this.port });
  }

  private service(pulumiName: string, k8sName: string, selectName: string, ns: string): void {
    new k8s.core.v1.Service(
      pulumiName,
      {
        metadata: { name: k8sName, namespace: ns, labels: labels(selectName, "database", "data") },
        spec: { selector: selectorLabels(selectName), ports: [{ name: "mysql", port: PORTS.mysql, targetPort: "mysql" }] },
      },
      { parent: this },
    );
  }

  /** A MariaDB StatefulSet: server_id from the ordinal, the cnf from the spec, its own volume. */
  private statefulSet(
    pulumiName: string,
    role: "primary" | "replica",
    k8sName: string,
    replicas: number,
    idBase: number,
    cnf: string,
    extraInit: k8s.types.input.core.v1.Container[],
    env: k8s.types.input.core.v1.EnvVar[],
    args: MySqlClusterArgs,
    opts: pulumi.CustomResourceOptions,
  ): k8s.apps.v1.StatefulSet {
    const m = args.mysql;
    const ns = args.namespace;
    const lbl = labels(k8sName, "database", "data");
    const cnfName = `${k8sName}-config`;
    new k8s.core.v1.ConfigMap(
      `${pulumiName}-config`,
      { metadata: { name: cnfName, namespace: ns, labels: lbl }, data: { "stagecraft.cnf": cnf } },
      { parent: this },
    );
    const conf = scratch("conf", "/etc/mysql/conf.d", "1Mi");
    const run = scratch("run", "/run/mysqld", "1Mi");
    const tmp = scratch("tmp", "/tmp", "1Gi");
    const health = (...checks: string[]) => ["sh", "-c", `healthcheck.sh ${checks.join(" ")}`];
    return new k8s.apps.v1.StatefulSet(
      `${pulumiName}-statefulset`,
      {
        metadata: { name: k8sName, namespace: ns, labels: lbl },
        spec: {
          ...statefulSetBasics(k8sName, role === "primary" ? NAMES.mysql : NAMES.mysqlRead, m.storage),
          replicas,
          template: {
            metadata: { labels: lbl, annotations: { "stagecraft.dev/config-hash": contentHash(cnf) } },
            spec: {
              serviceAccountName: NAMES.mysql,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurity(MYSQL_UID),
              topologySpreadConstraints: replicas > 1 ? spread(selectorLabels(k8sName)) : [],
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
                    `${serverIdScript(idBase, { readOnly: role === "replica" })}\ncp /config/stagecraft.cnf /etc/mysql/conf.d/stagecraft.cnf\n`,
                  ],
                  env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
                  volumeMounts: [conf.mount, { name: "config", mountPath: "/config", readOnly: true }],
                }),
                ...extraInit,
              ],
              containers: [
                container({
                  name: "mariadb",
                  image: m.image,
                  resources: m.resources,
                  ports: [{ name: "mysql", containerPort: PORTS.mysql }],
                  env,
                  volumeMounts: [{ name: "data", mountPath: "/var/lib/mysql" }, conf.mount, run.mount, tmp.mount],
                  // Readiness: InnoDB is up and answers; liveness: the server process accepts connections.
                  readinessProbe: { exec: { command: health("--connect", "--innodb_initialized") }, periodSeconds: 10, timeoutSeconds: 5 },
                  livenessProbe: { tcpSocket: { port: "mysql" }, initialDelaySeconds: 60, periodSeconds: 20, failureThreshold: 6 },
                }),
              ],
              volumes: [conf.volume, run.volume, tmp.volume, { name: "config", configMap: { name: cnfName } }],
              terminationGracePeriodSeconds: 120,
            },
          },
        },
      },
      opts,
    );
  }
}
