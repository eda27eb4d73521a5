// The tests `npm run mutation` (StrykerJS, stryker.config.mjs) runs against each mutant: the ones
// that drive model/, receiver/ and analyzer/ in this process. Tests that spawn the CLI run the code
// in a child process, where Stryker cannot see which mutant they cover, so they stay out.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/analyzer*.test.ts', 'test/receiver-*.test.ts', 'test/model-*.test.ts', 'test/error-registry.test.ts'],
    exclude: ['test/analyzer-cli.test.ts', 'test/analyzer-compare.test.ts', 'test/receiver-cli.test.ts', 'test/receiver-edges-cli.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
