// The tests `npm run mutation` (StrykerJS, stryker.config.mjs) runs against each mutant: the ones
// that drive model/, receiver/ and analyzer/ in this process. Tests that spawn the CLI run the code
// in a child process, where Stryker cannot see which mutant they cover, so they stay out.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/analyzer.test.ts',
      'test/analyzer-html.test.ts',
      'test/analyzer-stats.test.ts',
      'test/analyzer-breakdown.test.ts',
      'test/analyzer-findings.test.ts',
      'test/analyzer-compare-core.test.ts',
      'test/analyzer-fit.test.ts',
      'test/error-registry.test.ts',
      'test/receiver-*.test.ts',
      'test/model-*.test.ts',
    ],
    exclude: ['test/receiver-cli.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
