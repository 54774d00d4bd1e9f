export { selectModules, planModules, joinCommands, imageCommand, type ModuleSelection } from './resolve.ts';
export { parseManifest, expandManifest } from './manifest.ts';
export { builtinModuleDir } from './lookup.ts';
export type { ModulePlan, ManifestEntry, ResolvedModule } from './types.ts';
