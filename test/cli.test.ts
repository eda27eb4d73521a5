// The binary as a black box: exit codes and output, through a real child process.
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';

describe('firstspan binary', () => {
  it('prints usage with --help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: firstspan <command>');
    for (const c of ['receive', 'run', 'analyze', 'demo']) expect(r.stdout).toContain(`  ${c}`);
  });

  it('rejects an unknown command with exit 2 and says what exists', async () => {
    const r = await runCli(['recieve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'recieve'");
    expect(r.stderr).toContain('receive');
  });

  it('prints its version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^firstspan \d+\.\d+\.\d+/);
  });
});
