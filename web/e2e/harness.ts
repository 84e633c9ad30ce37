// What the end-to-end tests share: finding chromium and the fust binary, a real `fust serve`
// on a free port with a temporary SQLite metadata store and data root, the fust CLI, a
// browser page that records console errors, axe-core, screenshots and the YAML editor.
import { spawn, execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, inject } from 'vitest';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(WEB_DIR, '..');
export const ARTIFACTS = join(WEB_DIR, 'e2e', 'artifacts');
/** Where the tests' input files come from (copied into each data root). */
const ORDERS_CSV = join(REPO_DIR, 'examples', 'data', 'orders.csv');

const run = promisify(execFile);

// ---------- prerequisites ----------

/** Debian's chromium (never a downloaded browser): $CHROMIUM, else /usr/bin/chromium. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `chromium not found at ${path}: install Debian's package (\`apt-get install chromium\`, or ` +
        '`scripts/services up chromium`), or set CHROMIUM to a chromium binary',
    );
  }
  return path;
}

/** The fust binary: $FUST_BIN, else $CARGO_TARGET_DIR/debug/fust (default ~/.cache/fust-target). */
export function fustPath(): string {
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'fust-target');
  const path = process.env.FUST_BIN ?? join(target, 'debug', 'fust');
  if (!existsSync(path)) {
    throw new Error(
      `the fust binary was not found at ${path}: build it with \`cargo build\` (CARGO_TARGET_DIR=${target}) ` +
        'or set FUST_BIN to a fust binary',
    );
  }
  return path;
}

/** A debug fust reads the console's files from web/dist at run time: they must be built. */
export function checkConsoleBuilt(): void {
  if (!existsSync(join(WEB_DIR, 'dist', 'index.html'))) {
    throw new Error('web/dist is not built: run `npm run build` in web/ first (scripts/test does)');
  }
}

// ---------- fust serve ----------

/** What a test needs to know about the server it talks to. */
export interface ServerInfo {
  url: string;
  /** The bearer token; empty when tokens are off. */
  token: string;
  /** The server's working directory and only data root: jobs' relative paths resolve here. */
  dataDir: string;
  /** A directory of its own for `fust run` / `fust preview`, with the same input files. */
  cliDir: string;
  /** The server's stderr (its log). */
  log: string;
}

export interface RunningServer extends ServerInfo {
  stop: () => Promise<void>;
}

/** Fills a data root with the tests' input files. */
function seed(dir: string): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(ORDERS_CSV, join(dir, 'orders.csv'));
}

/**
 * Starts `fust serve` on 127.0.0.1 (a free port) with a temporary SQLite metadata store, a
 * temporary data root and the bearer token `token` (none: tokens off); resolves once it says
 * where it listens.
 */
export async function startServer(token: string | null, name = 'server'): Promise<RunningServer> {
  const bin = fustPath();
  const root = mkdtempSync(join(tmpdir(), `fust-e2e-${name}-`));
  const dataDir = join(root, 'data');
  const cliDir = join(root, 'cli');
  seed(dataDir);
  seed(cliDir);
  mkdirSync(join(root, 'meta'));
  const config = join(root, 'server.yaml');
  writeFileSync(
    config,
    [
      '# fust serve for the console end-to-end tests (web/e2e)',
      token === null ? '# no auth_tokens: tokens off' : `auth_tokens: [ ${JSON.stringify(token)} ]`,
      `data_roots: [ ${JSON.stringify(dataDir)} ]`,
      'workers: 2',
      '',
    ].join('\n'),
  );
  const log = join(root, 'serve.log');
  const child = spawn(
    bin,
    ['serve', '--config', config, '--listen', '127.0.0.1:0', '--metadata', `sqlite://${join(root, 'meta', 'fust.db')}`],
    { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.pipe(createWriteStream(log));
  // A run stopped half-way (Ctrl-C) leaves no server behind.
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  const url = await new Promise<string>((resolveUrl, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(`no "listening on" line within 30 s`), 30_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
      reject(new Error(`fust serve (${bin}) did not start: ${why}\n${seen}\n${tail}`));
    };
    child.on('error', (error) => fail(error.message));
    child.on('exit', (code) => fail(`it exited with ${code}`));
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (https?:\/\/\S+)/.exec(seen);
      if (match !== null) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveUrl(match[1]);
      }
    });
  });
  const stop = async () => {
    process.removeListener('exit', orphan);
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (process.env.FUST_E2E_KEEP === undefined) {
      rmSync(root, { recursive: true, force: true });
    }
  };
  return { url, token: token ?? '', dataDir, cliDir, log, stop };
}

