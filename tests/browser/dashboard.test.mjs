// The district office's dashboard in a real browser: Debian's chromium driven by playwright-core.
//
// One `rectify-office demo` is seeded into a fresh folder and served on a free loopback port; one
// headless chromium walks through it as the demo's acceptor (log in, overview, ranking, a village, an
// issue with its photos, accepting and rejecting strike-offs, the bulletin's CSV and XLSX downloads,
// escalations, the map, the language switch), then checks logging out and a secretary's limits.
// Full-page screenshots land in $RECTIFY_SCREENSHOTS (default target/browser-screenshots).
//
// Run: node --test tests/browser/   (scripts/test-browser.sh builds the office and installs playwright-core)
// Environment: RECTIFY_OFFICE_BIN (default target/release/rectify-office), CHROMIUM (default
// /usr/bin/chromium), RECTIFY_SCREENSHOTS, RECTIFY_KEEP_DATA=1 to keep the demo's folder afterwards.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const officeBin = process.env.RECTIFY_OFFICE_BIN || join(repo, 'target', 'release', 'rectify-office');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const shotsDir = resolve(process.env.RECTIFY_SCREENSHOTS || join(repo, 'target', 'browser-screenshots'));

/** The demo always has Tongji New Area's 12 villages (real names, or 12 invented ones without ../shared/data). */
const VILLAGES = 12;
const SEED_TIMEOUT_MS = 5 * 60 * 1000;
const STEP_TIMEOUT_MS = 60 * 1000;

/** Progress for a person, on stderr (the test runner keeps stdout for its own reports). */
function say(line) {
  process.stderr.write(`[browser-test] ${line}\n`);
}

// ---------------------------------------------------------------------------------------------------
// The office: `rectify-office demo --json`, killed at the end whatever happens.

let office = null; // the child process
let dataDir = null;

function killOffice() {
  if (office && office.exitCode === null && office.signalCode === null) {
    office.kill('SIGKILL');
  }
}
// If the test process dies some other way, the office must not outlive it.
process.on('exit', killOffice);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killOffice();
    process.exit(130);
  });
}

/** Starts the demo and resolves with its JSON line once seeding is done. */
async function startOffice() {
  if (!existsSync(officeBin)) {
    throw new Error(
      `no rectify-office binary at ${officeBin}: build it (cargo build --release -p rectify-office) ` +
        'or point RECTIFY_OFFICE_BIN at one',
    );
  }
  dataDir = await mkdtemp(join(tmpdir(), 'rectify-browser-'));
  const args = ['demo', '--json', '--data', dataDir, '--listen', '127.0.0.1:0'];
  say(`starting ${officeBin} ${args.join(' ')} (seeding takes a while)`);
  office = spawn(officeBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  office.stderr.on('data', (chunk) => process.stderr.write(chunk));

  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolvePromise(value);
    };
    const timer = setTimeout(() => {
      finish(
        new Error(
          `rectify-office demo printed no JSON line within ${SEED_TIMEOUT_MS / 1000} s ` +
            '(seeding too slow or stuck; its progress is above on stderr)',
        ),
      );
      killOffice();
    }, SEED_TIMEOUT_MS);
    const lines = createInterface({ input: office.stdout });
    lines.on('line', (line) => {
      const text = line.trim();
      if (!text.startsWith('{')) {
        say(`office stdout: ${text}`);
        return;
      }
      try {
        const ready = JSON.parse(text);
        for (const key of ['url', 'user', 'password', 'data', 'logins']) {
          if (typeof ready[key] !== 'string' || ready[key] === '') {
            throw new Error(`the JSON line has no "${key}"`);
          }
        }
        finish(null, ready);
      } catch (err) {
        finish(new Error(`rectify-office demo printed a line that is not the expected JSON: ${text} (${err.message})`));
      }
    });
    office.on('error', (err) => finish(new Error(`cannot start ${officeBin}: ${err.message}`)));
    office.on('exit', (code, signal) =>
      finish(new Error(`rectify-office demo stopped before it was ready (exit ${code ?? signal}); see its stderr above`)),
    );
  });
}

async function stopOffice() {
  if (!office) return;
  if (office.exitCode === null && office.signalCode === null) {
    const exited = once(office, 'exit');
    office.kill('SIGTERM');
    const timer = setTimeout(killOffice, 10_000);
    await exited;
    clearTimeout(timer);
  }
  office = null;
}

