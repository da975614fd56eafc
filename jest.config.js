// Three suites: unit (pure functions and Pulumi mocks, seconds), engine (the real Pulumi CLI renders
// every stack), conformance (real servers from Debian accept every generated config).
const base = { preset: "ts-jest", testEnvironment: "node", transform: { "^.+\\.ts$": ["ts-jest", {}] } };
module.exports = {
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    {
      ...base,
      displayName: "engine",
      testMatch: ["<rootDir>/test/engine/**/*.test.ts"],
      globalSetup: "<rootDir>/test/engine/globalSetup.ts",
    },
    { ...base, displayName: "conformance", testMatch: ["<rootDir>/test/conformance/**/*.test.ts"] },
  ],
};
