// Image captcha through the real SDK (AV.Captcha, AV.Cloud.verifyCaptcha, validateToken options),
// contract §5.4. The SDK talks to the captcha fixture (CAPTCHA_URL): a second Phonebase instance
// on the same database whose captcha answers are CAPTCHA_ANSWER; the first instance delivers.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import AV from 'leancloud-storage';

import { codeOf, createApp, env, rejectsWith, sinkFor, statusOf, waitForMessage } from './lib/harness.mjs';

const captchaUrl = process.env.CAPTCHA_URL;
const answer = process.env.CAPTCHA_ANSWER;
const skip = captchaUrl && answer && env.bin ? false : 'CAPTCHA_URL, CAPTCHA_ANSWER or PB_BIN not set (run.sh sets them)';
const answerOf = (size) => answer.repeat(2).slice(0, size);

let nextLocal = Math.floor(Math.random() * 9000);
const phone = () => `1390013${String(nextLocal++ % 10000).padStart(4, '0')}`;
const e164 = (p) => `+86${p}`;

before(async () => {
  if (skip) return;
  // An app of its own that forces a captcha on every send; no per-number minute limit, since one
  // number gets several codes here.
  const app = await createApp('sdk-captcha', {
    policy: { captcha_required: true },
    limits: { phone_per_minute: 0, phone_per_hour: 0, phone_per_day: 0 },
  });
  AV.init({ appId: app.appId, appKey: app.appKey, masterKey: app.masterKey, serverURL: captchaUrl });
});

/** PNG signature and the IHDR width/height. */
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, 'PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

async function validateToken() {
  const captcha = await AV.Captcha.request();
  return captcha.verify(answerOf(4).toLowerCase());
}

test('AV.Captcha: the image loads without headers, a right answer pays for exactly one send', { skip }, async () => {
  const p = phone();
  await rejectsWith(AV.Cloud.requestSmsCode(p), 608, 'no validate token');

  const captcha = await AV.Captcha.request({ width: 120, height: 40 });
  assert.match(captcha.captchaToken, /^[A-Za-z0-9]{20}$/);
  assert.ok(captcha.url.startsWith(`${captchaUrl}/1.1/captchaImage?`), captcha.url);

  // As an <img> loads it: a plain GET, none of the SDK's headers.
  const image = await fetch(captcha.url);
  assert.equal(image.status, 200);
  assert.equal(image.headers.get('content-type'), 'image/png');
  assert.match(image.headers.get('cache-control'), /no-store/);
  assert.deepEqual(pngSize(Buffer.from(await image.arrayBuffer())), { width: 120, height: 40 });

  // A captcha answers once, right or wrong.
  await assert.rejects(captcha.verify('WRONG'));
  await assert.rejects(captcha.verify(answerOf(4)), 'the right answer after a wrong one');
  assert.equal((await fetch(captcha.url)).status, 404, 'an answered captcha has no image');

  await captcha.refresh();
  const validate = await captcha.verify(answerOf(4).toLowerCase());
  assert.equal(typeof validate, 'string');
  assert.equal(captcha.validateToken, validate);
  const before = (await sinkFor(e164(p))).length;
  assert.deepEqual(await AV.Cloud.requestSmsCode(p, { validateToken: validate }), {});
  const message = await waitForMessage(e164(p), before);
  assert.match(codeOf(message), /^\d{6}$/);

  const err = await rejectsWith(AV.Cloud.requestSmsCode(phone(), { validateToken: validate }), 608, 'token reuse');
  assert.equal(statusOf(err), 400);
});

test('user code requests need the token too (login code, phone verify)', { skip }, async () => {
  const p = phone();
  const before = (await sinkFor(e164(p))).length;
  await AV.Cloud.requestSmsCode(p, { validateToken: await validateToken() });
  const code = codeOf(await waitForMessage(e164(p), before));
  await AV.User.signUpOrlogInWithMobilePhone(p, code);
  await AV.User.logOut();

  await rejectsWith(AV.User.requestLoginSmsCode(p), 608, 'requestLoginSmsCode without a token');
  await AV.User.requestLoginSmsCode(p, { validateToken: await validateToken() });
  await rejectsWith(AV.User.requestPasswordResetBySmsCode(p), 608, 'reset without a token');
  await AV.User.requestPasswordResetBySmsCode(p, { validateToken: await validateToken() });
});

test('size and ttl need the master key; out of range is refused', { skip }, async () => {
  await rejectsWith(AV.Captcha.request({ size: 6 }), 119, 'size with the app key');
  await rejectsWith(AV.Captcha.request({ width: 500 }), 1, 'width out of range');
  const captcha = await AV.Captcha.request({ size: 6, ttl: 30 }, { useMasterKey: true });
  const validate = await captcha.verify(answerOf(6));
  assert.equal(typeof validate, 'string');
});
