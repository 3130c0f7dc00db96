// Drives the real minapp-sdk 3.23.6 web build (npm) against a running Phonebase: contract part C.4.
// Run through tests/mincloud/run.sh. One test at a time: the SDK keeps one current user.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BaaS, phone, rejectsWith, sendAndRead } from './lib/sdk.mjs';

test('sendSmsCode then verifySmsCode with the code as a number; a code works once', async () => {
  const p = phone();
  const { res, code } = await sendAndRead(p);
  assert.equal(res.status, 200);
  assert.deepEqual(res.data, { status: 'ok' });
  const wrong = String((Number(code) + 1) % 1000000).padStart(6, '0');
  const e = await rejectsWith(BaaS.verifySmsCode({ phone: p, code: wrong }), 400);
  assert.match(e.message, /^400: /);
  const ok = await BaaS.verifySmsCode({ phone: p, code: Number(code) });
  assert.equal(ok.status, 200);
  await rejectsWith(BaaS.verifySmsCode({ phone: p, code }), 400);
  // MinCloud's published limit: one code a minute per number.
  await rejectsWith(BaaS.sendSmsCode({ phone: p }), 400);
});

test('loginWithSmsVerificationCode creates the user; setMobilePhone + verifyMobilePhone', async () => {
  const p = phone();
  await rejectsWith(BaaS.auth.loginWithSmsVerificationCode(p, (await sendAndRead(p)).code, { createUser: false }), 404);
  const p2 = phone();
  const { code } = await sendAndRead(p2);
  const user = await BaaS.auth.loginWithSmsVerificationCode(p2, code);
  assert.ok(Number.isInteger(user.id), `integer id: ${user.id}`);
  assert.equal(user.get('_phone'), p2);
  assert.equal(user.get('_phone_verified'), true);
  const current = await BaaS.auth.getCurrentUser();
  assert.equal(current.id, user.id);

  const p3 = phone();
  const changed = await current.setMobilePhone(p3);
  assert.equal(changed.get('_phone'), p3);
  assert.equal(changed.get('_phone_verified'), false);
  const { code: code3 } = await sendAndRead(p3);
  await rejectsWith(current.verifyMobilePhone(String((Number(code3) + 1) % 1000000).padStart(6, '0')), 400);
  await current.verifyMobilePhone(code3);
  const reread = await BaaS.auth.getCurrentUser();
  assert.equal(reread.get('_phone'), p3);
  assert.equal(reread.get('_phone_verified'), true);

  await BaaS.auth.logout();
  await rejectsWith(BaaS.auth.getCurrentUser(), 604);
});

test('register and login with phone and password; a wrong password is refused', async () => {
  const p = phone();
  const user = await BaaS.auth.register({ phone: p, password: 'pw-123456' });
  assert.ok(Number.isInteger(user.id));
  assert.equal(user.get('_phone'), p);
  assert.equal(user.get('_phone_verified'), false);
  await BaaS.auth.logout();
  await rejectsWith(BaaS.auth.login({ phone: p, password: 'wrong-pw' }), 400);
  const again = await BaaS.auth.login({ phone: p, password: 'pw-123456' });
  assert.equal(again.id, user.id);
  await again.updatePassword({ password: 'pw-123456', newPassword: 'pw-654321' });
  await BaaS.auth.logout();
  const third = await BaaS.auth.login({ phone: p, password: 'pw-654321' });
  assert.equal(third.id, user.id);
  await BaaS.auth.logout();
  await rejectsWith(BaaS.auth.register({ phone: p, password: 'other-pw' }), 400);
});
