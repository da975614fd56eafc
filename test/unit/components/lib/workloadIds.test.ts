import { FIRST_UNMAPPED_ID, workloadId, workloadIds, type ServerKind } from "../../../../components/lib/workloadIds";
import { podSecurity } from "../../../../components/lib/pod";

describe("workloadIds", () => {
  const all = Object.entries(workloadIds()) as [ServerKind, number][];

  it("gives every server kind an id no Debian host hands out (>= 10000)", () => {
    expect(all.length).toBeGreaterThanOrEqual(7);
    for (const [kind, id] of all) {
      expect(Number.isInteger(id)).toBe(true);
      expect({ kind, ok: id >= FIRST_UNMAPPED_ID }).toEqual({ kind, ok: true });
    }
  });

  it("gives each server its own id, so one server's files never belong to another's uid", () => {
    const ids = all.map(([, id]) => id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps the backend's image contract (backend/Dockerfile: USER 10001:10001)", () => {
    expect(workloadId("app")).toBe(10001);
  });

  it("agrees with the uid each project image gives its server user", () => {
    // images/<name>/Dockerfile creates the user with this id: `id` in the pod then names it.
    const fs = jest.requireActual<typeof import("fs")>("fs");
    const path = jest.requireActual<typeof import("path")>("path");
    const root = path.join(__dirname, "../../../..");
    const cases: [string, ServerKind][] = [
      ["images/mariadb/Dockerfile", "mysql"],
      ["images/redis/Dockerfile", "redis"],
      ["images/nginx-nchan/Dockerfile", "nginx"],
      ["backend/Dockerfile", "app"],
    ];
    for (const [file, kind] of cases) {
      const text = fs.readFileSync(path.join(root, file), "utf8");
      const uids = [...text.matchAll(/--uid (\d+)|^USER (\d+)/gm)].map((m) => Number(m[1] ?? m[2]));
      expect({ file, uids: [...new Set(uids)] }).toEqual({ file, uids: [workloadId(kind)] });
    }
  });

  it("rejects a kind it does not know", () => {
    expect(() => workloadId("postgres" as ServerKind)).toThrow(/no id for server kind 'postgres'/);
  });
});

describe("podSecurity", () => {
  it("runs the pod as uid:gid = id, its volumes in group id, re-grouped only when the root does not match", () => {
    expect(podSecurity(workloadId("mysql"))).toEqual({
      runAsNonRoot: true,
      runAsUser: 10002,
      runAsGroup: 10002,
      fsGroup: 10002,
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it.each([0, 101, 999, 9999, 10000.5])("refuses uid %p (could be a user of the node)", (uid) => {
    expect(() => podSecurity(uid)).toThrow(/not a whole number >= 10000.*Fix: take it from workloadId/);
  });
});
