// The tests `npm run mutation` (StrykerJS, stryker.config.mjs) runs against each mutant: the ones
// that drive model/, receiver/ and analyzer/ in this process. Tests that spawn the CLI run the code
// in a child process, where Stryker cannot see which mutant they cover, so they stay out.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/analyzer*.test.ts', 'test/receiver-*.test.ts', 'test/model-*.test.ts', 'test/error-registry.test.ts'],
    exclude: ['test/analyzer-cli.test.ts', 'test/analyzer-compare.test.ts', 'test/receiver-cli.test.ts', 'test/receiver-edges-cli.test.ts'],
    // One module graph for every file and every mutant run: Stryker switches mutants at run time,
    // so nothing needs re-importing, and re-importing each covering file per mutant was most of
    // the time a mutant took.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
