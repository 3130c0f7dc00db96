// Drives the real `leancloud-storage` 4.x SDK (npm) through the `_User` flows of a running
// Phonebase: signup, login (password, SMS code, phone), sessions, password changes and resets,
// phone verification and phone changes.
// Run through tests/sdk/run.sh, which starts a server and sets the environment (see sms.test.mjs).
// Needs PB_BIN (the CLI) to create this suite's own app, so that its relaxed send limits, policy
// switches and wrong-code guesses do not touch the app of the SMS suite running next to it.
// Contract: shared/contracts/leancloud.md sections 2.4, 3, 4, 5.1, 5.5-5.10 and 9.
//
// The SDK keeps one "current user" per process (in memory under Node); every test starts logged
// out, and the tests of this file run one after the other.

import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import AV from 'leancloud-storage';

import {
  codeOf,
  createApp,
  env,
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
// Unique names and numbers. The numbers come from a block the SMS suite does not use (it takes
// 1380013xxxx), at a random offset so that a rerun against the same server does not collide.

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
let serial = 0;
const uname = (tag = 'u') => `${tag}_${run}_${++serial}`;

let nextLocal = Math.floor(Math.random() * 9000);
function phone() {
  const local = String(nextLocal++ % 10000).padStart(4, '0');
  return `1370014${local}`; // bare form; E.164 is +86 + this
}
const e164 = (p) => (p.startsWith('+') ? p : `+86${p}`);

const TEST_NUMBER = '+8613700000001';
const TEST_NUMBER_CODE = '246810';

/** Runs `send` (an SDK call that makes the server text `number`) and returns the code sent. */
async function codeFrom(number, send) {
  const before = (await sinkFor(e164(number))).length;
  assert.deepEqual(await send(), {}, 'the request resolves with {}');
  return codeOf(await waitForMessage(e164(number), before));
}

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let proxy;
let app;

/** Merges `settings` into this suite's app for the duration of `fn`, then applies `undo`. */
async function withSettings(settings, undo, fn) {
  await updateApp(app.appId, settings);
  try {
    return await fn();
  } finally {
    await updateApp(app.appId, undo);
  }
}

/** Signs up a user with a password (and the given extra attributes); it becomes current. */
async function signUp(attrs = {}) {
  const username = attrs.username || uname();
  const password = `pw-${username}`;
  const user = await AV.User.signUp(username, password, { ...attrs });
  return { user, username, password, token: user.getSessionToken() };
}

/** Creates a user through usersByMobilePhone: verified number, a password; it becomes current. */
async function phoneUser(extra = {}) {
  const p = phone();
  const code = await codeFrom(p, () => AV.Cloud.requestSmsCode(p));
  const password = `pw-${p}`;
  const user = await AV.User.signUpOrlogInWithMobilePhone(p, code, { password, ...extra });
  assert.equal(user.get('mobilePhoneVerified'), true);
  return { user, phone: p, password, username: e164(p), token: user.getSessionToken() };
}

before(async () => {
  if (!env.bin) throw new Error('PB_BIN is not set: the users suite creates its own app (run tests/sdk/run.sh)');
  proxy = await startProxy(env.url);
  app = await createApp('sdk-users', {
    limits: { phone_per_minute: 0, phone_per_hour: 0, phone_per_day: 0, ip_per_hour: 0, ip_per_day: 0 },
    test_numbers: { [TEST_NUMBER]: TEST_NUMBER_CODE },
  });
  AV.init({ appId: app.appId, appKey: app.appKey, masterKey: app.masterKey, serverURL: proxy.url });
});

beforeEach(async () => {
  await AV.User.logOut();
});

after(async () => {
  await proxy?.close();
});

// ---------------------------------------------------------------------------------------------
// Signup

test('AV.User.signUp: POST /users, 201 + Location, full user with sessionToken, becomes current', async () => {
  const username = uname();
  const password = `pw-${username}`;
  const p = phone();
  const email = `${username}@example.com`;
  const user = await AV.User.signUp(username, password, { nickname: '小明', age: 7, mobilePhoneNumber: p, email });

  const rec = proxy.last('/1.1/users');
  assert.equal(rec.method, 'POST');
  assert.deepEqual(
    JSON.parse(rec.body),
    { nickname: '小明', age: 7, mobilePhoneNumber: p, email, username, password },
    'every attribute, password included',
  );
  assert.equal(rec.status, 201);
  assert.match(rec.responseHeaders['content-type'], /^application\/json/);
  assert.ok(
    rec.responseHeaders.location?.endsWith(`/1.1/users/${user.id}`),
    `Location: ${rec.responseHeaders.location}`,
  );
  const body = JSON.parse(rec.response);
  assert.match(body.objectId, /^[0-9a-f]{24}$/);
  assert.equal(typeof body.sessionToken, 'string');
  assert.ok(body.sessionToken.length >= 16, 'a real token');
  assert.match(body.createdAt, ISO_MS, 'createdAt is a plain ISO string');
  assert.match(body.updatedAt, ISO_MS);
  assert.equal(body.password, undefined, 'no password in the response');

  // The SDK's view.
  assert.equal(user.id, body.objectId);
  assert.equal(user.getSessionToken(), body.sessionToken);
  assert.equal(user.getUsername(), username);
  assert.equal(user.getEmail(), email);
  assert.equal(user.getMobilePhoneNumber(), p);
  assert.equal(user.get('mobilePhoneVerified'), false);
  assert.equal(user.get('emailVerified'), false);
  assert.equal(user.get('nickname'), '小明');
  assert.equal(user.get('age'), 7);
  assert.equal(user.get('password'), undefined, 'the SDK keeps no password');
  assert.equal(user.get('sessionToken'), undefined, 'the token is not an attribute');
  assert.ok(user.createdAt instanceof Date && !Number.isNaN(user.createdAt.getTime()), 'valid createdAt');
  assert.equal(user.isCurrent(), true);
  const current = AV.User.current();
  assert.equal(current.id, user.id);
  assert.equal(current.getSessionToken(), body.sessionToken);
  assert.equal(await current.isAuthenticated(), true);
});

test('new AV.User() + setUsername/setPassword/setEmail + signUp()', async () => {
  const user = new AV.User();
  const username = uname();
  user.setUsername(username);
  user.setPassword('secret-1');
  user.setEmail(`${username}@example.org`);
  user.set('level', 3);
  await user.signUp();
  assert.match(user.id, /^[0-9a-f]{24}$/);
  assert.ok(user.getSessionToken());
  assert.equal(user.get('level'), 3);
  assert.equal(user.get('password'), undefined);
  assert.equal(AV.User.current().id, user.id);
  const again = await AV.User.logIn(username, 'secret-1');
  assert.equal(again.id, user.id);
  assert.equal(again.get('level'), 3, 'custom field stored');
});

test('signup refusals: 202 username, 203 email (any case), 214 phone (any form), 125, 127', async () => {
  const taken = await signUp({ email: `${uname('mail')}@example.com`, mobilePhoneNumber: phone() });
  await AV.User.logOut();
  const cases = [
    [{ username: taken.username }, 202, 'username taken'],
    [{ email: taken.user.getEmail().toUpperCase() }, 203, 'email taken (upper case)'],
    [{ mobilePhoneNumber: `+86${taken.user.getMobilePhoneNumber()}` }, 214, 'phone taken (+86 form)'],
    [{ email: 'not-an-email' }, 125, 'bad email'],
    [{ mobilePhoneNumber: '12345' }, 127, 'bad phone'],
  ];
  for (const [attrs, code, what] of cases) {
    const username = attrs.username || uname();
    const err = await rejectsWith(AV.User.signUp(username, 'pw', { ...attrs }), code, what);
    assert.equal(statusOf(err), 400, `status (${what})`);
    assert.equal(AV.User.current(), null, `nobody became current (${what})`);
  }
  // Nothing was created under the refused usernames.
  await rejectsWith(AV.User.logIn(taken.username, 'pw'), 210, 'the taken name kept its password');
});

test('a username or password missing: the SDK refuses signUp itself; a plain save() gets 200 / 201', async () => {
  const count = proxy.records.length;
  const noPassword = await rejectsWith(() => AV.User.signUp(uname(), ''), -1, 'signUp without password');
  assert.match(noPassword.message, /empty password/);
  await rejectsWith(() => AV.User.signUp('', 'pw'), -1, 'signUp without username');
  assert.equal(proxy.records.length, count, 'no request sent');

  // user.save() on a new user also POSTs /users and reaches the server's own checks.
  let err = await rejectsWith(new AV.User().save({ nickname: 'x' }), 200, 'no username');
  assert.equal(statusOf(err), 400);
  assert.equal(proxy.last('/1.1/users').method, 'POST');
  err = await rejectsWith(new AV.User().save({ username: uname() }), 201, 'no password');
  assert.equal(statusOf(err), 400);
});

// ---------------------------------------------------------------------------------------------
// Login

test('AV.User.logIn, loginWithEmail, logInWithMobilePhone: a new session each, as current user', async () => {
  const p = phone();
  const email = `${uname('mail')}@example.com`;
  const { user, username, password, token } = await signUp({ email, mobilePhoneNumber: p, nickname: 'n' });
  await AV.User.logOut();

  const byName = await AV.User.logIn(username, password);
  let rec = proxy.last('/1.1/login');
  assert.equal(rec.method, 'POST');
  assert.deepEqual(JSON.parse(rec.body), { username, password });
  assert.equal(rec.status, 200);
  assert.equal(JSON.parse(rec.response).password, undefined);
  assert.equal(byName.id, user.id);
  assert.equal(byName.get('nickname'), 'n', 'custom field in the login response');
  assert.equal(byName.get('password'), undefined);
  assert.ok(byName.getSessionToken());
  assert.notEqual(byName.getSessionToken(), token, 'a new session');
  assert.equal(AV.User.current().id, user.id);
  assert.equal(AV.User.current().getSessionToken(), byName.getSessionToken());

  await AV.User.logOut();
  const byEmail = await AV.User.loginWithEmail(email, password);
  assert.deepEqual(JSON.parse(proxy.last('/1.1/login').body), { email, password });
  assert.equal(byEmail.id, user.id);

  await AV.User.logOut();
  const byPhone = await AV.User.logInWithMobilePhone(p, password);
  assert.deepEqual(JSON.parse(proxy.last('/1.1/login').body), { mobilePhoneNumber: p, password });
  assert.equal(byPhone.id, user.id);
  const byE164 = await AV.User.logInWithMobilePhone(`+86${p}`, password);
  assert.equal(byE164.id, user.id, '+86 form finds the same user');

  // Every session is valid at once.
  for (const t of [token, byName, byEmail, byPhone, byE164].map((x) => (typeof x === 'string' ? x : x.getSessionToken()))) {
    const u = await AV.User.become(t);
    assert.equal(u.id, user.id);
  }
});

test('login refusals: 210 wrong password, 211 unknown username, 205 unknown email, 213 unknown phone', async () => {
  const { username } = await signUp();
  await AV.User.logOut();
  let err = await rejectsWith(AV.User.logIn(username, 'wrong'), 210, 'wrong password');
  assert.equal(statusOf(err), 400);
  assert.equal(err.rawMessage, 'The username and password mismatch.');
  err = await rejectsWith(AV.User.logIn(uname('nobody'), 'pw'), 211, 'unknown username');
  assert.equal(statusOf(err), 400);
  await rejectsWith(AV.User.loginWithEmail(`${uname('nobody')}@example.com`, 'pw'), 205, 'unknown email');
  await rejectsWith(AV.User.logInWithMobilePhone(phone(), 'pw'), 213, 'unknown phone');
  assert.equal(AV.User.current(), null, 'nobody became current');
});

test('GET /login with the credentials in the query (through AV.request)', async () => {
  const { user, username, password } = await signUp();
  await AV.User.logOut();
  const res = await AV.request({ method: 'GET', path: '/login', query: { username, password } });
  assert.equal(res.objectId, user.id);
  assert.ok(res.sessionToken);
  assert.equal(res.password, undefined);
});

test('lockout: 7 failures (wrong passwords and wrong SMS codes) → 219 even with the right credentials; a reset by SMS lifts it', async () => {
  const { phone: p, username, password } = await phoneUser();
  await AV.User.logOut();
  for (let i = 1; i <= 4; i++) await rejectsWith(AV.User.logIn(username, `wrong-${i}`), 210, `wrong password ${i}`);
  for (let i = 1; i <= 3; i++) {
    await rejectsWith(AV.User.logInWithMobilePhoneSmsCode(p, String(100000 + i)), 603, `wrong SMS code ${i}`);
  }
  let err = await rejectsWith(AV.User.logIn(username, password), 219, 'right password after 7 failures');
  assert.ok(statusOf(err) >= 400);
  await rejectsWith(AV.User.logInWithMobilePhone(p, password), 219, 'by phone as well');
  const loginCode = await codeFrom(p, () => AV.User.requestLoginSmsCode(p));
  await rejectsWith(AV.User.logInWithMobilePhoneSmsCode(p, loginCode), 219, 'a right SMS code as well');
  assert.equal(AV.User.current(), null);

  const resetCode = await codeFrom(p, () => AV.User.requestPasswordResetBySmsCode(p));
  assert.deepEqual(await AV.User.resetPasswordBySmsCode(resetCode, 'after-reset'), {});
  const user = await AV.User.logIn(username, 'after-reset');
  assert.equal(user.getUsername(), username, 'unlocked by the reset');
});

test('six failures do not lock; a success starts the count again', async () => {
  const { username, password } = await signUp();
  await AV.User.logOut();
  for (let i = 1; i <= 6; i++) await rejectsWith(AV.User.logIn(username, `wrong-${i}`), 210, `wrong ${i}`);
  await AV.User.logIn(username, password);
  for (let i = 1; i <= 6; i++) await rejectsWith(AV.User.logIn(username, `again-${i}`), 210, `again ${i}`);
  await AV.User.logIn(username, password);
});

// ---------------------------------------------------------------------------------------------
// Sessions

test('logOut makes no request; become(token) uses GET /users/me and restores the user with its token', async () => {
  const { user, token } = await signUp({ nickname: 'became' });
  const count = proxy.records.length;
  await AV.User.logOut();
  assert.equal(proxy.records.length, count, 'logOut sends nothing');
  assert.equal(AV.User.current(), null);

  const me = await AV.User.become(token);
  const rec = proxy.last('/1.1/users/me');
  assert.equal(rec.method, 'GET');
  assert.equal(rec.headers['x-lc-session'], token);
  assert.equal(rec.status, 200);
  assert.equal(JSON.parse(rec.response).sessionToken, token, '/users/me includes the sessionToken');
  assert.equal(me.id, user.id);
  assert.equal(me.getSessionToken(), token);
  assert.equal(me.get('nickname'), 'became');
  assert.equal(me.get('password'), undefined);
  assert.equal(AV.User.current().id, user.id);
  assert.equal(await me.isAuthenticated(), true);
});

test('become() with an unknown token rejects with 211 (HTTP 400); isAuthenticated() of such a user is false', async () => {
  const err = await rejectsWith(AV.User.become('nosuchtoken00000000000000'), 211, 'bogus token');
  assert.equal(statusOf(err), 400);
  assert.equal(AV.User.current(), null);
  const { user } = await signUp();
  const ghost = AV.User.createWithoutData('_User', user.id);
  ghost._sessionToken = 'nosuchtoken00000000000000';
  assert.equal(await ghost.isAuthenticated(), false);
  assert.equal(await AV.User.current().isAuthenticated(), true);
});

test('?session_token= wins over X-LC-Session on /users/me (AV.request)', async () => {
  const a = await signUp();
  const b = await signUp();
  const res = await AV.request({
    method: 'GET',
    path: '/users/me',
    query: { session_token: a.token },
    authOptions: { sessionToken: b.token },
  });
  const rec = proxy.last('/1.1/users/me');
  assert.equal(rec.headers['x-lc-session'], b.token);
  assert.equal(res.objectId, a.user.id);
  assert.equal(res.sessionToken, a.token);
});

test('refreshSessionToken(): a new token, every old one dies (become → 211, isAuthenticated → false)', async () => {
  const first = await signUp();
  const second = await AV.User.logIn(first.username, first.password);
  const oldToken = second.getSessionToken();
  const refreshed = await second.refreshSessionToken();
  const rec = proxy.last(`/1.1/users/${first.user.id}/refreshSessionToken`);
  assert.equal(rec.method, 'PUT');
  assert.equal(rec.body, 'null', 'body null');
  assert.equal(rec.headers['x-lc-session'], oldToken);
  assert.equal(rec.status, 200);
  const body = JSON.parse(rec.response);
  assert.equal(body.objectId, first.user.id);
  assert.equal(body.password, undefined);

  const newToken = refreshed.getSessionToken();
  assert.equal(refreshed, second, 'resolves with the same object');
  assert.equal(body.sessionToken, newToken);
  assert.notEqual(newToken, oldToken);
  assert.notEqual(newToken, first.token);
  assert.equal(AV.User.current().getSessionToken(), newToken);
  assert.equal(await second.isAuthenticated(), true);
  assert.equal(await first.user.isAuthenticated(), false, 'the signup session is gone too');

  await rejectsWith(AV.User.become(oldToken), 211, 'refreshed-away token');
  await rejectsWith(AV.User.become(first.token), 211, 'older token');
  assert.equal(AV.User.current().getSessionToken(), newToken, 'a failed become() leaves the current user');
  const me = await AV.User.become(newToken);
  assert.equal(me.id, first.user.id);
});

test('refreshSessionToken with the master key works for any user; without own session or master → 206 (HTTP 403)', async () => {
  const a = await signUp();
  await AV.User.logOut();
  const target = AV.User.createWithoutData('_User', a.user.id);
  const refreshed = await target.refreshSessionToken({ useMasterKey: true });
  const rec = proxy.last(`/1.1/users/${a.user.id}/refreshSessionToken`);
  assert.match(rec.headers['x-lc-sign'], /,master$/);
  assert.equal(rec.headers['x-lc-session'], undefined, 'nobody was logged in');
  assert.ok(refreshed.getSessionToken());
  assert.notEqual(refreshed.getSessionToken(), a.token);
  assert.equal(refreshed.getUsername(), a.username, 'the full user comes back');
  assert.equal(await a.user.isAuthenticated(), false);
  // SDK behaviour: refreshSessionToken() makes the refreshed user the current one, master key or not.
  assert.equal(AV.User.current()?.id, a.user.id);

  await AV.User.logOut();
  let err = await rejectsWith(AV.User.createWithoutData('_User', a.user.id).refreshSessionToken(), 206, 'no session');
  assert.equal(statusOf(err), 403);
  await signUp(); // someone else is current: their token is sent
  err = await rejectsWith(AV.User.createWithoutData('_User', a.user.id).refreshSessionToken(), 206, "another user's session");
  assert.equal(statusOf(err), 403);
  assert.equal(await refreshed.isAuthenticated(), true, 'the refused calls changed nothing');
});

test("the SDK's stale token is ignored by login, signup and SMS endpoints but not by requestChangePhoneNumber", async () => {
  const a = await signUp();
  // Kill a's token behind the SDK's back (master key), so that the current user keeps a dead one.
  await AV.request({ method: 'PUT', path: `/users/${a.user.id}/refreshSessionToken`, authOptions: { useMasterKey: true } });
  const stale = AV.User.current().getSessionToken();
  assert.equal(stale, a.token);
  assert.equal(await AV.User.current().isAuthenticated(), false);

  const b = await signUp();
  assert.equal(proxy.last('/1.1/users').headers['x-lc-session'], stale, 'signup carried the stale token');
  await AV.request({ method: 'PUT', path: `/users/${b.user.id}/refreshSessionToken`, authOptions: { useMasterKey: true } });

  const again = await AV.User.logIn(a.username, a.password);
  assert.equal(proxy.last('/1.1/login').headers['x-lc-session'], b.token, 'login carried the stale token');
  assert.equal(again.id, a.user.id);
  await AV.request({ method: 'PUT', path: `/users/${a.user.id}/refreshSessionToken`, authOptions: { useMasterKey: true } });

  const p = phone();
  const code = await codeFrom(p, () => AV.Cloud.requestSmsCode(p));
  assert.equal(proxy.last('/1.1/requestSmsCode').headers['x-lc-session'], again.getSessionToken());
  const byPhone = await AV.User.signUpOrlogInWithMobilePhone(p, code);
  assert.equal(proxy.last('/1.1/usersByMobilePhone').headers['x-lc-session'], again.getSessionToken());
  assert.equal(byPhone.getUsername(), e164(p));
  await AV.request({ method: 'PUT', path: `/users/${byPhone.id}/refreshSessionToken`, authOptions: { useMasterKey: true } });

  const err = await rejectsWith(AV.User.requestChangePhoneNumber(phone()), 206, 'needs a live session');
  assert.equal(statusOf(err), 403);
});

// ---------------------------------------------------------------------------------------------
// Reading users

test('user.fetch() (GET /classes/_User/<id>) and GET /users/<id>: custom fields, never a sessionToken', async () => {
  const profile = { city: '杭州', zip: '310000' };
  const a = await signUp({ nickname: '阿明', tags: ['x', 'y'], profile });
  await AV.User.logOut();

  const other = AV.User.createWithoutData('_User', a.user.id);
  await other.fetch();
  const rec = proxy.last(`/1.1/classes/_User/${a.user.id}`);
  assert.equal(rec.method, 'GET');
  assert.equal(rec.status, 200);
  const body = JSON.parse(rec.response);
  assert.equal(body.sessionToken, undefined, 'no sessionToken when reading a user');
  assert.equal(body.password, undefined);
  assert.equal(other.get('nickname'), '阿明');
  assert.deepEqual(other.get('tags'), ['x', 'y']);
  assert.deepEqual(other.get('profile'), profile);
  assert.equal(other.getUsername(), a.username);
  assert.equal(other.get('mobilePhoneVerified'), false);
  assert.equal(other.getSessionToken(), undefined, 'the SDK adopted no token');
  assert.equal(AV.User.current(), null, 'fetch() does not log anybody in');

  const raw = await AV.request({ method: 'GET', path: `/users/${a.user.id}` });
  assert.equal(raw.objectId, a.user.id);
  assert.equal(raw.nickname, '阿明');
  assert.equal(raw.sessionToken, undefined);
  assert.equal(raw.password, undefined);

  // The current user keeps its token through a fetch.
  const me = await AV.User.become(a.token);
  await me.fetch();
  assert.equal(me.getSessionToken(), a.token);
  assert.equal(AV.User.current().getSessionToken(), a.token);
  assert.equal(await AV.User.current().isAuthenticated(), true);
});

test('fetching a missing user gets 211 (HTTP 400)', async () => {
  const err = await rejectsWith(AV.User.createWithoutData('_User', '0123456789abcdef01234567').fetch(), 211, 'fetch');
  assert.equal(statusOf(err), 400);
  const raw = await rejectsWith(AV.request({ method: 'GET', path: '/users/0123456789abcdef01234567' }), 211, '/users/<id>');
  assert.equal(statusOf(raw), 400);
});

// ---------------------------------------------------------------------------------------------
// Sign up or log in with a phone number

test('signUpOrlogInWithMobilePhone: 201 creates (username = E.164, verified, attrs kept), then 200 logs in; codes are single use', async () => {
  const p = phone();
  const code = await codeFrom(p, () => AV.Cloud.requestSmsCode(p));
  const user = await AV.User.signUpOrlogInWithMobilePhone(p, code, { nickname: '新用户' });
  let rec = proxy.last('/1.1/usersByMobilePhone');
  assert.equal(rec.method, 'POST');
  assert.deepEqual(JSON.parse(rec.body), { nickname: '新用户', mobilePhoneNumber: p, smsCode: code });
  assert.equal(rec.status, 201);
  assert.ok(rec.responseHeaders.location?.endsWith(`/1.1/users/${user.id}`), `Location: ${rec.responseHeaders.location}`);
  const body = JSON.parse(rec.response);
  assert.equal(body.smsCode, undefined);
  assert.equal(body.password, undefined);
  assert.equal(user.getUsername(), e164(p));
  assert.equal(user.getMobilePhoneNumber(), p);
  assert.equal(user.get('mobilePhoneVerified'), true);
  assert.equal(user.get('nickname'), '新用户');
  assert.equal(user.get('smsCode'), undefined);
  assert.equal(user.getSessionToken(), body.sessionToken);
  assert.equal(AV.User.current().id, user.id);

  await AV.User.logOut();
  await rejectsWith(AV.User.signUpOrlogInWithMobilePhone(p, code), 603, 'same code again');
  assert.equal(AV.User.current(), null);

  const code2 = await codeFrom(p, () => AV.Cloud.requestSmsCode(p));
  await rejectsWith(AV.User.signUpOrlogInWithMobilePhone(p, otherCode(code2)), 603, 'wrong code');
  const again = await AV.User.signUpOrlogInWithMobilePhone(`+86${p}`, code2, { username: 'ignored-on-login' });
  rec = proxy.last('/1.1/usersByMobilePhone');
  assert.equal(rec.status, 200, 'an existing owner logs in');
  assert.equal(again.id, user.id);
  assert.equal(again.getUsername(), e164(p), 'username not changed by a login');
  assert.notEqual(again.getSessionToken(), user.getSessionToken());
  assert.equal(await user.isAuthenticated(), true, 'the first session lives on');

  // Created without a password: password login is impossible.
  await AV.User.logOut();
  await rejectsWith(AV.User.logInWithMobilePhone(p, 'anything'), 210, 'no password set');
});

test('signUpOrlogInWithMobilePhone with a password attribute: that password logs in', async () => {
  const { phone: p, password, user } = await phoneUser({ city: 'Beijing' });
  await AV.User.logOut();
  const byPhone = await AV.User.logInWithMobilePhone(p, password);
  assert.equal(byPhone.id, user.id);
  assert.equal(byPhone.get('city'), 'Beijing');
  assert.equal(byPhone.get('password'), undefined);
});

test('a test number: the fixed code signs up and logs in again, and nothing is sent', async () => {
  const before = (await sinkFor(TEST_NUMBER)).length;
  assert.deepEqual(await AV.Cloud.requestSmsCode(TEST_NUMBER), {});
  const created = await AV.User.signUpOrlogInWithMobilePhone(TEST_NUMBER, TEST_NUMBER_CODE);
  assert.equal(proxy.last('/1.1/usersByMobilePhone').status, 201);
  await AV.User.logOut();
  const again = await AV.User.signUpOrlogInWithMobilePhone(TEST_NUMBER, TEST_NUMBER_CODE);
  assert.equal(proxy.last('/1.1/usersByMobilePhone').status, 200);
  assert.equal(again.id, created.id);
  await rejectsWith(AV.User.signUpOrlogInWithMobilePhone(TEST_NUMBER, otherCode(TEST_NUMBER_CODE)), 603, 'other code');
  await sleep(300);
  assert.equal((await sinkFor(TEST_NUMBER)).length, before, 'no message for a test number');
});

// ---------------------------------------------------------------------------------------------
// Phone verification

test('requestMobilePhoneVerify + verifyMobilePhone(code): no number sent, {objectId, updatedAt}, verified; single use', async () => {
  const p = phone();
  const { user } = await signUp({ mobilePhoneNumber: p });
  assert.equal(user.get('mobilePhoneVerified'), false);
  await AV.User.logOut();

  const code = await codeFrom(p, () => AV.User.requestMobilePhoneVerify(p));
  assert.deepEqual(JSON.parse(proxy.last('/1.1/requestMobilePhoneVerify').body), { mobilePhoneNumber: p });

  const res = await AV.User.verifyMobilePhone(code);
  const rec = proxy.last(`/1.1/verifyMobilePhone/${code}`);
  assert.equal(rec.method, 'POST');
  assert.equal(rec.body, 'null', 'the JS SDK sends the body null: no number');
  assert.equal(rec.status, 200);
  assert.equal(res.objectId, user.id);
  assert.match(res.updatedAt, ISO_MS);

  const fetched = await AV.User.createWithoutData('_User', user.id).fetch();
  assert.equal(fetched.get('mobilePhoneVerified'), true);
  assert.equal(fetched.updatedAt.toISOString(), res.updatedAt, 'updatedAt of the verification');

  await rejectsWith(AV.User.verifyMobilePhone(code), 603, 'same code again');

  // Already verified: success, nothing sent.
  const before = (await sinkFor(e164(p))).length;
  assert.deepEqual(await AV.User.requestMobilePhoneVerify(p), {});
  await sleep(400);
  assert.equal((await sinkFor(e164(p))).length, before, 'no message for a verified number');
});

test('requestMobilePhoneVerify: 213 for an unknown number; a wrong code gets 603 and the right one still works', async () => {
  await rejectsWith(AV.User.requestMobilePhoneVerify(phone()), 213, 'unknown number');
  const p = phone();
  const { user } = await signUp({ mobilePhoneNumber: p }); // stays logged in: the SDK sends the session
  const code = await codeFrom(p, () => AV.User.requestMobilePhoneVerify(p));
  const err = await rejectsWith(AV.User.verifyMobilePhone(otherCode(code)), 603, 'wrong code');
  assert.equal(statusOf(err), 400);
  const res = await AV.User.verifyMobilePhone(code);
  assert.equal(proxy.last(`/1.1/verifyMobilePhone/${code}`).headers['x-lc-session'], user.getSessionToken());
  assert.equal(res.objectId, user.id);
  await AV.User.current().fetch();
  assert.equal(AV.User.current().get('mobilePhoneVerified'), true);
});

// ---------------------------------------------------------------------------------------------
// SMS login

test('requestLoginSmsCode: 213 unknown, 215 unverified; logInWithMobilePhoneSmsCode logs in once per code', async () => {
  await rejectsWith(AV.User.requestLoginSmsCode(phone()), 213, 'unknown number');
  const unverified = phone();
  await signUp({ mobilePhoneNumber: unverified });
  await AV.User.logOut();
  const err = await rejectsWith(AV.User.requestLoginSmsCode(unverified), 215, 'unverified number');
  assert.equal(statusOf(err), 400);

  const { phone: p, user } = await phoneUser({ nickname: 'sms' });
  await AV.User.logOut();
  const code = await codeFrom(p, () => AV.User.requestLoginSmsCode(p));
  assert.deepEqual(JSON.parse(proxy.last('/1.1/requestLoginSmsCode').body), { mobilePhoneNumber: p });
  const loggedIn = await AV.User.logInWithMobilePhoneSmsCode(p, code);
  const rec = proxy.last('/1.1/login');
  assert.deepEqual(JSON.parse(rec.body), { mobilePhoneNumber: p, smsCode: code });
  assert.equal(rec.status, 200);
  assert.equal(loggedIn.id, user.id);
  assert.equal(loggedIn.get('nickname'), 'sms');
  assert.equal(loggedIn.get('smsCode'), undefined, 'the SDK drops the code');
  assert.ok(loggedIn.getSessionToken());
  assert.equal(AV.User.current().getSessionToken(), loggedIn.getSessionToken());

  await AV.User.logOut();
  await rejectsWith(AV.User.logInWithMobilePhoneSmsCode(p, code), 603, 'same code again');
  const code2 = await codeFrom(p, () => AV.User.requestLoginSmsCode(`+86${p}`));
  await rejectsWith(AV.User.logInWithMobilePhoneSmsCode(p, otherCode(code2)), 603, 'wrong code');
  const again = await AV.User.logInWithMobilePhoneSmsCode(`+86${p}`, code2);
  assert.equal(again.id, user.id);
});

test('policy sms_login=false: requestLoginSmsCode and SMS-code login get 119 (HTTP 403)', async () => {
  const { phone: p, password } = await phoneUser();
  await AV.User.logOut();
  const generic = await codeFrom(p, () => AV.Cloud.requestSmsCode(p));
  await withSettings({ policy: { sms_login: false } }, { policy: { sms_login: true } }, async () => {
    let err = await rejectsWith(AV.User.requestLoginSmsCode(p), 119, 'request');
    assert.equal(statusOf(err), 403);
    err = await rejectsWith(AV.User.logInWithMobilePhoneSmsCode(p, generic), 119, 'login');
    assert.equal(statusOf(err), 403);
    await AV.User.logInWithMobilePhone(p, password); // passwords still work
  });
  await AV.User.logOut();
  const user = await AV.User.logInWithMobilePhoneSmsCode(p, generic);
  assert.equal(user.getMobilePhoneNumber(), p, 'the code survived the refused attempt');
});

test('policy login_requires_verified_phone: phone login of an unverified number gets 215; username login does not care', async () => {
  const p = phone();
  const { username, password } = await signUp({ mobilePhoneNumber: p });
  await AV.User.logOut();
  await withSettings(
    { policy: { login_requires_verified_phone: true } },
    { policy: { login_requires_verified_phone: false } },
    async () => {
      const err = await rejectsWith(AV.User.logInWithMobilePhone(p, password), 215, 'unverified');
      assert.equal(statusOf(err), 400);
      await AV.User.logIn(username, password);
      await AV.User.logOut();
      const verified = await phoneUser();
      await AV.User.logOut();
      await AV.User.logInWithMobilePhone(verified.phone, verified.password);
    },
  );
  await AV.User.logOut();
  await AV.User.logInWithMobilePhone(p, password);
});

// ---------------------------------------------------------------------------------------------
// Password changes

test('updatePassword(old, new): same token back and kept, other sessions end, 210 on a wrong old password', async () => {
  const first = await signUp();
  const second = await AV.User.logIn(first.username, first.password);
  const token = second.getSessionToken();

  let err = await rejectsWith(second.updatePassword('not-it', 'whatever'), 210, 'wrong old password');
  assert.equal(statusOf(err), 400);

  const resp = await second.updatePassword(first.password, 'new-password-1');
  const rec = proxy.last(`/1.1/users/${first.user.id}/updatePassword`);
  assert.equal(rec.method, 'PUT');
  assert.deepEqual(JSON.parse(rec.body), { old_password: first.password, new_password: 'new-password-1' });
  assert.equal(rec.headers['x-lc-session'], token);
  assert.equal(rec.status, 200);
  assert.equal(resp.sessionToken, token, 'the same token comes back');
  assert.equal(resp.objectId, first.user.id);
  assert.equal(resp.password, undefined);
  assert.equal(second.getSessionToken(), token);
  assert.equal(second.get('password'), undefined);
  assert.equal(AV.User.current().getSessionToken(), token);
  assert.equal(await second.isAuthenticated(), true);
  assert.equal(await first.user.isAuthenticated(), false, 'the other session ended');

  await AV.User.logOut();
  await rejectsWith(AV.User.logIn(first.username, first.password), 210, 'old password');
  await AV.User.logIn(first.username, 'new-password-1');
});

test("updatePassword needs the user's own session: 206 (HTTP 403) logged out or as someone else", async () => {
  const a = await signUp();
  const target = AV.User.createWithoutData('_User', a.user.id);
  await AV.User.logOut();
  let err = await rejectsWith(target.updatePassword(a.password, 'x1'), 206, 'no session');
  assert.equal(statusOf(err), 403);
  await signUp();
  err = await rejectsWith(target.updatePassword(a.password, 'x2'), 206, "another user's session");
  assert.equal(statusOf(err), 403);
  await AV.User.logOut();
  await AV.User.logIn(a.username, a.password); // unchanged
});

// ---------------------------------------------------------------------------------------------
// Password reset by SMS

test('requestPasswordResetBySmsCode: 213 unknown, 215 unverified', async () => {
  await rejectsWith(AV.User.requestPasswordResetBySmsCode(phone()), 213, 'unknown');
  const p = phone();
  await signUp({ mobilePhoneNumber: p });
  await AV.User.logOut();
  const err = await rejectsWith(AV.User.requestPasswordResetBySmsCode(p), 215, 'unverified');
  assert.equal(statusOf(err), 400);
});

test('resetPasswordBySmsCode(code, pw): no number sent, password set, every session ends, code single use', async () => {
  const { phone: p, username, password, user, token } = await phoneUser();
  const second = await AV.User.logInWithMobilePhone(p, password);
  const code = await codeFrom(p, () => AV.User.requestPasswordResetBySmsCode(p));
  assert.deepEqual(JSON.parse(proxy.last('/1.1/requestPasswordResetBySmsCode').body), { mobilePhoneNumber: p });

  assert.deepEqual(await AV.User.resetPasswordBySmsCode(code, 'reset-pw-1'), {});
  const rec = proxy.last(`/1.1/resetPasswordBySmsCode/${code}`);
  assert.equal(rec.method, 'PUT');
  assert.deepEqual(JSON.parse(rec.body), { password: 'reset-pw-1' }, 'the JS SDK sends no number');
  assert.equal(rec.status, 200);

  assert.equal(await second.isAuthenticated(), false, 'the session that asked ended too');
  assert.equal(await user.isAuthenticated(), false);
  await rejectsWith(AV.User.become(token), 211, 'old token');
  await AV.User.logOut();
  await rejectsWith(AV.User.logIn(username, password), 210, 'old password');
  const after = await AV.User.logIn(username, 'reset-pw-1');
  assert.equal(after.id, user.id);

  await rejectsWith(AV.User.resetPasswordBySmsCode(code, 'reset-pw-2'), 603, 'same code again');
  const code2 = await codeFrom(p, () => AV.User.requestPasswordResetBySmsCode(p));
  const err = await rejectsWith(AV.User.resetPasswordBySmsCode(otherCode(code2), 'reset-pw-3'), 603, 'wrong code');
  assert.equal(statusOf(err), 400);
  assert.equal(await after.isAuthenticated(), true, 'refused resets end nothing');
  await AV.User.logOut();
  await AV.User.logIn(username, 'reset-pw-1');
});

test('policy reset_allows_unverified_phone: an unverified number can reset', async () => {
  const p = phone();
  const { username } = await signUp({ mobilePhoneNumber: p });
  await AV.User.logOut();
  await withSettings(
    { policy: { reset_allows_unverified_phone: true } },
    { policy: { reset_allows_unverified_phone: false } },
    async () => {
      const code = await codeFrom(p, () => AV.User.requestPasswordResetBySmsCode(p));
      assert.deepEqual(await AV.User.resetPasswordBySmsCode(code, 'unverified-reset'), {});
    },
  );
  const user = await AV.User.logIn(username, 'unverified-reset');
  assert.equal(user.getMobilePhoneNumber(), p);
});

// ---------------------------------------------------------------------------------------------
// Changing the phone number

test('requestChangePhoneNumber needs a session: 206 (HTTP 403) when logged out', async () => {
  const p = phone();
  const err = await rejectsWith(AV.User.requestChangePhoneNumber(p), 206, 'logged out');
  assert.equal(statusOf(err), 403);
  await sleep(200);
  assert.equal((await sinkFor(e164(p))).length, 0);
});

test('requestChangePhoneNumber + changePhoneNumber: code to the new number (6 minutes), number set and verified, no session needed', async () => {
  const oldNumber = phone();
  const a = await signUp({ mobilePhoneNumber: oldNumber });
  const b = await phoneUser();
  await AV.User.become(a.token);

  let err = await rejectsWith(AV.User.requestChangePhoneNumber(b.phone), 214, "b's number");
  assert.equal(statusOf(err), 400);

  const newNumber = phone();
  const before = (await sinkFor(e164(newNumber))).length;
  assert.deepEqual(await AV.User.requestChangePhoneNumber(newNumber), {});
  const req = proxy.last('/1.1/requestChangePhoneNumber');
  assert.deepEqual(JSON.parse(req.body), { mobilePhoneNumber: newNumber });
  assert.equal(req.headers['x-lc-session'], a.token);
  const message = await waitForMessage(e164(newNumber), before);
  assert.match(message.text, /(?<!\d)6 分钟/, `default ttl 6 minutes: ${message.text}`);
  const code = codeOf(message);

  await AV.User.logOut();
  await rejectsWith(AV.User.changePhoneNumber(oldNumber, code), 603, 'code of another number');
  await rejectsWith(AV.User.changePhoneNumber(newNumber, otherCode(code)), 603, 'wrong code');
  assert.deepEqual(await AV.User.changePhoneNumber(newNumber, code), {});
  const rec = proxy.last('/1.1/changePhoneNumber');
  assert.deepEqual(JSON.parse(rec.body), { mobilePhoneNumber: newNumber, code });
  assert.equal(rec.headers['x-lc-session'], undefined, 'no session sent');
  assert.equal(rec.status, 200);

  await rejectsWith(AV.User.changePhoneNumber(newNumber, code), 603, 'same code again');

  const fetched = await AV.User.createWithoutData('_User', a.user.id).fetch();
  assert.equal(fetched.getMobilePhoneNumber(), newNumber);
  assert.equal(fetched.get('mobilePhoneVerified'), true);
  await rejectsWith(AV.User.logInWithMobilePhone(oldNumber, a.password), 213, 'old number');
  const byNew = await AV.User.logInWithMobilePhone(newNumber, a.password);
  assert.equal(byNew.id, a.user.id);
  assert.equal(await a.user.isAuthenticated(), true, 'sessions survive a number change');
});

test('changePhoneNumber refuses a generic code (requestSmsCode) for the number', async () => {
  await signUp({ mobilePhoneNumber: phone() });
  const target = phone();
  await AV.User.logOut();
  const generic = await codeFrom(target, () => AV.Cloud.requestSmsCode(target));
  await rejectsWith(AV.User.changePhoneNumber(target, generic), 603, 'not a change-phone code');
  await rejectsWith(AV.User.logInWithMobilePhone(target, 'x'), 213, 'nobody got the number');
});

test('SDK quirk: requestChangePhoneNumber(phone, ttl) throws before sending; ttl only goes out as options.ttl', async () => {
  await signUp();
  const count = proxy.records.length;
  assert.throws(() => AV.User.requestChangePhoneNumber(phone(), 5), TypeError);
  assert.equal(proxy.records.length, count, 'nothing sent');

  const p = phone();
  const before = (await sinkFor(e164(p))).length;
  assert.deepEqual(await AV.User.requestChangePhoneNumber(p, 5, { ttl: 5 }), {});
  assert.deepEqual(JSON.parse(proxy.last('/1.1/requestChangePhoneNumber').body), { mobilePhoneNumber: p, ttl: 5 });
  const message = await waitForMessage(e164(p), before);
  assert.match(message.text, /(?<!\d)5 分钟/, `ttl 5 in text: ${message.text}`);

  // With options but no options.ttl, the ttl is dropped: default 6 minutes.
  const q = phone();
  const beforeQ = (await sinkFor(e164(q))).length;
  assert.deepEqual(await AV.User.requestChangePhoneNumber(q, 9, {}), {});
  assert.deepEqual(JSON.parse(proxy.last('/1.1/requestChangePhoneNumber').body), { mobilePhoneNumber: q });
  assert.match((await waitForMessage(e164(q), beforeQ)).text, /(?<!\d)6 分钟/);
});

// ---------------------------------------------------------------------------------------------
// Over everything above

test('no user response ever carried password, salt or smsCode; reads of users never a sessionToken', () => {
  const userPaths = /\/1\.1\/(users|login|usersByMobilePhone|classes\/_User)(\/|$)/;
  let checked = 0;
  for (const r of proxy.records) {
    const path = r.url.split('?')[0];
    if (!userPaths.test(path) || !r.response) continue;
    let body;
    try {
      body = JSON.parse(r.response);
    } catch {
      assert.fail(`non-JSON response to ${r.method} ${r.url}: ${r.response}`);
    }
    for (const key of ['password', 'salt', 'bcryptPassword', 'smsCode']) {
      assert.equal(body[key], undefined, `${key} in the response to ${r.method} ${path}`);
    }
    const read = r.method === 'GET' && /\/1\.1\/(users|classes\/_User)\/[0-9a-f]{24}$/.test(path);
    if (read) assert.equal(body.sessionToken, undefined, `sessionToken in ${r.method} ${path}`);
    checked++;
  }
  assert.ok(checked > 50, `checked ${checked} responses`);
});
