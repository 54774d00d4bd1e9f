/**
 * The --html outputs in a real browser: Debian's headless Chromium driven by
 * playwright-core. The size treemap and the boot timeline must render (SVG
 * cells with the expected labels, non-zero areas); screenshots are saved
 * under build/analyze-e2e-screenshots/ as CI artifacts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { fixtureUnavailable } from './run-fixture.ts';
import { build, minimalArgs, runTailor } from './analyze-helpers.ts';
import { repoRoot } from '../../src/util/paths.ts';

const chromium = '/usr/bin/chromium';
const shots = join(repoRoot, 'build', 'analyze-e2e-screenshots');
let unavailable: string | undefined;
let profile = '';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let pw: any;

before(async () => {
  if (!existsSync(chromium)) return void (unavailable = `${chromium} is missing: apt-get install -y chromium (tailor doctor --fix)`);
  try {
    pw = await import('playwright-core' as string);
  } catch {
    return void (unavailable = 'playwright-core is not installed (npm devDependency)');
  }
  unavailable = await fixtureUnavailable();
  if (unavailable) return;
  mkdirSync(shots, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'tailor-chromium-'));
  await build('analyze-e2e-min', minimalArgs);
}, { timeout: 40 * 60_000 });
after(() => {
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function open(file: string) {
  const context = await pw.chromium.launchPersistentContext(profile, {
    executablePath: chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests: string[] = [];
  page.on('request', (r: { url(): string }) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href);
  return { context, page, requests };
}

test('size --html: the treemap renders with subsystem labels', { timeout: 5 * 60_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  const html = join(repoRoot, 'build', 'analyze-e2e-min', 'size.html');
  const r = await runTailor(['size', 'analyze-e2e-min', '--html', html]);
  assert.equal(r.code, 0, r.stderr);
  const { context, page, requests } = await open(html);
  try {
    const groups: { name: string; w: number; h: number }[] = await page.$$eval('svg.treemap g.group', (gs: Element[]) =>
      gs.map((g) => {
        const box = g.querySelector('rect')!.getBoundingClientRect();
        return { name: g.getAttribute('data-name') ?? '', w: box.width, h: box.height };
      }),
    );
    assert.ok(groups.length >= 10, `${groups.length} subsystem cells`);
    assert.ok(groups.every((g) => g.w >= 0 && g.h >= 0));
    assert.ok(groups.filter((g) => g.w * g.h > 100).length >= 5, 'several visible cells');
    const labels: string[] = await page.$$eval('svg.treemap text.group-label', (ts: Element[]) => ts.map((x) => x.textContent ?? ''));
    for (const want of ['mm', 'fs']) assert.ok(labels.some((l) => l.startsWith(`${want} `)), `label ${want} in ${labels.join(' | ')}`);
    assert.ok(await page.isVisible('text=Kernel in memory'));
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'no network');
    await page.screenshot({ path: join(shots, 'size-treemap.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('bootchart --html: the timeline renders one bar per phase with its label', { timeout: 5 * 60_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  const html = join(repoRoot, 'build', 'analyze-e2e-min', 'bootchart.html');
  const r = await runTailor(['bootchart', 'analyze-e2e-min', '--accel', 'tcg', '--html', html]);
  assert.equal(r.code, 0, r.stderr);
  const { context, page, requests } = await open(html);
  try {
    const phases: { name: string; w: number }[] = await page.$$eval('svg.timeline g.phase', (gs: Element[]) =>
      gs.map((g) => ({ name: g.getAttribute('data-name') ?? '', w: g.querySelector('rect')!.getBoundingClientRect().width })),
    );
    const names = phases.map((p) => p.name);
    for (const want of ['setup (to the first init call)', 'modules', 'app-start']) assert.ok(names.includes(want), `${want} in ${names.join(' | ')}`);
    assert.ok(phases.every((p) => p.w >= 1), 'every bar is drawn');
    const marker: string = await page.$eval('svg.timeline', (svg: Element) => svg.textContent ?? '');
    assert.match(marker, /app start [\d.]+ ms/);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'no network');
    await page.screenshot({ path: join(shots, 'bootchart-timeline.png'), fullPage: true });
  } finally {
    await context.close();
  }
});
