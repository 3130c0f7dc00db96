// Drives the real `leancloud-storage` 4.x SDK (npm) against a running Phonebase.
// Run through tests/sdk/run.sh, which starts a server and sets the environment:
//   PHONEBASE_URL, APP_ID, APP_KEY, MASTER_KEY, SINK_PATH
//   TEST_NUMBER, TEST_NUMBER_CODE   (a fixed test number configured in the app, optional)
//   PB_BIN + PHONEBASE_DATA_DIR [+ DATABASE_URL]   (CLI for extra apps, optional)
// Contract: shared/contracts/leancloud.md sections 1-3, 5.1-5.3 and 6.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import AV from 'leancloud-storage';

import {
  codeOf,
  createApp,
  env,
  isolated,
  md5,
  otherCode,
  rejectsWith,
  sinkFor,
  sleep,
  startProxy,
  statusOf,
  updateApp,
  waitForMessage,
} from './lib/harness.mjs';

// ---------------------------------------------------------------------------------------------
// Distinct Chinese mobile numbers per test, from a random block so that a rerun against the same
// server does not trip the per-phone limits of an earlier run.

let nextLocal = Math.floor(Math.random() * 9000);
function phone() {
  const local = String(nextLocal++ % 10000).padStart(4, '0');
  return `1380013${local}`; // bare form; E.164 is +86 + this
}
const e164 = (p) => (p.startsWith('+') ? p : `+86${p}`);

/** Requests a code with the SDK and reads it from the sink. Returns {message, code}. */
async function requestAndRead(arg, options) {
  const number = typeof arg === 'string' ? arg : arg.mobilePhoneNumber;
  const before = (await sinkFor(e164(number))).length;
  const res = await AV.Cloud.requestSmsCode(arg, options);
  assert.deepEqual(res, {}, 'requestSmsCode resolves with {}');
  const message = await waitForMessage(e164(number), before);
  return { message, code: codeOf(message) };
}

let proxy;
const cliSkip = env.bin ? false : 'PB_BIN not set: cannot create extra apps';

before(async () => {
  proxy = await startProxy(env.url);
  AV.init({ appId: env.appId, appKey: env.appKey, masterKey: env.masterKey, serverURL: proxy.url });
});

after(async () => {
  await proxy?.close();
});

// ---------------------------------------------------------------------------------------------

