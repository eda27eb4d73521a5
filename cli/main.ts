// The `firstspan` command: dispatch to one stage's command. Each stage's module is loaded only when
// its command runs, so `firstspan analyze` never pays for the OpenTelemetry SDK the generator needs.
import { ExitCodes } from '../model/errors.ts';
import type { Command, CommandIO } from './io.ts';
import { reportError } from './report-error.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  receive: {
    summary: 'OTLP receiver: store every span from the generator and the services in SQLite',
    load: async () => (await import('../receiver/command.ts')).receiveCommand,
  },
  run: {
    summary: 'run a Locust-style load-test script, one traced CLIENT span per request',
    load: async () => (await import('../generator/command.ts')).runCommand,
  },
  analyze: {
    summary: 'pair load-test spans with server spans and explain the latency gap',
    load: async () => (await import('../analyzer/command.ts')).analyzeCommand,
  },
  demo: {
    summary: 'everything wired together locally: receiver, demo shop, delay proxy, load, report',
    load: async () => (await import('../demo/command.ts')).demoCommand,
  },
};

export function usage(): string {
  const lines = [
    'firstspan — observable load testing: where did the time between the user and the server go?',
    '',
    'Usage: firstspan <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`),
    '',
    'Run `firstspan <command> --help` for the options of a command.',
    'Docs: README.md and docs/ (cli.md, attributes.md, errors.md).',
  ];
  return lines.join('\n') + '\n';
}

export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? ExitCodes.USAGE : ExitCodes.OK;
  }
  if (name === '--version' || name === '-V') {
    const pkg = (await import('../package.json', { with: { type: 'json' } })).default as { version: string };
    io.stdout.write(`firstspan ${pkg.version}\n`);
    return ExitCodes.OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`firstspan: unknown command '${name}'\n\n${usage()}`);
    return ExitCodes.USAGE;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}
