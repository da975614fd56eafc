import * as path from "path";
import { DEBIAN_UWSGI_PLUGINS, uwsgiDrainSeconds, uwsgiIni, type UwsgiIniInput } from "../../../../components/app/uwsgiIni";
import { validateStack } from "../../../../validate/validateStack";
import type { ServiceSpec, Spec } from "../../../../spec/schema";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

function stage(name: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${name}.yaml`));
  return validateStack(stack, raw).spec;
}

/** The ini as ordered [key, value] pairs, comments and blank lines dropped; the section header must come first. */
function parseIni(text: string): [string, string][] {
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith(";"));
  expect(lines[0]).toBe("[uwsgi]");
  return lines.slice(1).map((l) => {
    const m = /^([a-z0-9-]+) = (.*)$/.exec(l);
    if (!m) throw new Error(`not a 'key = value' line: ${l}`);
    return [m[1], m[2]];
  });
}
const asMap = (pairs: [string, string][]) => {
  const keys = pairs.map(([k]) => k);
  expect(new Set(keys).size).toBe(keys.length); // no key twice
  return new Map(pairs);
};

const web = stage("mvc").services.find((s) => s.name === "web") as ServiceSpec;
const mvcInput: UwsgiIniInput = { service: web, httpPort: 8000, module: "app.wsgi:application" };

describe("uwsgiIni: stage mvc web", () => {
  const ini = asMap(parseIni(uwsgiIni(mvcInput)));

  test.each([
    ["strict", "true"],
    ["http-socket", ":8000"],
    ["module", "app.wsgi:application"],
    ["master", "true"],
    ["processes", "4"],
    ["gevent", "100"],
    ["gevent-early-monkey-patch", "true"],
    ["harakiri", "30"],
    ["max-requests", "5000"],
    ["listen", "128"],
    ["buffer-size", "32768"],
    ["need-app", "true"],
    ["die-on-term", "true"],
    ["vacuum", "true"],
    ["lazy-apps", "true"],
    ["single-interpreter", "true"],
    ["hook-master-start", "unix_signal:15 gracefully_kill_them_all"],
    ["worker-reload-mercy", "35"],
  ])("%s = %s", (key, value) => {
    expect(ini.get(key)).toBe(value);
  });

  test("loads no plugin unless asked (a pip-built uwsgi has python and gevent built in)", () => {
    expect(ini.has("plugins")).toBe(false);
  });
});

describe("uwsgiIni: values follow the spec", () => {
  test.each([
    [{ processes: 1, asyncCores: 1, harakiri: 5, maxRequests: 1, listen: 16, bufferSize: 4096 }],
    [{ processes: 64, asyncCores: 10000, harakiri: 3600, maxRequests: 100000, listen: 4096, bufferSize: 65535 }],
  ])("%j", (uwsgi) => {
    const ini = asMap(parseIni(uwsgiIni({ ...mvcInput, service: { ...web, uwsgi }, httpPort: 9000 })));
    expect(ini.get("processes")).toBe(String(uwsgi.processes));
    expect(ini.get("gevent")).toBe(String(uwsgi.asyncCores));
    expect(ini.get("harakiri")).toBe(String(uwsgi.harakiri));
    expect(ini.get("max-requests")).toBe(String(uwsgi.maxRequests));
    expect(ini.get("listen")).toBe(String(uwsgi.listen));
    expect(ini.get("buffer-size")).toBe(String(uwsgi.bufferSize));
    expect(ini.get("worker-reload-mercy")).toBe(String(uwsgiDrainSeconds(uwsgi)));
    expect(ini.get("http-socket")).toBe(":9000");
  });

  test("Debian plugins come right after strict, before any option they define", () => {
    const pairs = parseIni(uwsgiIni({ ...mvcInput, plugins: DEBIAN_UWSGI_PLUGINS }));
    expect(pairs[1]).toEqual(["plugins", "python3,gevent_python3"]);
    expect(pairs.findIndex(([k]) => k === "plugins")).toBeLessThan(pairs.findIndex(([k]) => k.startsWith("gevent")));
  });

  test("bindAddress narrows the socket", () => {
    expect(asMap(parseIni(uwsgiIni({ ...mvcInput, bindAddress: "127.0.0.1" }))).get("http-socket")).toBe("127.0.0.1:8000");
  });

  test("drain time covers a request that started just before SIGTERM", () => {
    expect(uwsgiDrainSeconds({ ...(web.uwsgi as NonNullable<ServiceSpec["uwsgi"]>), harakiri: 30 })).toBeGreaterThan(30);
  });
});

describe("uwsgiIni: refuses", () => {
  test.each<[string, Partial<UwsgiIniInput>, RegExp]>([
    ["an rpc service", { service: { ...web, kind: "rpc" } }, /is a rpc service; only web services run under uWSGI/],
    ["a web service without uwsgi", { service: { ...web, uwsgi: undefined } }, /has no uwsgi settings/],
    ["a module with a space", { module: "app.wsgi application" }, /module 'app.wsgi application'/],
    ["a plugin with a comma", { plugins: ["python3,evil"] }, /plugin 'python3,evil'/],
    ["a port out of range", { httpPort: 0 }, /httpPort 0 is not a TCP port/],
  ])("%s", (_what, over, message) => {
    expect(() => uwsgiIni({ ...mvcInput, ...over })).toThrow(message);
  });
});
