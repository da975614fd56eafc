import { parse } from "yaml";
import { portableYaml, readsAsNonString } from "../../cli/portableYaml";

describe("portableYaml", () => {
  const tricky = {
    KONG_DATABASE: "off",
    gzip: "on",
    yes: "y",
    mode: "0644",
    octal12: "0o644",
    window: "1:30",
    size: "1_000",
    day: "2026-11-30",
    nil: "~",
    empty: "",
  };

  test("strings either YAML version would misread are quoted; both versions read them back as the same strings", () => {
    const text = portableYaml({ data: tricky, replicas: 3, enabled: true });
    expect(parse(text)).toEqual({ data: tricky, replicas: 3, enabled: true });
    expect(parse(text, { version: "1.1" })).toEqual({ data: tricky, replicas: 3, enabled: true });
    expect(text).toContain('KONG_DATABASE: "off"');
    expect(text).toContain('octal12: "0o644"'); // a plain string to YAML 1.1, octal 420 to 1.2
    expect(text).toContain('"yes": "y"'); // keys too
  });

  test("ordinary strings and multi-line text stay plain and block", () => {
    expect(readsAsNonString("nginx")).toBe(false);
    expect(readsAsNonString("/etc/stagecraft/settings.json")).toBe(false);
    expect(readsAsNonString("ghcr.io/stagecraft-demo/django-web:4.0.0")).toBe(false);
    const text = portableYaml({ image: "nginx:1.27", conf: "gzip on;\nlisten 8080;\n" });
    expect(text).toBe("image: nginx:1.27\nconf: |\n  gzip on;\n  listen 8080;\n");
  });
});
