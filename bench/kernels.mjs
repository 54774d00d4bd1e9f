#!/usr/bin/env node
// `npm run bench:kernels`: runs bench/kernels.ts through tsx (see that file for the options).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
const script = fileURLToPath(new URL('./kernels.ts', import.meta.url));
const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
