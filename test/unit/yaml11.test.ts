import { formatAmbiguity, yaml11Ambiguities } from "../lib/yaml11";

describe("yaml11Ambiguities", () => {
  test("finds the unquoted strings a YAML 1.1 reader turns into booleans, numbers or timestamps", () => {
    const text = [
      "kind: ConfigMap",
      "data:",
      "  gzip: on",
      "  debug: no",
      "  mode: 0644",
      "  window: 1:30",
      "  size: 1_000",
      "  day: 2026-11-30",
      "  list: [y, n]",
      "---",
      "kind: Secret",
      "stringData: {flag: off}",
    ].join("\n");
    expect(yaml11Ambiguities(text).map(formatAmbiguity)).toEqual([
      'document 0 data.gzip: YAML 1.2 reads "on", YAML 1.1 reads true',
      'document 0 data.debug: YAML 1.2 reads "no", YAML 1.1 reads false',
      "document 0 data.mode: YAML 1.2 reads 644, YAML 1.1 reads 420",
      'document 0 data.window: YAML 1.2 reads "1:30", YAML 1.1 reads 90',
      'document 0 data.size: YAML 1.2 reads "1_000", YAML 1.1 reads 1000',
      'document 0 data.day: YAML 1.2 reads "2026-11-30", YAML 1.1 reads "timestamp 2026-11-30T00:00:00.000Z"',
      'document 0 data.list[0]: YAML 1.2 reads "y", YAML 1.1 reads true',
      'document 0 data.list[1]: YAML 1.2 reads "n", YAML 1.1 reads false',
      'document 1 stringData.flag: YAML 1.2 reads "off", YAML 1.1 reads false',
    ]);
  });

  test("quoted strings, plain numbers, booleans and block text read the same", () => {
    const text = 'data:\n  gzip: "on"\n  mode: "0644"\n  replicas: 3\n  enabled: true\n  conf: |\n    gzip on;\n    listen 8080;\n';
    expect(yaml11Ambiguities(text)).toEqual([]);
  });
});
