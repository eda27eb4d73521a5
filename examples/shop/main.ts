// The demo shop as a program: `npx tsx examples/shop/main.ts --port 8080`.
// Prints one line `shop listening on URL …` once both services accept connections; on SIGINT or
// SIGTERM it stops listening, flushes every span, prints what it exported, and exits.
import { resolveShopOptions, startShop } from './shop.ts';

const parsed = resolveShopOptions(process.argv.slice(2), process.env);
if ('help' in parsed) {
  process.stdout.write(parsed.help);
  process.exit(0);
}
if ('problems' in parsed) {
  process.stderr.write(`shop: ${parsed.problems.map((p) => `\n  - ${p}`).join('')}\nRun with --help for usage.\n`);
  process.exit(2);
}

const { options, exitWithStdin } = parsed;
let shop;
try {
  shop = await startShop(options);
} catch (error) {
  process.stderr.write(`shop: cannot start: ${(error as Error).message}\n`);
  process.exit(1);
}
const running = shop;
process.stdout.write(
  `shop listening on ${running.url.href} (service ${options.shopServiceName}; ` +
    `inventory on ${running.inventoryUrl.href} as ${options.inventoryServiceName}; ` +
    `traces ${options.exporter === 'none' ? 'off' : 'via OTLP'})\n`,
);

let stopping = false;
async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const counts = await running.close();
  process.stdout.write(`shop stopped (${reason}): ${counts.exported} spans exported, ${counts.failed} failed\n`);
  process.exit(counts.failed > 0 ? 1 : 0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
if (exitWithStdin) {
  // The parent holds our stdin open; when it dies without a word, the pipe closes and we follow.
  process.stdin.on('end', () => void stop('parent gone'));
  process.stdin.on('error', () => void stop('parent gone'));
  process.stdin.resume();
}
