// The real hydrogen-js-sdk (npm, Bmob's JS SDK 2.7.3) against Phonebase, in signed mode
// (Bmob.initialize(secretKey, securityCode); Bmob.domain(url)): every request carries
// X-Bmob-Safe-Sign, which the server checks. The SDK runs as its browser build would (a `window`
// and a localStorage), because only there does it keep the logged-in user and send its
// X-Bmob-Session-Token (its Node storage keeps nothing).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { test } from 'node:test';

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required (run tests/sdk-bmob/run.sh)`);
  return v;
}
const env = {
  url: required('PHONEBASE_URL'),
  captchaUrl: required('CAPTCHA_URL'),
  captchaAnswer: required('CAPTCHA_ANSWER'),
  sinkPath: required('SINK_PATH'),
  secretKey: required('BMOB_SECRET_KEY'),
  securityCode: required('BMOB_SECURITY_CODE'),
};

// The browser's globals the SDK looks for.
const store = new Map();
globalThis.window = globalThis;
globalThis.localStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
  clear: () => store.clear(),
};
const Bmob = createRequire(import.meta.url)('hydrogen-js-sdk');
Bmob.initialize(env.secretKey, env.securityCode);
Bmob.domain(env.url);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The code of the `n`th message (1-based) sent to `e164`, waiting for the delivery worker. */
async function codeFor(e164, n = 1) {
  for (let i = 0; i < 100; i++) {
    let lines = [];
    try {
      lines = (await readFile(env.sinkPath, 'utf8')).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    const mine = lines.filter((m) => m.to === e164);
    if (mine.length >= n) return /\d{6}/.exec(mine[n - 1].text)[0];
    await sleep(100);
  }
  throw new Error(`no message ${n} for ${e164}`);
}

/** The SDK rejects with the response body whenever it carries `error`. */
async function rejectsWith(promise, code) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a rejection with code ${code}`);
  assert.equal(err.code, code, JSON.stringify(err));
  return err;
}

// Numbers unique to this run, so that reruns on one database stay within the limits.
const base = 13500000000 + (Date.now() % 100000) * 10;
const phone = (i) => String(base + i);
const e164 = (i) => `+86${phone(i)}`;

test('requestSmsCode, querySms (three spellings), verifySmsCode', async () => {
  const sent = await Bmob.requestSmsCode({ mobilePhoneNumber: phone(0), template: '' });
  assert.ok(Number.isInteger(sent.smsId), JSON.stringify(sent));
  const code = await codeFor(e164(0));
  for (const path of [`/1/querySms/${sent.smsId}`, `/1/querySms/:${sent.smsId}`, `/1/querySms/${sent.smsId}/`]) {
    const state = await Bmob.request(path, 'get');
    assert.ok(['SENDING', 'SUCCESS'].includes(state.sms_state), JSON.stringify(state));
    assert.equal(state.verify_state, false);
  }
  await rejectsWith(Bmob.verifySmsCode('000000', { mobilePhoneNumber: phone(0) }), 207);
  assert.deepEqual(await Bmob.verifySmsCode(code, { mobilePhoneNumber: phone(0) }), { msg: 'ok' });
  await rejectsWith(Bmob.verifySmsCode(code, { mobilePhoneNumber: phone(0) }), 207);
  const state = await Bmob.request(`/1/querySms/${sent.smsId}`, 'get');
  assert.equal(state.verify_state, true);
  // The limit: one code a minute per number.
  await rejectsWith(Bmob.requestSmsCode({ mobilePhoneNumber: phone(0) }), 10010);
});

