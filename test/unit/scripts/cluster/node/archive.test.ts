import { archiveMeta, sha256 } from "../../../../../scripts/cluster/node/archive";

test("docker-archive metadata: config names the layers' diff IDs, the manifest names config, tag and layers", () => {
  const m = archiveMeta({ tag: "stagecraft.local/pause:3.10", entrypoint: ["/pause"] }, ["aa", "bb"]);
  const config = JSON.parse(m.configJson);
  expect(config).toMatchObject({
    architecture: "amd64",
    os: "linux",
    config: { Entrypoint: ["/pause"] },
    rootfs: { type: "layers", diff_ids: ["sha256:aa", "sha256:bb"] },
  });
  expect(m.configName).toBe(`${sha256(m.configJson)}.json`);
  expect(JSON.parse(m.manifestJson)).toEqual([
    { Config: m.configName, RepoTags: ["stagecraft.local/pause:3.10"], Layers: ["aa/layer.tar", "bb/layer.tar"] },
  ]);
});

test("the same layers give the same image ID (no timestamps of now)", () => {
  const a = archiveMeta({ tag: "x:1", cmd: ["bash"] }, ["aa"]);
  const b = archiveMeta({ tag: "x:1", cmd: ["bash"] }, ["aa"]);
  expect(a.configName).toBe(b.configName);
  expect(archiveMeta({ tag: "x:1", cmd: ["sh"] }, ["aa"]).configName).not.toBe(a.configName);
});