// ---------------------------------------------------------------------------------------------------
// Small readers: CSV and ZIP (the XLSX), with nothing but Node's own modules.

/** RFC 4180 CSV: quoted fields may hold commas, quotes and line breaks. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += ch;
    }
  }
  assert.equal(quoted, false, 'the CSV ends inside a quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * The entries of a ZIP file, name → bytes. Sizes and offsets come from the central directory (so data
 * descriptors do not matter); each entry is read from its local header, inflated, and its CRC checked.
 */
function readZip(buffer) {
  const EOCD = 0x06054b50;
  let end = -1;
  for (let at = buffer.length - 22; at >= Math.max(0, buffer.length - 22 - 0xffff); at -= 1) {
    if (buffer.readUInt32LE(at) === EOCD) {
      end = at;
      break;
    }
  }
  assert.ok(end >= 0, 'no end-of-central-directory record: not a ZIP file');
  const count = buffer.readUInt16LE(end + 10);
  let at = buffer.readUInt32LE(end + 16);
  const entries = new Map();
  for (let i = 0; i < count; i += 1) {
    assert.equal(buffer.readUInt32LE(at), 0x02014b50, `central directory entry ${i} has a bad signature`);
    const method = buffer.readUInt16LE(at + 10);
    const crc = buffer.readUInt32LE(at + 16);
    const packed = buffer.readUInt32LE(at + 20);
    const size = buffer.readUInt32LE(at + 24);
    const nameLength = buffer.readUInt16LE(at + 28);
    const extraLength = buffer.readUInt16LE(at + 30);
    const commentLength = buffer.readUInt16LE(at + 32);
    const local = buffer.readUInt32LE(at + 42);
    const name = buffer.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    assert.equal(buffer.readUInt32LE(local), 0x04034b50, `${name}: bad local header signature`);
    const localName = buffer.readUInt16LE(local + 26);
    const localExtra = buffer.readUInt16LE(local + 28);
    const start = local + 30 + localName + localExtra;
    const raw = buffer.subarray(start, start + packed);
    let bytes;
    if (method === 0) bytes = raw;
    else if (method === 8) bytes = inflateRawSync(raw);
    else assert.fail(`${name}: unsupported compression method ${method}`);
    assert.equal(bytes.length, size, `${name}: inflated size differs from the directory's`);
    assert.equal(crc32(bytes), crc, `${name}: CRC mismatch`);
    entries.set(name, bytes);
  }
  return entries;
}

function xmlText(text) {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&amp;/g, '&');
}