/** An API call with the token, as JSON (the tests' own set-up and checks, not the console's). */
export async function api<T>(server: ServerInfo, method: string, path: string, body?: string): Promise<T> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(server.token === '' ? {} : { authorization: `Bearer ${server.token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/yaml' }),
    },
    body,
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

// ---------- the fust CLI ----------

/**
 * Runs `fust ARGS…` in the CLI directory: its stdout (`preview`'s table) and stderr (`run`'s
 * summary), or an error with its stderr.
 */
export async function fust(server: ServerInfo, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(fustPath(), args, { cwd: server.cliDir, maxBuffer: 16 << 20 });
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(`fust ${args.join(' ')}: ${failed.stderr ?? failed.message}`, { cause: error });
  }
}

/** Writes a job file into the CLI directory and returns its name there. */
export function writeJob(server: ServerInfo, file: string, yaml: string): string {
  writeFileSync(join(server.cliDir, file), yaml);
  return file;
}

/** The rows of a table `fust preview` prints (`+---+` borders, `| a | b |` rows): header first. */
export function parseTable(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.slice(1, -1).split('|').map((cell) => cell.trim()));
}

/** `NAME: 60 rows in (1.7 KiB), 29 rows out (…) …`, the summary `fust run` prints on stderr. */
export function parseRunSummary(text: string): { rowsIn: number; rowsOut: number } {
  const match = /([\d,]+) rows in .*?([\d,]+) rows out/.exec(text);
  if (match === null) {
    throw new Error(`no run summary in: ${text}`);
  }
  const count = (s: string) => Number(s.replace(/,/g, ''));
  return { rowsIn: count(match[1]), rowsOut: count(match[2]) };
}

/** Whether two cells hold the same value: as numbers when both are (`385.0` = `385`). */
export function sameCell(a: string, b: string): boolean {
  if (a === b) {
    return true;
  }
  const x = Number(a);
  const y = Number(b);
  return a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y) && x === y;
}

// ---------- the browser ----------

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true });
}

export interface SessionOptions {
  /** Put the token in the tab's sessionStorage before the first page (skip the sign-in). */
  signedIn?: boolean;
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
}

/**
 * A browser context and page on the server, recording every console error and uncaught
 * exception. The browser logs each HTTP error answer as a console error ("Failed to load
 * resource: … status of 422"); a test that provokes one on purpose (a refused token, an
 * invalid job) says which with `expectStatus`, and any other one fails it.
 */
export class Session {
  readonly errors: string[] = [];
  private readonly expected = new Set<number>();

  private constructor(
    readonly server: ServerInfo,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('console', (message) => {
      if (message.type() !== 'error') {
        return;
      }
      const text = message.text();
      const status = /the server responded with a status of (\d+)/.exec(text);
      if (status !== null && this.expected.has(Number(status[1]))) {
        return;
      }
      const where = message.location().url;
      this.errors.push(where ? `${text} (${where})` : text);
    });
    page.on('pageerror', (error) => this.errors.push(`uncaught: ${error.message}`));
  }

  static async open(browser: Browser, server: ServerInfo, options: SessionOptions = {}): Promise<Session> {
    const context = await browser.newContext({
      viewport: options.viewport ?? { width: 1280, height: 800 },
      colorScheme: options.colorScheme ?? 'light',
      reducedMotion: 'reduce',
    });
    if (options.signedIn ?? true) {
      // The key the console keeps its token under (src/lib/token.ts).
      await context.addInitScript((token) => sessionStorage.setItem('fust.token', token), server.token);
    }
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return new Session(server, context, page);
  }

  /** HTTP error statuses this test provokes on purpose. */
  expectStatus(...statuses: number[]): void {
    statuses.forEach((status) => this.expected.add(status));
  }

  /** Opens a console route, e.g. `/jobs` (the console uses hash routes). */
  async goto(route: string): Promise<void> {
    await this.page.goto(`${this.server.url}/#${route}`);
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/**
 * The hooks every test file uses: one browser for the file, and after each test its
 * session closed, a screenshot when it failed, and no errors in the browser console.
 */
export function browserHooks(): { server: ServerInfo; open: (options?: SessionOptions, on?: ServerInfo) => Promise<Session> } {
  const server = inject('server');
  let browser: Browser | undefined;
  let sessions: Session[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async (context) => {
    const open = sessions;
    sessions = [];
    const errors = open.flatMap((session) => session.errors);
    for (const [i, session] of open.entries()) {
      if (context.task.result?.state === 'fail' && !session.page.isClosed()) {
        const name = context.task.name.replace(/\W+/g, '-').slice(0, 60);
        await screenshot(session.page, `failed-${name}-${i}`).catch(() => undefined);
      }
      await session.close();
    }
    expect(errors, 'errors in the browser console').toEqual([]);
  });
  return {
    server,
    open: async (options = {}, on = server) => {
      const session = await Session.open(browser!, on, options);
      sessions.push(session);
      return session;
    },
  };
}

// ---------- checks ----------

const requireHere = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(requireHere.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * Runs axe-core on the page as it is (WCAG 2.x A and AA and best practices) and returns
 * the serious and critical violations as lines; the others are printed, not failed on.
 * axe is evaluated through the DevTools protocol, which the page's CSP does not govern.
 */
export async function axeViolations(page: Page, label: string): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  }) as AxeViolation[];
  const line = (v: AxeViolation) =>
    `${label}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join('; ')}`;
  const minor = violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
  if (minor.length > 0) {
    console.log(`axe, not failed on:\n  ${minor.map(line).join('\n  ')}`);
  }
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map(line);
}

/** Saves a screenshot of the viewport to web/e2e/artifacts/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), animations: 'disabled', caret: 'hide' });
}

// ---------- the YAML editor (CodeMirror) ----------

/** Replaces the editor's text (typed as one input, so no auto-indent or bracket closing). */
export async function setYaml(page: Page, text: string): Promise<void> {
  const content = page.locator('.cm-content');
  await content.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  if (text !== '') {
    await page.keyboard.insertText(text);
  }
}

/** The 1-based lines of the editor that hold an error underline (a short text: all lines drawn). */
export async function lintErrorLines(page: Page): Promise<number[]> {
  return page.locator('.cm-content').evaluate((content) => {
    const lines = Array.from(content.querySelectorAll(':scope > .cm-line'));
    const marked = new Set<number>();
    content.querySelectorAll('.cm-lintRange-error').forEach((mark) => {
      const line = mark.closest('.cm-line');
      if (line !== null) {
        marked.add(lines.indexOf(line) + 1);
      }
    });
    return [...marked].sort((a, b) => a - b);
  });
}
