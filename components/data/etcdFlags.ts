/**
 * etcd's command line for one member of a statically bootstrapped cluster. Pure.
 *
 * Static bootstrap: every member is told the whole initial cluster up front, so no discovery
 * service is needed and the StatefulSet's stable names (`etcd-0`, `etcd-1`, ...) are the identities.
 * The `--initial-*` flags only matter on the first start; a member that restarts with its data
 * directory ignores them and rejoins from its WAL.
 *
 * Two entry points share one flag builder:
 * - `etcdArgs`: concrete values for one ordinal (the real-server conformance test runs these);
 * - `etcdStatefulSetArgs`: one argument list for all pods of the StatefulSet, where the member's
 *   own name comes from `$(POD_NAME)` (Kubernetes expands it from the pod's env), because the
 *   etcd 3.5 image is distroless and has no shell to pick per-pod flags at run time.
 */

/** How one etcd process is tuned. Defaults are etcd's own for a low-latency LAN, stated explicitly. */
export interface EtcdTuning {
  /** Leader heartbeat in ms (etcd default 100): about the round trip between members. */
  readonly heartbeatMs?: number;
  /** Election timeout in ms (etcd default 1000): etcd requires at least 5x the heartbeat. */
  readonly electionMs?: number;
  /**
   * Backend size limit in bytes; past it etcd only serves reads and deletes (alarm NOSPACE).
   * Default 2 GiB, etcd's default; see etcdQuotaForStorage to size it from the volume.
   */
  readonly quotaBackendBytes?: number;
  /** Keep this much history (periodic compaction): the registry is live state, not a log. */
  readonly compactionRetention?: string;
  /** Raft entries between snapshots: fewer keeps memory low for a small registry. */
  readonly snapshotCount?: number;
}

export interface EtcdArgsInput {
  /** Cluster size. Odd, so a majority survives the loss of (members - 1) / 2. */
  readonly members: number;
  /** Which member this process is (0-based). */
  readonly ordinal: number;
  /** Member name of ordinal i, e.g. `etcd-<i>`. */
  readonly name: (i: number) => string;
  /** Peer URL other members reach member i on, e.g. `http://etcd-<i>.etcd.<ns>.svc.cluster.local:2380`. */
  readonly peerUrl: (i: number) => string;
  /** Client URL clients reach member i on. */
  readonly clientUrl: (i: number) => string;
  /** Where this member listens for peers, e.g. `http://0.0.0.0:2380`. */
  readonly listenPeer: string;
  /** Where this member listens for clients, e.g. `http://0.0.0.0:2379`. */
  readonly listenClient: string;
  readonly dataDir: string;
  /** Unique per cluster: keeps members of two clusters from joining each other by accident. */
  readonly clusterToken: string;
  /**
   * Optional separate listener for /metrics and /health, so probes and scrapers need no client
   * access (and never count against the client port's auth).
   */
  readonly listenMetrics?: string;
  readonly tuning?: EtcdTuning;
}

const DEFAULTS = {
  heartbeatMs: 100,
  electionMs: 1000,
  quotaBackendBytes: 2 * 1024 ** 3,
  compactionRetention: "1h",
  snapshotCount: 10000,
} as const;

/** etcd refuses a quota above 8 GiB without warning of degraded performance. */
const MAX_QUOTA = 8 * 1024 ** 3;
/** Member names go into `--initial-cluster name=url,...`: no separators, no spaces. */
const MEMBER_NAME = /^[A-Za-z0-9._-]+$/;
const URL_RE = /^https?:\/\/[^\s,=]+:\d+$/;

function fail(what: string, fix: string): never {
  throw new Error(`etcd flags: ${what}. Fix: ${fix}`);
}

function checkCount(members: number): void {
  if (!Number.isInteger(members) || members < 1 || members % 2 === 0)
    fail(`members must be a positive odd number (got ${members}): an even count adds no fault tolerance`, "use 1, 3 or 5 members");
}

function checkUrl(label: string, url: string): void {
  if (!URL_RE.test(url)) fail(`${label} '${url}' is not an http(s)://host:port URL`, `give ${label} as e.g. http://127.0.0.1:2380`);
}

function checkListen(label: string, urls: string): void {
  if (urls.length === 0) fail(`${label} is empty`, `give ${label} as e.g. http://0.0.0.0:2379`);
  for (const u of urls.split(",")) checkUrl(label, u);
}

interface Resolved {
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly quotaBackendBytes: number;
  readonly compactionRetention: string;
  readonly snapshotCount: number;
}

