/** A stage's totals, summed from its workloads. */
import { stageModelOf } from "../../lib/stacks";

describe("stage totals", () => {
  test("mvc, counted from the workload inventory", () => {
    // nginx 2, web 3 (HPA 3–6), celery-default 2, beat 1, mysql 1, redis 1
    expect(stageModelOf("mvc").totals).toEqual({
      workloads: 6,
      podsAtRest: 10,
      podsAtPeak: 13,
      cpuMilliAtRest: 2 * 100 + 3 * 500 + 2 * 250 + 50 + 1000 + 250,
      cpuMilliAtPeak: 2 * 100 + 6 * 500 + 2 * 250 + 50 + 1000 + 250,
      memoryMiAtRest: 2 * 128 + 3 * 512 + 2 * 256 + 128 + 2048 + 512,
      memoryMiAtPeak: 2 * 128 + 6 * 512 + 2 * 256 + 128 + 2048 + 512,
      volumes: 2,
      volumeGiB: 50 + 10,
      loadBalancers: 1,
    });
  });

  test("micro: MySQL replicas and etcd members each get a volume", () => {
    // mysql 1×50 + mysql-replica 2×50 + redis 10 + etcd 3×5 = 175 GiB on 7 volumes
    expect(stageModelOf("micro").totals).toMatchObject({ volumes: 7, volumeGiB: 175, loadBalancers: 1 });
  });
});