test('getServerDate returns the server time as a Date', async () => {
  const date = await AV.Cloud.getServerDate();
  assert.ok(date instanceof Date, 'a Date');
  assert.ok(!Number.isNaN(date.getTime()), 'a valid Date');
  assert.ok(Math.abs(date.getTime() - Date.now()) < 60_000, `close to now: ${date.toISOString()}`);
  const rec = proxy.last('/1.1/date');
  assert.equal(rec.method, 'GET');
  assert.equal(rec.status, 200);
  const body = JSON.parse(rec.response);
  assert.equal(body.__type, 'Date');
  assert.match(body.iso, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('requestSmsCode(string) then verifySmsCode(code, phone) succeeds; the code is single use', async () => {
  const p = phone();
  const { message, code } = await requestAndRead(p);
  assert.equal(message.to, e164(p));
  assert.equal(message.channel, 'sms');
  assert.equal(message.app, env.appId);
  assert.match(code, /^\d{6}$/);
  assert.match(message.text, new RegExp(`验证码 ${code}`), 'Chinese default text for +86');
  assert.match(message.text, /10 分钟内有效/, 'default ttl is 10 minutes');

  // What the SDK put on the wire.
  const req = proxy.last('/1.1/requestSmsCode');
  assert.equal(req.method, 'POST');
  assert.deepEqual(JSON.parse(req.body), { mobilePhoneNumber: p }, 'number sent verbatim, no +86 added');
  assert.equal(req.status, 200);
  assert.match(req.responseHeaders['content-type'], /^application\/json/);

  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
  const ver = proxy.last(`/1.1/verifySmsCode/${code}`);
  assert.deepEqual(JSON.parse(ver.body), { mobilePhoneNumber: p });

  const err = await rejectsWith(AV.Cloud.verifySmsCode(code, p), 603, 'same code twice');
  assert.equal(statusOf(err), 400);
  assert.equal(err.rawMessage, 'Invalid SMS code.');
  assert.match(proxy.last(`/1.1/verifySmsCode/${code}`).responseHeaders['content-type'], /^application\/json/);
});

test('the SDK signs every request with X-LC-Sign = md5(ts + appKey),ts and the server accepts it', async () => {
  const recs = proxy.records.filter((r) => r.headers['x-lc-id'] === env.appId && !r.url.endsWith('/date'));
  assert.ok(recs.length > 0, 'some signed requests were made');
  for (const r of recs) {
    assert.equal(r.headers['x-lc-key'], undefined, 'no X-LC-Key');
    const sign = r.headers['x-lc-sign'];
    assert.ok(sign, `X-LC-Sign on ${r.method} ${r.url}`);
    const [sig, ts, suffix] = sign.split(',');
    assert.equal(suffix, undefined, 'no ,master without useMasterKey');
    assert.match(ts, /^\d{13}$/, 'millisecond timestamp');
    assert.equal(sig, md5(ts + env.appKey));
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.notEqual(r.status, 401);
  }
});

test('a wrong code is rejected with 603 and does not consume the right one', async () => {
  const p = phone();
  const { code } = await requestAndRead(p);
  await rejectsWith(AV.Cloud.verifySmsCode(otherCode(code), p), 603, 'wrong code');
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test('a code is bound to its number; a number without a code gets 603', async () => {
  const a = phone();
  const b = phone();
  const { code } = await requestAndRead(a);
  await rejectsWith(AV.Cloud.verifySmsCode(code, b), 603, "a's code with b");
  await rejectsWith(AV.Cloud.verifySmsCode('123456', phone()), 603, 'number that never got a code');
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, a), {});
});

test("'138...' and '+86138...' are the same number (request bare, verify +86)", async () => {
  const p = phone();
  const { message, code } = await requestAndRead(p);
  assert.equal(message.to, `+86${p}`);
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, `+86${p}`), {});
  await rejectsWith(AV.Cloud.verifySmsCode(code, p), 603, 'consumed under either form');
});

test("'+86138...' and '138...' are the same number (request +86, verify bare; one rate limit)", async () => {
  const p = phone();
  const { message, code } = await requestAndRead(`+86${p}`);
  assert.equal(message.to, `+86${p}`);
  await rejectsWith(AV.Cloud.requestSmsCode(p), 601, 'bare form shares the per-minute limit');
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test('options form with ttl, name and op: text carries them, code verifies', async () => {
  const p = phone();
  const name = 'Phonebase测试';
  const op = '登录验证';
  const { message, code } = await requestAndRead({ mobilePhoneNumber: p, ttl: 5, name, op });
  assert.ok(message.text.includes(name), `name in text: ${message.text}`);
  assert.ok(message.text.includes(op), `op in text: ${message.text}`);
  assert.match(message.text, /(?<!\d)5 分钟/, `ttl minutes in text: ${message.text}`);
  assert.ok(!message.text.includes('10 分钟'), 'not the default ttl');
  assert.deepEqual(
    JSON.parse(proxy.last('/1.1/requestSmsCode').body),
    { mobilePhoneNumber: p, ttl: 5, name, op },
    'options passed through unchanged',
  );
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test('ttl given as a string ("7") is accepted (contract 1.2: numbers may arrive as strings)', async () => {
  const p = phone();
  const { message, code } = await requestAndRead({ mobilePhoneNumber: p, ttl: '7' });
  assert.match(message.text, /(?<!\d)7 分钟/, `ttl minutes in text: ${message.text}`);
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test("smsType 'voice' is delivered on the voice channel and shares the per-number limit", async () => {
  const p = phone();
  const { message, code } = await requestAndRead({ mobilePhoneNumber: p, smsType: 'voice' });
  assert.equal(message.channel, 'voice');
  assert.ok(message.text.includes(`验证码是：${code}`), `voice text: ${message.text}`);
  await rejectsWith(AV.Cloud.requestSmsCode(p), 601, 'sms right after voice');
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test('a second request for the same number within a minute gets 601; the first code still works', async () => {
  const p = phone();
  const before = (await sinkFor(e164(p))).length;
  const { code } = await requestAndRead(p);
  const err = await rejectsWith(AV.Cloud.requestSmsCode(p), 601, 'second request');
  assert.ok(statusOf(err) >= 400, 'non-2xx');
  await rejectsWith(AV.Cloud.requestSmsCode({ mobilePhoneNumber: p, smsType: 'voice' }), 601, 'voice too');
  await sleep(400);
  assert.equal((await sinkFor(e164(p))).length, before + 1, 'only one message delivered');
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test("the SDK's (stale) session token does not get in the way of SMS requests", async () => {
  const p = phone();
  const { code } = await requestAndRead(p, { sessionToken: 'stale0session0token000000' });
  assert.equal(proxy.last('/1.1/requestSmsCode').headers['x-lc-session'], 'stale0session0token000000');
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test('verifySmsCode(code) without a number sends {} and gets 212', async () => {
  const err = await rejectsWith(AV.Cloud.verifySmsCode('123456'), 212, 'no number');
  assert.equal(statusOf(err), 400);
  assert.deepEqual(JSON.parse(proxy.last('/1.1/verifySmsCode/123456').body), {});
});

test('invalid numbers get 127', async () => {
  for (const bad of ['12345', '1380013800', '+8612345', 'not-a-number', '+86abc13800138000']) {
    const err = await rejectsWith(AV.Cloud.requestSmsCode(bad), 127, bad);
    assert.equal(statusOf(err), 400, `status for ${bad}`);
  }
});

test('a missing number is refused by the SDK itself, before any request (212 is unreachable)', async () => {
  const count = proxy.records.length;
  assert.throws(() => AV.Cloud.requestSmsCode(''), /Missing mobilePhoneNumber/);
  assert.throws(() => AV.Cloud.requestSmsCode({ ttl: 5 }), /Missing mobilePhoneNumber/);
  assert.equal(proxy.records.length, count, 'no request sent');
});

test('bad parameters get code 1: ttl 31, ttl 0, unknown smsType', async () => {
  await rejectsWith(AV.Cloud.requestSmsCode({ mobilePhoneNumber: phone(), ttl: 31 }), 1, 'ttl 31');
  await rejectsWith(AV.Cloud.requestSmsCode({ mobilePhoneNumber: phone(), ttl: 0 }), 1, 'ttl 0');
  await rejectsWith(AV.Cloud.requestSmsCode({ mobilePhoneNumber: phone(), smsType: 'fax' }), 1, 'smsType fax');
  // ttl 30 is the documented maximum and is fine.
  const p = phone();
  const { message, code } = await requestAndRead({ mobilePhoneNumber: p, ttl: 30 });
  assert.match(message.text, /30 分钟/);
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test('template gets 604 and sign gets 600 (none are configured)', async () => {
  const a = phone();
  await rejectsWith(AV.Cloud.requestSmsCode({ mobilePhoneNumber: a, template: 'welcome' }), 604, 'template');
  const b = phone();
  await rejectsWith(AV.Cloud.requestSmsCode({ mobilePhoneNumber: b, sign: 'Phonebase' }), 600, 'sign');
  await sleep(300);
  assert.equal((await sinkFor(e164(a))).length, 0, 'nothing sent for the template request');
  assert.equal((await sinkFor(e164(b))).length, 0, 'nothing sent for the sign request');
});

test('an international number gets code 1 while international SMS is off', async () => {
  const intl = '+447400123456';
  const err = await rejectsWith(AV.Cloud.requestSmsCode(intl), 1, 'international disabled');
  assert.ok(statusOf(err) >= 400);
  await sleep(200);
  assert.equal((await sinkFor(intl)).length, 0);
});

test('international SMS: code 1 until the app enables it, then English text', { skip: cliSkip }, async () => {
  const app = await createApp('sdk-intl');
  const cfg = { ...app, serverURL: proxy.url };
  const off = await isolated(cfg, [{ fn: 'requestSmsCode', args: ['+447400123456'] }]);
  assert.equal(off[0].ok, false, 'rejected while disabled');
  assert.equal(off[0].code, 1);

  await updateApp(app.appId, { international_sms: true });
  const intl = '+447400123457';
  const before = (await sinkFor(intl)).length;
  const on = await isolated(cfg, [{ fn: 'requestSmsCode', args: [intl] }]);
  assert.deepEqual(on[0], { ok: true, value: {} }, 'accepted once enabled');
  const message = await waitForMessage(intl, before);
  assert.equal(message.app, app.appId);
  assert.equal(message.channel, 'sms');
  assert.match(message.text, /Your code is \d{6}/, `English text: ${message.text}`);
  const code = codeOf(message);
  const verified = await isolated(cfg, [
    { fn: 'verifySmsCode', args: [code, intl] },
    { fn: 'verifySmsCode', args: [code, intl] },
  ]);
  assert.deepEqual(verified[0], { ok: true, value: {} });
  assert.equal(verified[1].code, 603);

  // Voice codes are domestic only (contract 6.1), even with international SMS on.
  const voiceIntl = '+447400123458';
  const voice = await isolated(cfg, [{ fn: 'requestSmsCode', args: [{ mobilePhoneNumber: voiceIntl, smsType: 'voice' }] }]);
  assert.equal(voice[0].ok, false, 'voice to +44 refused');
  assert.ok(statusOf(voice[0]) >= 400);
  await sleep(200);
  assert.equal((await sinkFor(voiceIntl)).length, 0);
});

test('a test number with a fixed code: no message is sent, and the code always verifies', {
  skip: env.testNumber ? false : 'TEST_NUMBER not set',
}, async () => {
  const number = env.testNumber;
  const fixed = env.testNumberCode;
  const bare = number.replace(/^\+86/, '');
  const before = (await sinkFor(number)).length;
  assert.deepEqual(await AV.Cloud.requestSmsCode(number), {});
  assert.deepEqual(await AV.Cloud.verifySmsCode(fixed, number), {});
  assert.deepEqual(await AV.Cloud.verifySmsCode(fixed, number), {}, 'again');
  assert.deepEqual(await AV.Cloud.verifySmsCode(fixed, bare), {}, 'bare form');
  await rejectsWith(AV.Cloud.verifySmsCode(otherCode(fixed), number), 603, 'another code');
  assert.deepEqual(await AV.Cloud.verifySmsCode(fixed, number), {}, 'still verifies after a wrong one');
  // The docs say a test number is still subject to the rate limits.
  await rejectsWith(AV.Cloud.requestSmsCode(number), 601, 'second request within a minute');
  await sleep(600); // several worker polls
  assert.equal((await sinkFor(number)).length, before, 'no sink line for a test number');
});

test('five wrong attempts kill a code: the right code then gets 603', async () => {
  const p = phone();
  const { code } = await requestAndRead(p);
  const wrong = otherCode(code);
  for (let i = 1; i <= 5; i++) {
    await rejectsWith(AV.Cloud.verifySmsCode(wrong, p), 603, `wrong attempt ${i}`);
  }
  await rejectsWith(AV.Cloud.verifySmsCode(code, p), 603, 'right code after 5 wrong');
});

test('four wrong attempts do not kill a code', async () => {
  const p = phone();
  const { code } = await requestAndRead(p);
  const wrong = otherCode(code);
  for (let i = 1; i <= 4; i++) {
    await rejectsWith(AV.Cloud.verifySmsCode(wrong, p), 603, `wrong attempt ${i}`);
  }
  assert.deepEqual(await AV.Cloud.verifySmsCode(code, p), {});
});

test('useMasterKey: the SDK signs with ",master" and the server accepts it', async () => {
  const p = phone();
  const { code } = await requestAndRead(p, { useMasterKey: true });
  const req = proxy.last('/1.1/requestSmsCode');
  const [sig, ts, suffix] = req.headers['x-lc-sign'].split(',');
  assert.equal(suffix, 'master');
  assert.equal(sig, md5(ts + env.masterKey));
  assert.equal(req.headers['x-lc-key'], undefined);

  // verifySmsCode takes no auth options; AV.Cloud.useMasterKey() (Node) switches the whole SDK.
  const res = await isolated(
    { appId: env.appId, appKey: env.appKey, masterKey: env.masterKey, serverURL: proxy.url, useMasterKey: true },
    [{ fn: 'verifySmsCode', args: [code, p] }],
  );
  assert.deepEqual(res[0], { ok: true, value: {} });
  const ver = proxy.last(`/1.1/verifySmsCode/${code}`);
  assert.match(ver.headers['x-lc-sign'], /,master$/);
});

test('a wrong master key with useMasterKey gets 401', async () => {
  const p = phone();
  const res = await isolated(
    { appId: env.appId, appKey: env.appKey, masterKey: 'wrong-master-key', serverURL: proxy.url, useMasterKey: true },
    [{ fn: 'requestSmsCode', args: [p] }],
  );
  assert.equal(res[0].ok, false);
  assert.equal(res[0].code, 401);
  assert.equal(res[0].rawMessage, 'Unauthorized.');
  await sleep(200);
  assert.equal((await sinkFor(e164(p))).length, 0);
});

test('AV.init with a wrong appKey gets 401 Unauthorized (but /date needs no auth)', async () => {
  const p = phone();
  const res = await isolated({ appId: env.appId, appKey: 'wrong-app-key', serverURL: proxy.url }, [
    { fn: 'requestSmsCode', args: [p] },
    { fn: 'verifySmsCode', args: ['123456', p] },
    { fn: 'getServerDate' },
  ]);
  for (const r of res.slice(0, 2)) {
    assert.equal(r.ok, false);
    assert.equal(r.code, 401);
    assert.equal(r.rawMessage, 'Unauthorized.');
    assert.match(r.message, /^Unauthorized\. \[401 POST http:\/\/127\.0\.0\.1:\d+\/1\.1\//);
  }
  assert.equal(res[2].ok, true, '/date without valid keys');
  const rec = proxy.last('/1.1/requestSmsCode');
  assert.equal(rec.status, 401);
  assert.match(rec.responseHeaders['content-type'], /^application\/json/);
  assert.deepEqual(JSON.parse(rec.response), { code: 401, error: 'Unauthorized.' });
  await sleep(200);
  assert.equal((await sinkFor(e164(p))).length, 0);
});

test('an unknown appId gets 401', async () => {
  const res = await isolated({ appId: 'noSuchAppId0000000000000', appKey: env.appKey, serverURL: proxy.url }, [
    { fn: 'requestSmsCode', args: [phone()] },
  ]);
  assert.equal(res[0].ok, false);
  assert.equal(res[0].code, 401);
});

test('an app with SMS disabled gets 119 (HTTP 403)', { skip: cliSkip }, async () => {
  const app = await createApp('sdk-off', { sms_enabled: false });
  const p = phone();
  const res = await isolated({ ...app, serverURL: proxy.url }, [
    { fn: 'requestSmsCode', args: [p] },
    { fn: 'verifySmsCode', args: ['123456', p] },
  ]);
  assert.equal(res[0].ok, false);
  assert.equal(res[0].code, 119);
  assert.equal(statusOf(res[0]), 403);
  assert.equal(res[1].ok, false, 'verify refused too');
  await sleep(200);
  assert.equal((await sinkFor(e164(p))).length, 0);
});

test('per-hour limit per number (per-minute limit disabled with 0)', { skip: cliSkip }, async () => {
  const app = await createApp('sdk-limits', { limits: { phone_per_minute: 0, phone_per_hour: 3 } });
  const p = phone();
  const res = await isolated({ ...app, serverURL: proxy.url }, [
    { fn: 'requestSmsCode', args: [p] },
    { fn: 'requestSmsCode', args: [p] },
    { fn: 'requestSmsCode', args: [`+86${p}`] },
    { fn: 'requestSmsCode', args: [p] },
  ]);
  assert.deepEqual(
    res.map((r) => (r.ok ? 'ok' : r.code)),
    ['ok', 'ok', 'ok', 601],
  );
  // Three messages, three distinct codes; the newest verifies.
  const m3 = await waitForMessage(e164(p), 2);
  const codes = (await sinkFor(e164(p))).filter((m) => m.app === app.appId).map(codeOf);
  assert.equal(codes.length, 3);
  const v = await isolated({ ...app, serverURL: proxy.url }, [{ fn: 'verifySmsCode', args: [codeOf(m3), p] }]);
  assert.deepEqual(v[0], { ok: true, value: {} });
});

test('per-day limit per number (per-minute and per-hour limits disabled with 0)', { skip: cliSkip }, async () => {
  const app = await createApp('sdk-daily', { limits: { phone_per_minute: 0, phone_per_hour: 0, phone_per_day: 2 } });
  const p = phone();
  const res = await isolated({ ...app, serverURL: proxy.url }, [
    { fn: 'requestSmsCode', args: [p] },
    { fn: 'requestSmsCode', args: [{ mobilePhoneNumber: p, smsType: 'voice' }] },
    { fn: 'requestSmsCode', args: [p] },
  ]);
  assert.deepEqual(
    res.map((r) => (r.ok ? 'ok' : r.code)),
    ['ok', 'ok', 601],
  );
});

test('per-address limit: distinct numbers from one client are throttled', { skip: cliSkip }, async () => {
  const app = await createApp('sdk-ip', { limits: { phone_per_minute: 0, ip_per_hour: 2 } });
  const res = await isolated({ ...app, serverURL: proxy.url }, [
    { fn: 'requestSmsCode', args: [phone()] },
    { fn: 'requestSmsCode', args: [phone()] },
    { fn: 'requestSmsCode', args: [phone()] },
  ]);
  assert.equal(res[0].ok, true);
  assert.equal(res[1].ok, true);
  assert.equal(res[2].ok, false, 'third number from the same address refused');
  // The contract documents only the per-number throttle (601); 429 would be fair for this one too.
  assert.ok([601, 429].includes(res[2].code), `code ${res[2].code}: ${res[2].message}`);
});
