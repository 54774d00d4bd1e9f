import type { Command } from 'commander';
import { register as build } from './build.ts';
import { register as config } from './config.ts';
import { register as demo } from './demo.ts';
import { register as disk } from './disk.ts';
import { register as kernel } from './kernel.ts';
import { register as modules } from './modules.ts';
import { register as options } from './options.ts';
import { register as run } from './run.ts';
import { register as doctor } from './doctor.ts';
import { register as hostFiles } from './host-files.ts';
import { register as size } from './size.ts';
import { register as bootchart } from './bootchart.ts';
import { register as trace } from './trace.ts';
import { register as bench } from './bench.ts';
import { register as exportCmd } from './export.ts';

/** Every CLI command registers itself on the program; one line per command file. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  options,
  config,
  modules,
  kernel,
  build,
  disk,
  run,
  doctor,
  hostFiles,
  demo,
  size,
  bootchart,
  trace,
  bench,
  exportCmd,
];
