// Users moved in from LeanCloud with `phonebase import leancloud`, then used through the real
// `leancloud-storage` SDK: the old password logs in (and keeps working once rehashed), the
// exported sessionToken works with AV.User.become, objectIds and custom fields read back equal.
// The export fixture is made here with LeanCloud's algorithm (SHA-512 of salt then password,
// 512 more rounds, base64). Run through tests/sdk/run.sh (needs PB_BIN for the CLI).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import AV from 'leancloud-storage';

import { createApp, env, importLeanCloud, rejectsWith } from './lib/harness.mjs';

function leancloudHash(salt, password) {
  let h = createHash('sha512').update(salt + password, 'utf8').digest();
  for (let i = 0; i < 512; i++) h = createHash('sha512').update(h).digest();
  return h.toString('base64');
}

const hex = (n) => randomBytes(n).toString('hex');
const token = Array.from(randomBytes(25), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
const tom = {
  objectId: hex(12),
  username: `tom_${hex(4)}`,
  mobilePhoneNumber: `1370015${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`,
  mobilePhoneVerified: true,
  emailVerified: false,
  salt: hex(24),
  sessionToken: token,
  createdAt: '2018-02-03T04:05:06.789Z',
  updatedAt: '2023-07-08T09:10:11.121Z',
  nickname: '汤姆',
  level: 7,
  tags: ['a', 'b'],
  birthday: { __type: 'Date', iso: '1991-02-03T00:00:00.000Z' },
  team: { __type: 'Pointer', className: 'Team', objectId: hex(12) },
  ACL: { '*': { read: true } },
};
const PASSWORD = 'the-old-password';
tom.password = leancloudHash(tom.salt, PASSWORD);

let app;
let dir;
let file;

before(async () => {
  if (!env.bin) throw new Error('PB_BIN is not set: this suite imports with the CLI (run tests/sdk/run.sh)');
  app = await createApp('sdk-import');
  dir = await mkdtemp(path.join(os.tmpdir(), 'phonebase-import-'));
  file = path.join(dir, '_User.0.jsonl');
  await writeFile(file, `#filetype:JSON-streaming {"type":"Class","class":"_User"}\n${JSON.stringify(tom)}\n`);
  const report = await importLeanCloud(app.appId, [file]);
  assert.deepEqual([report.created, report.updated, report.unchanged, report.refused.length], [1, 0, 0, 0]);
  AV.init({ appId: app.appId, appKey: app.appKey, serverURL: env.url });
});

after(async () => {
  await AV.User.logOut();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the exported sessionToken works with AV.User.become', async () => {
  const user = await AV.User.become(token);
  assert.equal(user.id, tom.objectId);
  assert.equal(user.getSessionToken(), token);
  assert.equal(AV.User.current().id, tom.objectId);
  await AV.User.logOut();
});

test('the old password logs in, twice (the second time against argon2id), ids and fields equal', async () => {
  await rejectsWith(() => AV.User.logIn(tom.username, 'not-it'), 210, 'wrong password');
  const first = await AV.User.logIn(tom.username, PASSWORD);
  assert.equal(first.id, tom.objectId);
  await AV.User.logOut();
  const second = await AV.User.logInWithMobilePhone(tom.mobilePhoneNumber, PASSWORD);
  assert.equal(second.id, tom.objectId);
  assert.notEqual(second.getSessionToken(), token);

  const read = await new AV.Query('_User').get(tom.objectId);
  assert.equal(read.get('username'), tom.username);
  assert.equal(read.get('nickname'), tom.nickname);
  assert.equal(read.get('level'), tom.level);
  assert.deepEqual(read.get('tags'), tom.tags);
  assert.equal(read.get('mobilePhoneNumber'), tom.mobilePhoneNumber);
  assert.equal(read.get('mobilePhoneVerified'), true);
  assert.ok(read.get('birthday') instanceof Date);
  assert.equal(read.get('birthday').toISOString(), tom.birthday.iso);
  assert.equal(read.get('team').id, tom.team.objectId);
  assert.equal(read.get('team').className, 'Team');
  assert.equal(read.createdAt.toISOString(), tom.createdAt);
  assert.equal(read.updatedAt.toISOString(), tom.updatedAt);
  assert.equal(read.get('password'), undefined);
  assert.equal(read.get('salt'), undefined);
  await AV.User.logOut();
});

test('re-running the import changes nothing', async () => {
  const report = await importLeanCloud(app.appId, [file]);
  assert.deepEqual([report.created, report.updated, report.unchanged, report.refused.length], [0, 0, 1, 0]);
  const user = await AV.User.logIn(tom.username, PASSWORD);
  assert.equal(user.id, tom.objectId);
  await AV.User.logOut();
});
