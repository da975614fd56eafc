/** Which Services `pulumi up` waits for: in-cluster ones skip the provider's Endpoints wait, LoadBalancers wait for their address only. */
import { AWAIT_LB_ADDRESS, SKIP_AWAIT, withoutServiceAwait } from "../../../../components/platform/awaits";

describe("withoutServiceAwait", () => {
  test.each([undefined, "ClusterIP", "NodePort"])("a %s Service skips the await, its other annotations kept", (type) => {
    expect(withoutServiceAwait({ name: "mysql", annotations: { a: "b" } }, type)).toEqual({
      name: "mysql",
      annotations: { a: "b", ...SKIP_AWAIT },
    });
  });

  test("a LoadBalancer is awaited until its status lists an ingress: the cloud assigned an address", () => {
    expect(withoutServiceAwait({ name: "nginx", annotations: { lb: "nlb" } }, "LoadBalancer")).toEqual({
      name: "nginx",
      annotations: { lb: "nlb", "pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0]}" },
    });
    expect(AWAIT_LB_ADDRESS).not.toHaveProperty(Object.keys(SKIP_AWAIT)[0]);
  });

  test("does not modify its input", () => {
    const m = { name: "redis", annotations: { a: "b" } };
    withoutServiceAwait(m, "ClusterIP");
    expect(m).toEqual({ name: "redis", annotations: { a: "b" } });
  });
});
