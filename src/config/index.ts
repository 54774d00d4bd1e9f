export { resolveConfig, configHash, describeSource, fromConfigurationProfile, listProfiles, builtinProfileDir } from './resolve.ts';
export { optionSchema, optionsByName, driverProfiles, driverSwitches, driverImplications } from './schema.ts';
export { formatOptionValue } from './values.ts';
export type { BuildConfig, OptionValue, ValueSource } from './types.ts';