/** The first sheet of an XLSX as rows of cell strings (shared, inline and formula strings, and numbers). */
function sheetRows(entries) {
  const sheet = entries.get('xl/worksheets/sheet1.xml');
  assert.ok(sheet, `the XLSX has no xl/worksheets/sheet1.xml (entries: ${[...entries.keys()].join(', ')})`);
  const shared = [];
  const sst = entries.get('xl/sharedStrings.xml');
  if (sst) {
    for (const [, si] of sst.toString('utf8').matchAll(/<si>([\s\S]*?)<\/si>/g)) {
      shared.push([...si.matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map(([, t]) => xmlText(t)).join(''));
    }
  }
  const columnIndex = (ref) => [...ref.replace(/\d+$/, '')].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
  const rows = [];
  for (const [, rowXml] of sheet.toString('utf8').matchAll(/<row[^>]*>([\s\S]*?)<\/row>/g)) {
    const cells = [];
    for (const [, attrs, body] of rowXml.matchAll(/<c([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const ref = /\br="([A-Z]+\d+)"/.exec(attrs)?.[1];
      const type = /\bt="(\w+)"/.exec(attrs)?.[1];
      const value = /<v>([\s\S]*?)<\/v>/.exec(body ?? '')?.[1];
      let text = '';
      if (type === 's' && value !== undefined) text = shared[Number(value)] ?? '';
      else if (type === 'inlineStr') text = [...(body ?? '').matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map(([, t]) => xmlText(t)).join('');
      else if (value !== undefined) text = xmlText(value);
      cells[ref ? columnIndex(ref) : cells.length] = text;
    }
    rows.push(Array.from(cells, (cell) => cell ?? ''));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// The walk through the dashboard.

describe('the office dashboard in chromium', { timeout: SEED_TIMEOUT_MS + 5 * 60 * 1000 }, () => {
  let ready; // the demo's JSON line
  let summary; // the demo's logins file (DemoSummary)
  let browser;
  let context;
  let page;
  let base;
  const problems = []; // console errors and uncaught page errors
  const shots = [];
  let villages = []; // [{ code, name }] from the ranking
  let queueBefore = 0;
  let awaitingTile = -1; // the overview's "awaiting acceptance" count
  let accepted; // issue id
  let rejected; // issue id
  const rejectReason = '浏览器测试：整改后照片看不清 The after-photo is blurred';

  before(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(`no chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM)`);
    }
    const started = Date.now();
    ready = await startOffice();
    say(`office ready at ${ready.url} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    summary = JSON.parse(await readFile(ready.logins, 'utf8'));
    base = ready.url.replace(/\/$/, '');
    await mkdir(shotsDir, { recursive: true });
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
    context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
      locale: 'zh-CN',
    });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const source = message.location()?.url ?? '';
      // The 403 pages that the security steps ask for are logged as failed loads, and so is the icon that
      // chromium asks every site for (the office serves none); nothing else may fail.
      if (/status of 403/.test(message.text()) || /\/favicon\.ico$/.test(source)) return;
      problems.push(`console error on ${page.url()} (${source || 'no source'}): ${message.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`uncaught error on ${page.url()}: ${err.message}`));
  }, { timeout: SEED_TIMEOUT_MS + STEP_TIMEOUT_MS });

  after(async () => {
    await browser?.close().catch(() => {});
    await stopOffice();
    if (dataDir && process.env.RECTIFY_KEEP_DATA !== '1') {
      await rm(dataDir, { recursive: true, force: true });
    } else if (dataDir) {
      say(`kept the demo's folder ${dataDir}`);
    }
    if (shots.length) {
      say(`screenshots (${shots.length}):`);
      for (const shot of shots) say(`  ${shot}`);
    }
  });

  const shoot = async (name) => {
    const file = join(shotsDir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
  };

  const pathOf = (url) => {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  };

  /** Goes to a page of the office and asserts its HTTP status. */
  const visit = async (path, status = 200) => {
    const response = await page.goto(base + path);
    assert.ok(response, `no response for ${path}`);
    assert.equal(response.status(), status, `${path} answered ${response.status()}, not ${status}`);
    return response;
  };

  /** Fills the login form on the current page and submits it; resolves with the final response. */
  const logIn = async (user, password) => {
    const form = page.locator('form[data-test=login-form]');
    await form.locator('input[name=user]').fill(user);
    await form.locator('input[name=password]').fill(password);
    const [response] = await Promise.all([
      page.waitForNavigation(),
      form.locator('button[type=submit]').click(),
    ]);
    return response;
  };

  const queueCount = async () => {
    await visit('/queue');
    const shown = Number((await page.locator('[data-test=queue-count]').textContent()).trim());
    const items = await page.locator('article[data-test=queue-item]').count();
    assert.equal(shown, items, 'the queue count in the heading differs from the items listed');
    return shown;
  };

  /** Every photo of a kind on the issue page, with its decoded width (0 when it did not load). */
  const photoWidths = (kind) =>
    page.$$eval(`img[data-test=photo-${kind}]`, (images) =>
      Promise.all(images.map((image) => image.decode().then(() => image.naturalWidth, () => 0))),
    );

  const issueState = async () => ({
    status: (await page.locator('main h1 small').textContent()).trim(),
    history: await page.locator('[data-test=history] tbody tr').count(),
    deciding: await page.locator('[data-test=decide]').count(),
  });

  it('shows the login page and lands on the overview after logging in as the acceptor', async () => {
    assert.equal(summary.logins.find((login) => login.user === ready.user)?.role, 'acceptor', 'the printed user is the acceptor');
    await visit('/login');
    await assert.doesNotReject(page.locator('form[data-test=login-form]').waitFor());
    await shoot('01-login');
    const response = await logIn(ready.user, ready.password);
    assert.equal(response.status(), 200);
    assert.equal(pathOf(page.url()), '/', 'after logging in the browser is on the overview');
    assert.match(await page.locator('[data-test=who]').textContent(), new RegExp(ready.user));
    for (const tile of ['found', 'accepted', 'open', 'awaiting', 'overdue']) {
      const text = (await page.locator(`[data-test=count-${tile}]`).textContent()).trim();
      assert.match(text, /^\d+$/, `the ${tile} tile shows a number`);
    }
    assert.ok(Number(await page.locator('[data-test=count-found]').textContent()) > 0, 'the demo found issues');
    awaitingTile = Number(await page.locator('[data-test=count-awaiting]').textContent());
    assert.ok(await page.locator('svg[data-test=rate-chart] g.bar').count() > 0, 'the weekly chart has bars');
    await shoot('02-overview');
  });

  it('ranks every village and shows the red and black lists', async () => {
    await visit('/ranking');
    const rows = page.locator('table[data-test=ranking-table] tr[data-test=ranking-row]');
    assert.equal(await rows.count(), VILLAGES, 'one ranking row per village');
    assert.equal(summary.villages, VILLAGES, 'the demo says it seeded 12 villages');
    villages = await rows.evaluateAll((trs) =>
      trs.map((tr) => ({
        name: tr.querySelector('td:nth-child(2) a').textContent.trim(),
        code: tr.querySelector('td:nth-child(2) small').textContent.trim(),
      })),
    );
    assert.equal(new Set(villages.map((v) => v.code)).size, VILLAGES, 'the villages are all different');
    assert.ok(await page.locator('section[data-test=red-list]').count() >= 1, 'a red list section');
    assert.ok(await page.locator('section[data-test=black-list]').count() >= 1, 'a black list section');
    await shoot('03-ranking');
  });

  it('opens a village from the ranking', async () => {
    const first = villages[0];
    await Promise.all([
      page.waitForURL(`${base}/villages/${first.code}`),
      page.locator(`table[data-test=ranking-table] a[href="/villages/${first.code}"]`).click(),
    ]);
    assert.match(await page.locator('main h1').textContent(), new RegExp(first.name));
    assert.ok(await page.locator('table[data-test=negative-list]').count() === 1, 'the village has its negative list');
    await shoot('04-village');
  });

  it('shows escalations', async () => {
    await visit('/escalations');
    assert.equal(await page.locator('table[data-test=escalations-table]').count(), 1);
    await shoot('06-escalations');
  });

  it('shows an issue with its before and after photos loaded', async () => {
    queueBefore = await queueCount();
    assert.ok(queueBefore >= 2, `the demo leaves at least two strike-offs to decide (queue: ${queueBefore})`);
    assert.equal(queueBefore, awaitingTile, 'the queue holds what the overview counts as awaiting acceptance');
    await shoot('08-queue');
    const ids = await page.locator('article[data-test=queue-item]').evaluateAll((items) =>
      items.map((item) => ({
        id: item.dataset.issue,
        href: item.querySelector('a[data-test=queue-link]')?.getAttribute('href'),
      })),
    );
    for (const { id, href } of ids) assert.equal(href, `/issues/${id}`, 'each queue item links to its issue');
    for (const { id } of ids) {
      await visit(`/issues/${id}`);
      const [before, afterPhotos] = [await photoWidths('before'), await photoWidths('after')];
      if (before.length > 0 && afterPhotos.length > 0) {
        assert.ok(before.every((w) => w > 0), `issue ${id}: every before photo loads (${before})`);
        assert.ok(afterPhotos.every((w) => w > 0), `issue ${id}: every after photo loads (${afterPhotos})`);
        accepted = id;
        break;
      }
    }
    assert.ok(accepted, 'some issue in the queue has both a before and an after photo');
    await shoot('07-issue');
  });

  it('refuses a decision whose form lacks the session token', async () => {
    const status = await page.evaluate(async (id) => {
      const response = await fetch(`/issues/${id}/accept`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'csrf=not-the-token&note=forged',
      });
      return response.status;
    }, accepted);
    assert.equal(status, 403, 'a forged accept is refused');
    await visit(`/issues/${accepted}`);
    assert.equal(await page.locator('[data-test=decide]').count(), 1, 'the issue still waits for a decision');
  });

  it('accepts one strike-off and rejects another with a reason', async () => {
    // Accept: the issue page's own form.
    await visit(`/issues/${accepted}`);
    const beforeAccept = await issueState();
    assert.equal(beforeAccept.deciding, 1, 'the acceptor is offered the decision');
    await Promise.all([
      page.waitForURL(`${base}/issues/${accepted}?done=accepted`),
      page.locator('[data-test=decide] button[data-test=accept]').click(),
    ]);
    await page.locator('[data-test=flash]').waitFor();
    const afterAccept = await issueState();
    assert.equal(afterAccept.deciding, 0, 'an accepted issue offers no decision');
    assert.notEqual(afterAccept.status, beforeAccept.status, 'the status changed');
    assert.equal(afterAccept.history, beforeAccept.history + 1, 'the history has the acceptance');
    assert.match(await page.locator('[data-test=history] tbody tr').last().textContent(), /验收通过|accepted/);

    // Reject: another issue from the queue.
    await visit('/queue');
    rejected = await page
      .locator(`article[data-test=queue-item]:not([data-issue="${accepted}"])`)
      .first()
      .getAttribute('data-issue');
    assert.ok(rejected, 'a second issue to reject');
    await visit(`/issues/${rejected}`);
    const beforeReject = await issueState();
    assert.equal(beforeReject.deciding, 1);
    // The reason is required: the browser itself refuses to send the form without one.
    await page.locator('[data-test=decide] button[data-test=reject]').click();
    assert.equal(pathOf(page.url()), `/issues/${rejected}`, 'no reason, no rejection');
    await page.locator('textarea[data-test=reason]').fill(rejectReason);
    await Promise.all([
      page.waitForURL(`${base}/issues/${rejected}?done=rejected`),
      page.locator('[data-test=decide] button[data-test=reject]').click(),
    ]);
    await page.locator('[data-test=flash]').waitFor();
    const afterReject = await issueState();
    assert.equal(afterReject.deciding, 0, 'a rejected issue waits for rework, not for a decision');
    assert.notEqual(afterReject.status, beforeReject.status, 'the status changed');
    assert.equal(afterReject.history, beforeReject.history + 1, 'the history has the rejection');
    assert.match(
      await page.locator('[data-test=history] tbody tr').last().textContent(),
      new RegExp(rejectReason.slice(0, 12)),
      'the history shows the reason',
    );

    assert.equal(await queueCount(), queueBefore - 2, 'the queue is two shorter');
    const left = await page.locator('article[data-test=queue-item]').evaluateAll((items) => items.map((i) => i.dataset.issue));
    assert.ok(!left.includes(accepted) && !left.includes(rejected), 'neither decided issue is still queued');
  });

  it('downloads the bulletin as CSV and XLSX with every village and a total', async () => {
    await visit('/bulletin');
    const htmlRows = await page.locator('table[data-test=bulletin-table] tr[data-test=bulletin-row]').count();
    assert.equal(htmlRows, VILLAGES, 'the bulletin page has a row per village');
    await shoot('05-bulletin');
    const week = (await page.locator('a[data-test=download-csv]').getAttribute('href')).split('week=')[1];

    const fetchDownload = async (selector) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(selector).click()]);
      assert.equal(await download.failure(), null, `${selector}: the download failed`);
      const file = join(dataDir, `download-${download.suggestedFilename()}`);
      await download.saveAs(file);
      return { name: download.suggestedFilename(), bytes: await readFile(file) };
    };
    const names = new Set(villages.map((v) => v.name));
    const codes = villages.map((v) => v.code).sort();
    const codeOf = (cell) => cell.trim().split(/\s+/).pop();

    const csv = await fetchDownload('a[data-test=download-csv]');
    assert.equal(csv.name, `bulletin-${week}.csv`);
    assert.deepEqual([...csv.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV starts with a UTF-8 byte-order mark');
    const rows = parseCsv(csv.bytes.toString('utf8').slice(1));
    assert.deepEqual(rows[0].slice(0, 3), ['序号', '村居', '本周新增'], 'the CSV header');
    const body = rows.slice(1);
    assert.equal(body.length, VILLAGES + 1, 'a row per village and a total row');
    const total = body[body.length - 1];
    assert.equal(total[0], '', 'the total row has no number');
    assert.equal(total[1], '合计', 'the total row is labelled 合计');
    const villageRows = body.slice(0, -1);
    villageRows.forEach((row, index) => {
      assert.equal(row.length, rows[0].length, `CSV row ${index + 1} has every column`);
      assert.equal(row[0], String(index + 1), 'village rows are numbered 1…');
      assert.ok([...names].some((name) => row[1].startsWith(name)), `CSV village ${row[1]} is a ranked village`);
    });
    assert.deepEqual(villageRows.map((row) => codeOf(row[1])).sort(), codes, 'the CSV lists the ranked villages');
    for (const column of [2, 3, 4, 5, 6, 7]) {
      const sum = villageRows.reduce((acc, row) => acc + Number(row[column]), 0);
      assert.equal(Number(total[column]), sum, `the total of ${rows[0][column]} adds up`);
    }

    const xlsx = await fetchDownload('a[data-test=download-xlsx]');
    assert.equal(xlsx.name, `bulletin-${week}.xlsx`);
    const entries = readZip(xlsx.bytes);
    for (const part of ['[Content_Types].xml', 'xl/workbook.xml']) assert.ok(entries.has(part), `the XLSX has ${part}`);
    const sheet = sheetRows(entries);
    const headerAt = sheet.findIndex((row) => row[0] === '序号' && row[1] === '村居');
    assert.ok(headerAt >= 0, 'the sheet has the bulletin header row');
    const sheetBody = sheet.slice(headerAt + 1).filter((row) => row.some((cell) => cell !== ''));
    assert.equal(sheetBody.length, VILLAGES + 1, 'the sheet has a row per village and a total row');
    assert.deepEqual(
      sheetBody.slice(0, -1).map((row) => row[1]),
      villageRows.map((row) => row[1]),
      'the sheet names the same villages, in the same order, as the CSV',
    );
    assert.equal(sheetBody[sheetBody.length - 1][1], '合计');
  });

  it('draws the map with every village and the issues', async () => {
    await visit('/map');
    assert.equal(await page.locator('svg[data-test=map] [data-test=village-outline]').count(), VILLAGES);
    assert.ok(await page.locator('svg[data-test=map] [data-test=issue-dot]').count() > 0, 'the map has issue dots');
    await shoot('09-map');
  });

  it('switches to English', async () => {
    await visit('/ranking');
    await Promise.all([page.waitForURL(`${base}/ranking`), page.locator('a[data-test=language]').click()]);
    await assert.doesNotReject(page.locator('header nav a', { hasText: 'Village ranking' }).waitFor());
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.match(await page.locator('main h1').textContent(), /Village ranking/);
  });

  it('logs out, sends visitors to the login page, and keeps a secretary out of the district pages', async () => {
    await Promise.all([page.waitForURL(`${base}/login`), page.locator('form[action="/logout"] button').click()]);
    const response = await visit('/ranking');
    const landed = new URL(page.url());
    assert.equal(landed.pathname, '/login', 'a visitor asking for the ranking is sent to log in');
    assert.equal(landed.searchParams.get('next'), '/ranking', 'and brought back afterwards');
    assert.equal(response.request().redirectedFrom()?.url(), `${base}/ranking`);

    const secretary = summary.logins.find((login) => login.role === 'secretary');
    assert.ok(secretary, `the demo has a secretary (logins: ${summary.logins.map((l) => l.role).join(', ')})`);
    const landing = await logIn(secretary.user, secretary.password);
    assert.equal(pathOf(page.url()), '/ranking', 'after logging in the browser goes where it was going');
    assert.equal(landing.status(), 403, 'the ranking is forbidden to a secretary');
    assert.match(await page.locator('[data-test=error-title]').textContent(), /Not allowed/);
    await visit('/queue', 403);
    await visit('/bulletin', 403);
    await visit('/bulletin.csv', 403);
    // Exactly one village is theirs: it opens, with itself in the menu; every other village is refused.
    const open = [];
    for (const village of villages) {
      const reply = await page.goto(`${base}/villages/${village.code}`);
      assert.ok([200, 403].includes(reply.status()), `village ${village.code} answered ${reply.status()}`);
      if (reply.status() === 200) open.push(village.code);
    }
    assert.equal(open.length, 1, `a secretary sees one village (saw ${open.join(', ') || 'none'})`);
    await visit(`/villages/${open[0]}`);
    assert.equal(await page.locator(`header nav a[href="/villages/${open[0]}"]`).count(), 1, 'their village is in the menu');
    assert.equal(await page.locator('header nav a[href="/ranking"]').count(), 0, 'the district pages are not');
  });

  it('kept the console clean', () => {
    assert.deepEqual(problems, [], 'no console errors or uncaught page errors');
  });
});
