/** "Did you mean" for unknown names: the closest candidates by edit distance. */
export function closest(input: string, candidates: Iterable<string>, max = 3): string[] {
  const scored: [string, number][] = [];
  for (const c of candidates) {
    const d = editDistance(input.toLowerCase(), c.toLowerCase());
    const limit = Math.max(2, Math.floor(c.length / 3));
    if (d <= limit || c.startsWith(input) || (input.length > 3 && c.includes(input))) scored.push([c, d]);
  }
  return scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).slice(0, max).map(([c]) => c);
}

export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const names = closest(input, candidates);
  return names.length ? `did you mean ${names.join(' or ')}?` : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
