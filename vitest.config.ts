import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests bind real ports and spawn servers; two cores in CI.
    pool: "forks",
    maxWorkers: 2,
  },
});
