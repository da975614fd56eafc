import { stageCost } from "../../../cost/stageCost";
import { PRICES, Prices, type Prices as PriceList } from "../../../cost/priceList";
import { stageModelOf } from "../../lib/stacks";

describe("the price list", () => {
  test("is dated, sourced from AWS's public pages, for one region, and says it is a snapshot", () => {
    expect(PRICES.snapshotDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(PRICES.source).toMatch(/aws\.amazon\.com\/ec2\/pricing\/on-demand/);
    expect(PRICES.source).toMatch(/aws\.amazon\.com\/eks\/pricing/);
    expect(PRICES.region).toBe("us-east-1");
    expect(PRICES.note).toMatch(/snapshot/);
    expect(PRICES.instances["m6i.large"]).toEqual({ vcpu: 2, memoryGiB: 8, maxPods: 29, perHour: 0.096 });
  });

  test("a typo in the file fails on load, not as NaN in a report", () => {
    expect(Prices.safeParse({ ...PRICES, ebsGp3PerGiBMonth: "0.08" }).success).toBe(false);
    expect(Prices.safeParse({ ...PRICES, extra: 1 }).success).toBe(false);
  });
});

describe("monthly cost on EKS", () => {
  test("mvc on m6i.large, hand-checked", () => {
    // nodes: 3 (see binpack.test.ts) × $0.096/h × 730 h        = $210.24
    // EBS:   (50 + 10 GiB data + 3 × 20 GiB root) × $0.08       = 120 × 0.08 = $9.60
    // NLB:   1 × ($0.0225 + 1 LCU × $0.006)/h × 730 h          = $20.805 -> $20.81
    // EKS:   $0.10/h × 730 h                                    = $73.00
    // total: 210.24 + 9.60 + 20.805 + 73.00                      = $313.645 -> $313.65
    // peak:  4 nodes: 280.32 + (60 + 80) × 0.08 = 11.20 + 20.805 + 73 = $385.325 -> $385.33
    expect(stageCost(stageModelOf("mvc"), "m6i.large")).toEqual({
      stage: "mvc",
      instanceType: "m6i.large",
      nodes: 3,
      nodesAtPeak: 4,
      ebsGiB: 120,
      loadBalancers: 1,
      nodesMonthly: 210.24,
      ebsMonthly: 9.6,
      loadBalancersMonthly: 20.81,
      controlPlaneMonthly: 73,
      totalMonthly: 313.65,
      totalMonthlyAtPeak: 385.33,
    });
  });

  test("every line follows its price: a synthetic price list with round numbers", () => {
    const prices: PriceList = {
      ...PRICES,
      hoursPerMonth: 100,
      eksControlPlanePerHour: 1,
      ebsGp3PerGiBMonth: 0.5,
      nlbPerHour: 0.2,
      nlbLcuPerHour: 0.1,
      assumedNlbLcusPerLoadBalancer: 2,
      nodeRootVolumeGiB: 10,
      instances: { "m6i.large": { ...PRICES.instances["m6i.large"], perHour: 2 } },
    };
    // micro at rest on m6i.large: 6 nodes (8500m + system pods on 1775m nodes)
    // nodes 6 × 2 × 100 = 1200; EBS (175 + 6 × 10) × 0.5 = 117.5; NLB 1 × (0.2 + 2 × 0.1) × 100 = 40; EKS 100
    const c = stageCost(stageModelOf("micro"), "m6i.large", prices);
    expect(c).toMatchObject({
      nodes: 6,
      nodesMonthly: 1200,
      ebsGiB: 235,
      ebsMonthly: 117.5,
      loadBalancersMonthly: 40,
      controlPlaneMonthly: 100,
    });
    expect(c.totalMonthly).toBe(1457.5);
  });

  test("a larger instance type means fewer nodes", () => {
    const split = stageModelOf("split");
    expect(stageCost(split, "m6i.xlarge").nodes).toBeLessThan(stageCost(split, "m6i.large").nodes);
  });
});
