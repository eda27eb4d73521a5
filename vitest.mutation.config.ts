// The tests `npm run mutation` (StrykerJS, stryker.config.mjs) runs against each mutant: the ones
// that drive model/, receiver/ and analyzer/ in this process. Tests that spawn the CLI run the code
// in a child process, where Stryker cannot see which mutant they cover, so they stay out.
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Stryker stops a mutant's run at the first failing test, so the files that settle a mutant soonest
 * go first: the file that failed last time (it likely kills the next mutant, on the same line),
 * then the fastest (a file never run yet counts as fast: it is usually a new, small one). Vitest's own order, slowest first, suits parallel runs of the whole suite.
 */
class FastestFirst extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const state = (f: TestSpecification) => this.ctx.cache.getFileTestResults(`${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`);
    const rank = (f: TestSpecification): [number, number] => {
      const s = state(f);
      return s === undefined ? [1, 0] : [s.failed ? 0 : 1, s.duration];
    };
    return Promise.resolve([...files].sort((a, b) => {
      const [fa, da] = rank(a);
      const [fb, db] = rank(b);
      return fa - fb || da - db;
    }));
  }
}

export default defineConfig({
  test: {
    include: ['test/analyzer*.test.ts', 'test/receiver-*.test.ts', 'test/model-*.test.ts', 'test/store-*.test.ts', 'test/error-registry.test.ts'],
    exclude: ['test/analyzer-cli.test.ts', 'test/analyzer-compare.test.ts', 'test/receiver-cli.test.ts', 'test/receiver-edges-cli.test.ts'],
    // One module graph for every file and every mutant run: Stryker switches mutants at run time,
    // so nothing needs re-importing between mutants.
    isolate: false,
    sequence: { sequencer: FastestFirst },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
