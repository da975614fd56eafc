/**
 * etcd, the RPC services' registry: an odd-sized StatefulSet bootstrapped statically (every member
 * is listed in --initial-cluster), a headless Service that publishes not-ready addresses so peers
 * find each other before the first election, a PDB that never lets an eviction break quorum, and
 * a Job that applies auth: each service may write only its own registry prefix.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { etcdUserSecret, labels, NAMES, PASSWORD_KEY, PORTS, SECRETS, selectorLabels, serviceHost } from "../../model/names";
import { container, NODE_TAINTS_POLICY, contentHash, podSecurity, scratch } from "../lib/pod";
import { workloadId } from "../lib/workloadIds";
import type { EtcdSpec, ServiceSpec } from "../../spec/schema";
import { etcdAuthPlan, etcdAuthScript, etcdPasswordEnv, type EtcdAuthPlan } from "./etcdAuth";
import { etcdPdbMinAvailable, etcdStatefulSetArgs } from "./etcdFlags";
import { dataOptions, statefulSetBasics } from "./stateful";

/** etcd's images run as root by default; it needs no privilege, so it runs as an arbitrary uid. */
const ETCD_UID = workloadId("etcd");
const DATA_DIR = "/var/lib/etcd/data";
const LABELS = labels(NAMES.etcd, "registry", "data");

export interface EtcdClusterArgs {
  readonly etcd: EtcdSpec;
  readonly namespace: string;
  /** Every service of the stage: the auth plan grants prefixes from the call graph. */
  readonly services: readonly ServiceSpec[];
  readonly rootPassword: pulumi.Output<string>;
  /** Each registry user's password, by user (service) name. */
  readonly userPasswords: (user: string) => pulumi.Output<string>;
  readonly placement?: Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations">;
}

export class EtcdCluster extends pulumi.ComponentResource {
  /** Client URLs of every member, for the services' registry clients. */
  readonly endpoints: string[];
  /** Registry users (services) that got a Secret `etcd-user-<name>`. */
  readonly users: string[];

  constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:data:EtcdCluster", name, {}, opts);
    const e = args.etcd;
    const ns = args.namespace;
    const member = (i: number) => `http://${NAMES.etcd}-${i}.${serviceHost(NAMES.etcd, ns)}:${PORTS.etcdClient}`;
    this.endpoints = Array.from({ length: e.members }, (_, i) => member(i));

