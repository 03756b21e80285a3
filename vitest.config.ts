import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure and fast (no host, no kernel); `lab` runs on the real IPVS kernel of the lab,
// booted once per run by the global setup and shared by every lab test file.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          globalSetup: ['test/lab/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