function resolveTuning(t: EtcdTuning = {}): Resolved {
  const r = { ...DEFAULTS, ...Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) } as Resolved;
  if (!Number.isInteger(r.heartbeatMs) || r.heartbeatMs < 10)
    fail(`heartbeatMs must be a whole number >= 10 (got ${r.heartbeatMs})`, "use 100");
  if (!Number.isInteger(r.electionMs) || r.electionMs < 5 * r.heartbeatMs)
    fail(
      `electionMs must be at least 5 x heartbeatMs (got ${r.electionMs} with heartbeat ${r.heartbeatMs}): etcd refuses to start otherwise`,
      `set electionMs to ${10 * r.heartbeatMs}`,
    );
  if (!Number.isInteger(r.quotaBackendBytes) || r.quotaBackendBytes < 64 * 1024 ** 2 || r.quotaBackendBytes > MAX_QUOTA)
    fail(`quotaBackendBytes must be between 64 MiB and 8 GiB (got ${r.quotaBackendBytes})`, "use etcdQuotaForStorage(storage)");
  if (!/^\d+[smh]?$/.test(r.compactionRetention))
    fail(`compactionRetention '${r.compactionRetention}' is not a duration such as '1h' or '30m'`, "use '1h'");
  if (!Number.isInteger(r.snapshotCount) || r.snapshotCount < 100) fail(`snapshotCount must be a whole number >= 100`, "use 10000");
  return r;
}

/** The flags every member gets, in a fixed order (the rendered pod spec must not churn). */
function buildArgs(
  self: { name: string; peerUrl: string; clientUrl: string },
  initialCluster: string,
  input: Pick<EtcdArgsInput, "listenPeer" | "listenClient" | "dataDir" | "clusterToken" | "listenMetrics">,
  t: Resolved,
): string[] {
  return [
    `--name=${self.name}`,
    `--data-dir=${input.dataDir}`,
    `--listen-peer-urls=${input.listenPeer}`,
    `--listen-client-urls=${input.listenClient}`,
    `--advertise-client-urls=${self.clientUrl}`,
    `--initial-advertise-peer-urls=${self.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-state=new`,
    `--initial-cluster-token=${input.clusterToken}`,
    `--heartbeat-interval=${t.heartbeatMs}`,
    `--election-timeout=${t.electionMs}`,
    // Periodic compaction drops old revisions of the churning registry keys; without it the
    // backend grows until the quota alarm stops all writes.
    `--auto-compaction-mode=periodic`,
    `--auto-compaction-retention=${t.compactionRetention}`,
    `--quota-backend-bytes=${t.quotaBackendBytes}`,
    `--snapshot-count=${t.snapshotCount}`,
    ...(input.listenMetrics ? [`--listen-metrics-urls=${input.listenMetrics}`] : []),
    // Structured logs on stderr: the kubelet collects them; zap is 3.5's default and valid in 3.4.
    `--logger=zap`,
    `--log-outputs=stderr`,
  ];
}

function checkCommon(input: Pick<EtcdArgsInput, "listenPeer" | "listenClient" | "dataDir" | "clusterToken" | "listenMetrics">): void {
  checkListen("listenPeer", input.listenPeer);
  checkListen("listenClient", input.listenClient);
  if (input.listenMetrics !== undefined) checkListen("listenMetrics", input.listenMetrics);
  if (!input.dataDir.startsWith("/")) fail(`dataDir '${input.dataDir}' must be an absolute path`, "mount the volume and pass its path");
  if (!/^[A-Za-z0-9._-]+$/.test(input.clusterToken))
    fail(`clusterToken '${input.clusterToken}' must be letters, digits, '.', '_' or '-'`, "use e.g. 'stagecraft-<namespace>-etcd'");
}

/** `name0=peer0,name1=peer1,...` after checking names and URLs are unique and well formed. */
function initialCluster(members: number, name: (i: number) => string, peerUrl: (i: number) => string): string {
  const names = new Set<string>();
  const peers = new Set<string>();
  const parts: string[] = [];
  for (let i = 0; i < members; i++) {
    const n = name(i);
    const p = peerUrl(i);
    if (!MEMBER_NAME.test(n)) fail(`member name '${n}' (ordinal ${i}) may not contain ',', '=' or spaces`, "use e.g. etcd-<i>");
    checkUrl(`peerUrl(${i})`, p);
    if (names.has(n)) fail(`member name '${n}' is used twice`, "derive names from the ordinal");
    if (peers.has(p)) fail(`peer URL '${p}' is used twice`, "give each member its own host or port");
    names.add(n);
    peers.add(p);
    parts.push(`${n}=${p}`);
  }
  return parts.join(",");
}

