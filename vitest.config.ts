import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Three projects: `unit` is pure and fast (no host, no kernel); `consumer` packs and installs the package; `lab` runs on the real IPVS kernel of the lab,
// booted once per run by the global setup and shared by every lab test file.
export default defineConfig({
  // Inside the clone, `import … from 'lvsform'` means the sources (as tsconfig.json's paths say for tsc and tsx).
  resolve: { alias: [{ find: /^lvsform$/, replacement: fileURLToPath(new URL('./lib/index.ts', import.meta.url)) }] },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/scratch-tmpdir.ts'],
          // Many unit tests run the built CLI, some a synth through tsx (≈ 1–2 s of CPU each): on two cores shared
          // with the lab's QEMU boots a case of three such runs can take well over 20 s without anything being wrong.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The package as a user installs it: npm pack, npm install of the tarball into new projects (see the test).
        extends: true,
        test: {
          name: 'consumer',
          include: ['test/consumer/**/*.test.ts'],
          globalSetup: ['test/scratch-tmpdir.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          globalSetup: ['test/scratch-tmpdir.ts', 'test/lab/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
