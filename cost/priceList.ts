/**
 * The price list the cost model reads: `prices.json`, the one file that holds prices, with their
 * date and source. Checked on load so a hand edit with a typo fails here, not as a NaN in a report.
 */
import { z } from "zod";
import raw from "./prices.json";

const money = z.number().nonnegative();

export const InstanceSpec = z
  .object({
    vcpu: z.number().int().positive(),
    memoryGiB: z.number().positive(),
    /** Pods the VPC CNI can address on one node (ENIs × (IPs per ENI − 1) + 2). */
    maxPods: z.number().int().positive(),
    perHour: money,
  })
  .strict();

export const Prices = z
  .object({
    currency: z.literal("USD"),
    region: z.string(),
    snapshotDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    source: z.string().min(1),
    note: z.string(),
    hoursPerMonth: z.number().positive(),
    eksControlPlanePerHour: money,
    ebsGp3PerGiBMonth: money,
    nlbPerHour: money,
    nlbLcuPerHour: money,
    assumedNlbLcusPerLoadBalancer: z.number().nonnegative(),
    nodeRootVolumeGiB: z.number().nonnegative(),
    instances: z.record(InstanceSpec),
  })
  .strict();

export type InstanceSpec = z.infer<typeof InstanceSpec>;
export type Prices = z.infer<typeof Prices>;

export const PRICES: Prices = Prices.parse(raw);

/** The instance's sizes and price, or an error naming the types the price list knows. */
export function instanceSpec(instanceType: string, prices: Prices = PRICES): InstanceSpec {
  const found = prices.instances[instanceType];
  if (!found)
    throw new Error(
      `instance type '${instanceType}' is not in cost/prices.json; known: ${Object.keys(prices.instances).join(", ")}. ` +
        "Add it there with its vCPU, memory, max pods and hourly price.",
    );
  return found;
}