    this.services(name, ns);
    const sts = this.statefulSet(name, args);
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: { name: NAMES.etcd, namespace: ns, labels: LABELS },
        spec: { minAvailable: etcdPdbMinAvailable(e.members), selector: { matchLabels: selectorLabels(NAMES.etcd) } },
      },
      { parent: this },
    );

    // The plan is checked in every stage with etcd; users and the Job exist only where auth is on.
    const plan = etcdAuthPlan(args.services);
    this.users = e.auth ? plan.users.map((u) => u.name) : [];
    if (e.auth) this.authJob(name, args, plan, sts);
    this.registerOutputs({ endpoints: this.endpoints, users: this.users });
  }

  /** The headless peer Service (not-ready addresses published for the bootstrap), the client Service, the ServiceAccount. */
  private services(name: string, ns: string): void {
    new k8s.core.v1.Service(
      `${name}-peers`,
      {
        metadata: { name: NAMES.etcd, namespace: ns, labels: LABELS },
        spec: {
          clusterIP: "None",
          publishNotReadyAddresses: true,
          selector: selectorLabels(NAMES.etcd),
          ports: [
            { name: "client", port: PORTS.etcdClient, targetPort: "client" },
            { name: "peer", port: PORTS.etcdPeer, targetPort: "peer" },
          ],
        },
      },
      { parent: this },
    );
    new k8s.core.v1.Service(
      `${name}-client`,
      {
        metadata: { name: NAMES.etcdClient, namespace: ns, labels: LABELS },
        spec: { selector: selectorLabels(NAMES.etcd), ports: [{ name: "client", port: PORTS.etcdClient, targetPort: "client" }] },
      },
      { parent: this },
    );
    new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: { name: NAMES.etcd, namespace: ns, labels: LABELS }, automountServiceAccountToken: false },
      { parent: this },
    );
  }

  /** The members, bootstrapped statically. Only some stages have a registry: retained if dropped, never protected. */
  private statefulSet(name: string, args: EtcdClusterArgs): k8s.apps.v1.StatefulSet {
    const e = args.etcd;
    const ns = args.namespace;
    const tmp = scratch("tmp", "/tmp");
    const args0 = etcdStatefulSetArgs({
      members: e.members,
      statefulSet: NAMES.etcd,
      service: NAMES.etcd,
      namespace: ns,
      peerPort: PORTS.etcdPeer,
      clientPort: PORTS.etcdClient,
      dataDir: DATA_DIR,
      clusterToken: `stagecraft-${ns}`,
    });
    return new k8s.apps.v1.StatefulSet(
      `${name}-statefulset`,
      {
        metadata: { name: NAMES.etcd, namespace: ns, labels: LABELS },
        spec: {
          // Parallel: a static bootstrap needs every member up at once to elect a leader.
          ...statefulSetBasics(NAMES.etcd, NAMES.etcd, e.storage, "Parallel"),
          replicas: e.members,
          template: {
            metadata: { labels: LABELS },
            spec: {
              serviceAccountName: NAMES.etcd,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurity(ETCD_UID),
              ...args.placement,
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: "kubernetes.io/hostname",
                  whenUnsatisfiable: "DoNotSchedule",
                  nodeTaintsPolicy: NODE_TAINTS_POLICY,
                  labelSelector: { matchLabels: selectorLabels(NAMES.etcd) },
                },
              ],
              containers: [
                container({
                  name: "etcd",
                  image: e.image,
                  resources: e.resources,
                  command: ["etcd"],
                  args: args0,
                  env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
                  ports: [
                    { name: "client", containerPort: PORTS.etcdClient },
                    { name: "peer", containerPort: PORTS.etcdPeer },
                  ],
                  volumeMounts: [{ name: "data", mountPath: "/var/lib/etcd" }, tmp.mount],
                  // Readiness: the member serves (has a leader). Liveness: the port is open.
                  readinessProbe: { httpGet: { path: "/health", port: "client" }, periodSeconds: 5, timeoutSeconds: 3 },
                  livenessProbe: { tcpSocket: { port: "client" }, initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 6 },
                }),
              ],
              volumes: [tmp.volume],
            },
          },
        },
      },
      dataOptions(this, "retained"),
    );
  }

  /** Root and per-service user Secrets, and the Job that applies users, roles and `auth enable`. */
  private authJob(name: string, args: EtcdClusterArgs, plan: EtcdAuthPlan, sts: k8s.apps.v1.StatefulSet): void {
    const e = args.etcd;
    const ns = args.namespace;
    const tmp = scratch("tmp", "/tmp");
    const root = new k8s.core.v1.Secret(
      `${name}-root`,
      {
        metadata: { name: SECRETS.etcdRoot, namespace: ns, labels: LABELS },
        type: "Opaque",
        stringData: { [PASSWORD_KEY]: args.rootPassword },
      },
      dataOptions(this, "retained"),
    );
    const userSecrets = plan.users.map(
      (u) =>
        new k8s.core.v1.Secret(
          `${name}-user-${u.name}`,
          {
            metadata: { name: etcdUserSecret(u.name), namespace: ns, labels: LABELS },
            type: "Opaque",
            stringData: { [PASSWORD_KEY]: args.userPasswords(u.name) },
          },
          dataOptions(this, "retained"),
        ),
    );
    const script = etcdAuthScript(plan, { endpoints: this.endpoints, rootPasswordEnv: "ETCD_ROOT_PASSWORD", waitSeconds: 300 });
    const jobLabels = labels(NAMES.etcdAuth, "registry", "data");
    new k8s.batch.v1.Job(
      `${name}-auth`,
      {
        metadata: {
          name: NAMES.etcdAuth,
          namespace: ns,
          labels: jobLabels,
          annotations: { "stagecraft.dev/plan-hash": contentHash(script) },
        },
        spec: {
          backoffLimit: 6,
          template: {
            metadata: { labels: jobLabels },
            spec: {
              restartPolicy: "OnFailure",
              serviceAccountName: NAMES.etcd,
              automountServiceAccountToken: false,
              securityContext: podSecurity(ETCD_UID),
              containers: [
                container({
                  name: "apply-auth",
                  image: e.toolsImage,
                  resources: { cpu: "50m", memory: "64Mi", ephemeralStorage: "64Mi" },
                  command: ["sh", "-c", script],
                  env: [
                    { name: "ETCD_ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: SECRETS.etcdRoot, key: PASSWORD_KEY } } },
                    ...plan.users.map((u) => ({
                      name: etcdPasswordEnv(u.name),
                      valueFrom: { secretKeyRef: { name: etcdUserSecret(u.name), key: PASSWORD_KEY } },
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
      // A changed plan means a new Job (its template is immutable), deleted first: same name.
      { parent: this, deleteBeforeReplace: true, replaceOnChanges: ["metadata.annotations"], dependsOn: [sts, root, ...userSecrets] },
    );
  }
}