/** Flags for member `ordinal` of a statically bootstrapped cluster. */
export function etcdArgs(input: EtcdArgsInput): string[] {
  checkCount(input.members);
  if (!Number.isInteger(input.ordinal) || input.ordinal < 0 || input.ordinal >= input.members)
    fail(`ordinal must be in 0..${input.members - 1} (got ${input.ordinal})`, "pass the pod's ordinal");
  checkCommon(input);
  const t = resolveTuning(input.tuning);
  const cluster = initialCluster(input.members, input.name, input.peerUrl);
  checkUrl(`clientUrl(${input.ordinal})`, input.clientUrl(input.ordinal));
  const self = { name: input.name(input.ordinal), peerUrl: input.peerUrl(input.ordinal), clientUrl: input.clientUrl(input.ordinal) };
  return buildArgs(self, cluster, input, t);
}

export interface EtcdStatefulSetArgsInput {
  readonly members: number;
  /** StatefulSet name: pods are `<statefulSet>-<i>`. */
  readonly statefulSet: string;
  /** Headless Service that gives each pod a DNS name (`<pod>.<service>.<ns>.svc.cluster.local`). */
  readonly service: string;
  readonly namespace: string;
  readonly peerPort: number;
  readonly clientPort: number;
  /** Port for /metrics and /health on all interfaces; omitted: served on the client port only. */
  readonly metricsPort?: number;
  readonly dataDir: string;
  readonly clusterToken: string;
  /** The env var that holds the pod's name (from the downward API `metadata.name`). */
  readonly podNameEnv?: string;
  readonly tuning?: EtcdTuning;
}

/**
 * One argument list for every pod of the StatefulSet: the member's own name and URLs use
 * `$(POD_NAME)`, which the kubelet expands; the initial cluster lists all members concretely.
 * With POD_NAME = `<statefulSet>-<i>` the result equals etcdArgs for ordinal i.
 * Needs the headless Service to publish not-ready addresses: peers must resolve each other
 * before any of them is ready, or the first election never happens.
 */
export function etcdStatefulSetArgs(input: EtcdStatefulSetArgsInput): string[] {
  checkCount(input.members);
  const env = input.podNameEnv ?? "POD_NAME";
  if (!/^[A-Z_][A-Z0-9_]*$/.test(env)) fail(`podNameEnv '${env}' is not an environment variable name`, "use POD_NAME");
  const domain = `${input.service}.${input.namespace}.svc.cluster.local`;
  const host = (pod: string) => `${pod}.${domain}`;
  const listenMetrics = input.metricsPort === undefined ? undefined : `http://0.0.0.0:${input.metricsPort}`;
  const common = {
    listenPeer: `http://0.0.0.0:${input.peerPort}`,
    listenClient: `http://0.0.0.0:${input.clientPort}`,
    dataDir: input.dataDir,
    clusterToken: input.clusterToken,
    listenMetrics,
  };
  checkCommon(common);
  const t = resolveTuning(input.tuning);
  const pod = (i: number) => `${input.statefulSet}-${i}`;
  const cluster = initialCluster(input.members, pod, (i) => `http://${host(pod(i))}:${input.peerPort}`);
  const self = `$(${env})`;
  return buildArgs(
    { name: self, peerUrl: `http://${host(self)}:${input.peerPort}`, clientUrl: `http://${host(self)}:${input.clientPort}` },
    cluster,
    common,
    t,
  );
}

/** Members that must stay up for the cluster to accept writes: a strict majority. */
export function etcdQuorum(members: number): number {
  checkCount(members);
  return Math.floor(members / 2) + 1;
}

/** The PodDisruptionBudget's minAvailable: a voluntary eviction never takes the cluster below quorum. */
export function etcdPdbMinAvailable(members: number): number {
  return etcdQuorum(members);
}

/**
 * A backend quota that fits the volume: half of it (defragmentation and snapshots need room
 * beside the live db file), at most etcd's 8 GiB ceiling.
 */
export function etcdQuotaForStorage(storage: string): number {
  const m = /^(\d+)(Mi|Gi|Ti)$/.exec(storage);
  if (!m) fail(`storage '${storage}' is not a size such as '5Gi'`, "use the spec's storage field");
  const bytes = Number(m[1]) * { Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 }[m[2] as "Mi" | "Gi" | "Ti"];
  const half = Math.floor(bytes / 2);
  if (half < 64 * 1024 ** 2) fail(`storage '${storage}' is too small for etcd (needs at least 128Mi)`, "give etcd at least 1Gi");
  return Math.min(half, MAX_QUOTA);
}
