/** `tailor export FORMAT`: one entry for every format. */
import { UsageError } from '../errors.ts';
import type { BuildFolder } from '../run/build-folder.ts';
import { exportDisk, type ExportedFile } from './bootable.ts';
import { exportFormatNames, isDiskFormat } from './formats.ts';

export interface ExportRequest {
  readonly format: string;
  readonly out?: string;
  readonly execute?: string;
  readonly log?: (line: string) => void;
}

export async function exportBuild(build: BuildFolder, req: ExportRequest): Promise<ExportedFile[]> {
  if (isDiskFormat(req.format)) return [await exportDisk(build, { ...req, format: req.format })];
  throw new UsageError(`unknown export format "${req.format}"`, `give one of ${exportFormatNames.join(', ')}`);
}