test('captcha, then a send paid with its validate_token', async () => {
  // The fixture instance on the same database answers its captchas with CAPTCHA_ANSWER.
  Bmob.domain(env.captchaUrl);
  let captcha;
  try {
    captcha = await Bmob.request('/1/requestCaptcha', 'post', { width: 85, height: 30, size: 4, ttl: 60 });
  } finally {
    Bmob.domain(env.url);
  }
  assert.match(captcha.captcha_url, /\/1\/captchaImage\?secretKey=/);
  const image = await fetch(captcha.captcha_url);
  assert.equal(image.status, 200);
  assert.equal(image.headers.get('content-type'), 'image/png');
  const answer = env.captchaAnswer.slice(0, 4).toLowerCase();
  const { validate_token: token } = await Bmob.request('/1/verifyCaptcha', 'post', {
    captcha_code: answer,
    captcha_token: captcha.captcha_token,
  });
  assert.ok(token);
  const sent = await Bmob.requestSmsCode({ mobilePhoneNumber: phone(1), validate_token: token });
  assert.ok(Number.isInteger(sent.smsId));
  // A validate_token pays for one send.
  await rejectsWith(Bmob.requestSmsCode({ mobilePhoneNumber: phone(2), validate_token: token }), 207);
});

test('signOrLoginByMobilePhone creates a verified user', async () => {
  await Bmob.requestSmsCode({ mobilePhoneNumber: phone(3) });
  const code = await codeFor(e164(3));
  const user = await Bmob.User.signOrLoginByMobilePhone(phone(3), code);
  assert.ok(user.objectId && user.sessionToken, JSON.stringify(user));
  assert.equal(user.mobilePhoneNumber, phone(3));
  assert.equal(user.mobilePhoneNumberVerified, true);
  await rejectsWith(Bmob.User.signOrLoginByMobilePhone(phone(3), code), 207);
});

test('register, login, checkSession, save, update and reset the password', async () => {
  const username = `sdk-${base}`;
  const created = await Bmob.User.register({ username, password: 'p@ss word&x', mobilePhoneNumber: phone(4) });
  assert.ok(created.objectId && created.sessionToken, JSON.stringify(created));
  assert.match(created.createdAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const id = created.objectId;

  await rejectsWith(Bmob.User.login(username, 'wrong'), 101);
  const user = await Bmob.User.login(username, 'p@ss word&x');
  assert.equal(user.objectId, id);
  assert.equal(Bmob.User.current().sessionToken, user.sessionToken, 'the SDK keeps the user');
  assert.deepEqual(await Bmob.request(`/1/checkSession/${id}`, 'get'), { msg: 'ok' });

  // User.get / set / save: GET and PUT /1/classes/_User/<id> with the session.
  const record = await Bmob.User.get(id);
  assert.equal(record.username, username);
  record.set('nickname', 'Ann');
  const saved = await record.save();
  assert.match(saved.updatedAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, JSON.stringify(saved));
  assert.equal((await Bmob.User.get(id)).nickname, 'Ann');

  await rejectsWith(Bmob.updateUserPassword(id, { oldPassword: 'nope', newPassword: 'n3w-pass' }), 210);
  assert.deepEqual(await Bmob.updateUserPassword(id, { oldPassword: 'p@ss word&x', newPassword: 'n3w-pass' }), {
    msg: 'ok',
  });
  assert.deepEqual(await Bmob.request(`/1/checkSession/${id}`, 'get'), { msg: 'ok' }, 'the caller stays');
  await Bmob.User.login(phone(4), 'n3w-pass');

  // Reset by the code of a plain requestSmsCode: no number in the call.
  await Bmob.requestSmsCode({ mobilePhoneNumber: phone(4) });
  const code = await codeFor(e164(4));
  assert.deepEqual(await Bmob.resetPasswordBySmsCode(code, { password: 'r3set-pass' }), { msg: 'ok' });
  assert.deepEqual(await Bmob.request(`/1/checkSession/${id}`, 'get'), { msg: 'fail' }, 'a reset ends sessions');
  const again = await Bmob.User.login(username, 'r3set-pass');
  assert.equal(again.objectId, id);
  Bmob.User.logout();
});

test('the server clock, and a wrong security code is 401', async () => {
  const time = await Bmob.timestamp();
  assert.ok(Math.abs(time.timestamp - Date.now() / 1000) < 30, JSON.stringify(time));
  assert.match(time.datetime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  Bmob.initialize(env.secretKey, 'not-the-security-code');
  try {
    const err = await rejectsWith(Bmob.requestSmsCode({ mobilePhoneNumber: phone(5) }), 401);
    assert.equal(err.error, 'unauthorized');
  } finally {
    Bmob.initialize(env.secretKey, env.securityCode);
  }
});
