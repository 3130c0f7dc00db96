// The operator console in Debian's Chromium, and the end-to-end path of a template from the SDK
// through review: 605 before approval, the rendered text in the sink after it.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import AV from 'leancloud-storage';
import { chromium } from 'playwright-core';

const url = process.env.PHONEBASE_URL;
const app = JSON.parse(process.env.APP_JSON);
const sinkPath = process.env.SINK_PATH;
const shots = process.env.SCREENSHOT_DIR;
const operator = { name: process.env.OPERATOR_NAME, password: process.env.OPERATOR_PASSWORD };
const phone = '13800138900';

/** A master-key call to the owner's template API. */
async function owner(method, route, body) {
  const res = await fetch(`${url}/1.1${route}`, {
    method,
    headers: { 'X-LC-Id': app.appId, 'X-LC-Key': `${app.masterKey},master`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function sinkTexts(to) {
  const text = await readFile(sinkPath, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.to === to).map((m) => m.text);
}

async function waitForText(to, count) {
  for (let i = 0; i < 100; i++) {
    const texts = await sinkTexts(to);
    if (texts.length >= count) return texts[count - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message #${count} to ${to} in ${sinkPath}`);
}

let browser;
let page;

before(async () => {
  AV.init({ appId: app.appId, appKey: app.appKey, serverURL: url });
  await owner('POST', '/sms/templates', {
    name: 'welcome',
    category: 'verification',
    body: '欢迎 {{user}}，{{name}} 验证码 {{code}}，{{ttl}} 分钟内有效',
  });
  await owner('POST', '/sms/templates', { name: 'notice', category: 'notification', body: 'Hello {{user}}, big news!' });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
});

after(async () => {
  await browser?.close();
});

test('a template under review is refused with 605', async () => {
  await assert.rejects(
    AV.Cloud.requestSmsCode({ mobilePhoneNumber: phone, template: 'welcome', user: 'Ann' }),
    (err) => err.code === 605,
  );
  assert.equal((await sinkTexts(`+86${phone}`)).length, 0);
});

test('an operator signs in, approves one template and rejects another with a reason', async () => {
  await page.goto(`${url}/console`);
  assert.match(page.url(), /\/console\/login$/, 'not signed in: the sign-in page');
  await page.fill('input[name=username]', operator.name);
  await page.fill('input[name=password]', 'wrong password');
  await page.click('button[type=submit]');
  assert.match(await page.textContent('#error'), /Wrong username or password/);
  await page.fill('input[name=username]', operator.name);
  await page.fill('input[name=password]', operator.password);
  await page.click('button[type=submit]');
  // The dashboard is the first page after sign-in.
  await page.waitForURL(/\/console\/dashboard$/);
  await page.goto(`${url}/console/review`);

  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'pb_console');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(session));

  const welcome = page.locator('section.entry[data-name=welcome]');
  assert.match(await welcome.locator('.preview').first().textContent(), /欢迎 user，Shop 验证码 123456，10 分钟内有效/);
  assert.equal(await welcome.locator('.parts').textContent(), '1');
  await page.screenshot({ path: path.join(shots, 'review-queue.png'), fullPage: true });

  await welcome.locator('button.approve').click();
  await page.waitForURL(/notice=/);
  assert.match(await page.textContent('#notice'), /template welcome approved/);

  const notice = page.locator('section.entry[data-name=notice]');
  await notice.locator('input.reason').fill('Reads like marketing');
  await notice.locator('button.reject').click();
  await page.waitForURL(/notice=template%20notice|notice=template\+notice/);
  assert.match(await page.textContent('#notice'), /template notice rejected/);
  assert.match(await page.textContent('#empty'), /Nothing waits for review/);
  await page.screenshot({ path: path.join(shots, 'review-done.png'), fullPage: true });

  const list = await owner('GET', '/sms/templates');
  const byName = Object.fromEntries(list.results.map((t) => [t.name, t]));
  assert.equal(byName.welcome.live.state, 'approved');
  assert.equal(byName.notice.pending.state, 'rejected');
  assert.equal(byName.notice.pending.reason, 'Reads like marketing');
  const history = await owner('GET', `/sms/templates/${byName.notice.objectId}/history`);
  assert.equal(history.events.at(-1).by, `operator:${operator.name}`);
});

test('after approval the same SDK call succeeds and the sink shows the rendered text', async () => {
  await AV.Cloud.requestSmsCode({ mobilePhoneNumber: phone, template: 'welcome', user: 'Ann' });
  const text = await waitForText(`+86${phone}`, 1);
  const code = /(?<!\d)(\d{6})(?!\d)/.exec(text)?.[1];
  assert.equal(text, `欢迎 Ann，Shop 验证码 ${code}，10 分钟内有效`);
  await AV.Cloud.verifySmsCode(code, phone);
});

test('the operator finds the message in the log', async () => {
  const rows = page.locator('tr.message');
  // The sink has the text before the worker records the delivery: look again for a moment.
  for (let i = 0; i < 20; i++) {
    await page.goto(`${url}/console/messages`);
    await page.fill('input[name=to]', phone);
    await page.selectOption('select[name=status]', 'delivered');
    await page.click('#filters button[type=submit]');
    await page.waitForURL(/to=13800138900/);
    if ((await rows.count()) > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().locator('.template').textContent(), 'welcome');
  assert.equal(await rows.first().locator('.to').textContent(), `+86${phone}`);
  assert.match(await rows.first().locator('.text').textContent(), /欢迎 Ann，Shop 验证码 \*{6}/);
  await page.screenshot({ path: path.join(shots, 'messages.png'), fullPage: true });
});

test('the dashboard charts the codes, the refusals and the delivery, from files Phonebase serves', async () => {
  // One refusal by the per-minute limit: the number just got its code.
  await assert.rejects(AV.Cloud.requestSmsCode({ mobilePhoneNumber: phone }), (err) => err.code === 601);
  // A second code to another number, left unverified.
  await AV.Cloud.requestSmsCode({ mobilePhoneNumber: '13800138901' });
  await waitForText('+8613800138901', 1);

  // No request may leave this server: the console works offline.
  const foreign = [];
  page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:')) foreign.push(r.url()); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(`${url}/console/dashboard`);
  await page.waitForSelector('#chart-codes[data-rendered=true] canvas');
  for (const id of ['chart-codes', 'chart-refusals', 'chart-delivery', 'chart-latency']) {
    assert.equal(await page.locator(`#${id} canvas`).count(), 1, `${id} drew a canvas`);
  }
  assert.equal(await page.textContent('#card-sent .card-value'), '2');
  assert.equal(await page.textContent('#card-verified .card-value'), '1');
  assert.equal(await page.textContent('#card-conversion .card-value'), '50%');
  // The template still under review (605) in the first test, and the limit here.
  assert.equal(await page.textContent('#card-refused .card-value'), '2');
  // The legends carry the figures.
  const legend = await page.locator('#chart-codes .u-legend').textContent();
  assert.match(legend, /Sent \(2\)/);
  assert.match(legend, /Verified \(1\)/);
  assert.match(legend, /Conversion \(50%\)/);
  const refusals = await page.locator('#chart-refusals .u-legend').textContent();
  assert.match(refusals, /limit \(1\)/);
  assert.match(refusals, /template \(1\)/);
  assert.match(await page.locator('#chart-delivery .u-legend').textContent(), /sink \(100%\)/);
  assert.equal(await page.textContent('#refusals tr.refusal .reason'), 'limit');
  assert.equal(await page.textContent('#prefixes tr.place .sent'), '2');
  assert.match(await page.textContent('#dashboard-apps tr.app-row .name'), /Shop/);
  // Canvas pixels were drawn (not a blank element).
  const inked = await page.$eval('#chart-codes canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  assert.ok(inked > 1000, `the codes chart has ink (${inked} pixels)`);
  await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });

  // The app and the range are kept in the URL.
  await page.selectOption('#app-select', { label: 'Shop' });
  await page.waitForURL(new RegExp(`app=${app.appId}`));
  await page.click('#range-7d');
  await page.waitForURL(/range=7d/);
  assert.match(page.url(), new RegExp(`app=${app.appId}`));
  await page.waitForSelector('#chart-codes[data-rendered=true] canvas');
  assert.match(await page.textContent('#scope'), /Shop/);
  assert.equal(await page.locator('#dashboard-apps').count(), 0, 'one app: no table of apps');
  assert.equal(await page.textContent('#card-sent .card-value'), '2');
  await page.screenshot({ path: path.join(shots, 'dashboard-app-7d.png'), fullPage: true });

  assert.deepEqual(foreign, []);
  assert.deepEqual(errors, []);
});

test('every page shares the style sheet and names apps, not ids', async () => {
  for (const [route, shot] of [['/console/apps', 'apps.png'], [`/console/apps/${app.appId}`, 'app.png'], ['/console/providers', 'providers.png']]) {
    await page.goto(`${url}${route}`);
    const sheet = await page.$eval('link[rel=stylesheet]', (l) => l.href);
    assert.match(sheet, /\/console\/static\/console\.css\?v=[0-9a-f]{12}$/);
    // The style sheet applied: the top bar is dark.
    const bar = await page.$eval('header.topbar', (h) => getComputedStyle(h).backgroundColor);
    assert.equal(bar, 'rgb(17, 24, 39)');
    await page.screenshot({ path: path.join(shots, shot), fullPage: true });
  }
  await page.goto(`${url}/console/messages?app=${app.appId}`);
  assert.equal(await page.locator('tr.message .app').first().textContent(), 'Shop');
  assert.equal(await page.$eval('select[name=app]', (s) => s.selectedOptions[0].textContent), 'Shop');
  await page.selectOption('select[name=status]', 'delivered');
  await page.click('#filters button[type=submit]');
  await page.waitForURL(/status=delivered/);
  assert.match(page.url(), new RegExp(`app=${app.appId}`), 'filters kept in the URL');
});
