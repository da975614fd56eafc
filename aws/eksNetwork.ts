/**
 * The VPC's address plan and zone choice for an EKS target: pure functions, so the rules can reject
 * a CIDR before any resource exists and the component only creates what is computed here.
 */
import { EKS_UNSUPPORTED_ZONE_IDS } from "./eksSupport";

/** Prefix lengths a VPC may use here: /16 is AWS's largest; beyond /20 the per-zone subnets get too small for pod IPs. */
export const VPC_PREFIX = { largest: 16, smallest: 20 } as const;
/** Zones a plan can hold (private subnets take 6 of 8 equal blocks). */
export const MAX_ZONES = 6;

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefix: number;
}

/** Parses 'a.b.c.d/n'; undefined when it is not an IPv4 CIDR. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  return { base: octets.reduce((n, o) => n * 256 + o, 0), prefix };
}

export function formatCidr(c: Cidr): string {
  const o = [24, 16, 8, 0].map((shift) => Math.floor(c.base / 2 ** shift) % 256);
  return `${o.join(".")}/${c.prefix}`;
}

/** True when no bit below the prefix is set (AWS and every router read '10.40.1.0/16' as a typo). */
export function isNetworkAddress(c: Cidr): boolean {
  return c.base % 2 ** (32 - c.prefix) === 0;
}

/** The RFC 1918 ranges: a public range inside the VPC would shadow real internet addresses behind the NAT. */
const PRIVATE_RANGES: readonly Cidr[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((r) => parseCidr(r) as Cidr);

export function isPrivateRange(c: Cidr): boolean {
  return PRIVATE_RANGES.some((r) => c.prefix >= r.prefix && Math.floor(c.base / 2 ** (32 - r.prefix)) === r.base / 2 ** (32 - r.prefix));
}

export interface SubnetPlan {
  /** One per zone, in zone order: nodes and pods (the VPC CNI gives every pod a VPC address). */
  readonly private: readonly string[];
  /** One per zone, in zone order: NAT gateways and internet-facing NLBs only. */
  readonly public: readonly string[];
}

/**
 * Splits the VPC into eight equal blocks: blocks 0-5 are private subnets (one per zone, the large ones,
 * because every pod takes an address), block 7 is cut into eight public subnets, block 6 stays free for
 * growth. A zone's subnets never move when the zone count changes, so adding a zone is an addition.
 */
export function subnetPlan(vpcCidr: string, zones: number): SubnetPlan {
  const vpc = parseCidr(vpcCidr);
  if (!vpc || !isNetworkAddress(vpc)) throw new Error(`not a network CIDR: ${vpcCidr}`);
  if (vpc.prefix < VPC_PREFIX.largest || vpc.prefix > VPC_PREFIX.smallest)
    throw new Error(`VPC prefix /${vpc.prefix} is outside /${VPC_PREFIX.largest}../${VPC_PREFIX.smallest}`);
  if (!Number.isInteger(zones) || zones < 2 || zones > MAX_ZONES) throw new Error(`zones must be 2..${MAX_ZONES} (got ${zones})`);
  const block = 2 ** (32 - (vpc.prefix + 3));
  const small = 2 ** (32 - (vpc.prefix + 6));
  const indices = Array.from({ length: zones }, (_, i) => i);
  return {
    private: indices.map((i) => formatCidr({ base: vpc.base + i * block, prefix: vpc.prefix + 3 })),
    public: indices.map((i) => formatCidr({ base: vpc.base + 7 * block + i * small, prefix: vpc.prefix + 6 })),
  };
}

/**
 * The first `count` zones EKS accepts, in the region's order. Throws when the account has fewer,
 * since a cluster over fewer zones than the stack asked for is not what the stack asked for.
 */
export function pickZones(names: readonly string[], zoneIds: readonly string[], count: number, region: string): string[] {
  const usable = names.filter((_, i) => !EKS_UNSUPPORTED_ZONE_IDS.includes(zoneIds[i] ?? ""));
  if (usable.length < count)
    throw new Error(
      `region ${region} offers ${usable.length} availability zones EKS accepts (${usable.join(", ")}), ` +
        `but the target asks for ${count}: lower target.availabilityZones or choose another region`,
    );
  return usable.slice(0, count);
}

/**
 * Tags the AWS Load Balancer Controller reads to pick subnets: `elb` for internet-facing NLBs (public),
 * `internal-elb` for internal ones (private), and the cluster tag with `shared` so the subnets are
 * known to belong to this cluster without being owned (deleted) by it.
 */
export function subnetTags(clusterName: string, tier: "public" | "private"): Record<string, string> {
  return {
    [tier === "public" ? "kubernetes.io/role/elb" : "kubernetes.io/role/internal-elb"]: "1",
    [`kubernetes.io/cluster/${clusterName}`]: "shared",
  };
}
