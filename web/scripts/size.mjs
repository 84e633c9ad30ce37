// `npm run size`: the built JavaScript gzipped, per file and in total; fails over the budget.
// Run after `npm run build`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 500 * 1024;
const assets = new URL('../dist/assets/', import.meta.url).pathname;

let files;
try {
  files = readdirSync(assets).filter((name) => name.endsWith('.js'));
} catch {
  console.error('dist/assets is missing: run `npm run build` first.');
  process.exit(1);
}

let total = 0;
for (const name of files.sort()) {
  const gzipped = gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
  total += gzipped;
  console.log(`${(gzipped / 1024).toFixed(1).padStart(8)} KB  ${name}`);
}
console.log(`${(total / 1024).toFixed(1).padStart(8)} KB  total JavaScript, gzipped (budget ${BUDGET_BYTES / 1024} KB)`);
if (total > BUDGET_BYTES) {
  console.error('Over budget: lazy-load more, or drop a dependency.');
  process.exit(1);
}
