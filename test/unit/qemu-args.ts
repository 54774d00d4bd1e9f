/** The word after `flag` in a QEMU argument list (undefined when the flag is absent). */
export function valueAfter(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}
