// ali-oss (the official Node.js SDK, from npm) against oss-local: put and get (V1 and V4
// signatures), multipart upload, presigned URLs (V1 and V4, GET and PUT), STS credentials
// scoped by a session policy, a PostObject form signed by ali-oss, append and tagging.
// Run by scripts/conformance.sh with `node --test`; it exports OSS_LOCAL_ENDPOINT,
// OSS_LOCAL_STS_ENDPOINT, OSS_LOCAL_REGION and puts ali-oss on NODE_PATH.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const OSS = require('ali-oss');

const endpoint = process.env.OSS_LOCAL_ENDPOINT;
const stsEndpoint = process.env.OSS_LOCAL_STS_ENDPOINT;
const region = `oss-${process.env.OSS_LOCAL_REGION}`;
const bucket = 'demo-bucket';
const demo = { accessKeyId: 'LTAI5tLocalDemoKey', accessKeySecret: 'LocalDemoSecret' };
const roleArn = 'acs:ram::1000000000000000:role/oss-direct-demo';

function client(extra = {}) {
  return new OSS({ region, endpoint, bucket, ...demo, timeout: 60000, ...extra });
}

function key(name) {
  return `ali-oss/${crypto.randomBytes(4).toString('hex')}/${name}`;
}

for (const authorizationV4 of [false, true]) {
  test(`put, head, get and delete (${authorizationV4 ? 'V4' : 'V1'})`, async () => {
    const c = client({ authorizationV4 });
    const k = key('hello 世界.txt');
    const body = Buffer.from('hello from ali-oss');
    const put = await c.put(k, body, { headers: { 'Content-Type': 'text/plain' }, meta: { from: 'node' } });
    assert.equal(put.res.status, 200);
    const head = await c.head(k);
    assert.equal(head.meta.from, 'node');
    assert.equal(head.res.headers['content-length'], String(body.length));
    const got = await c.get(k);
    assert.deepEqual(got.content, body);
    assert.equal(got.res.headers['content-type'], 'text/plain');
    await c.delete(k);
    await assert.rejects(c.head(k), (e) => e.status === 404);
  });
}

test('multipart upload in parallel parts, with progress', async () => {
  const c = client({ authorizationV4: true });
  const k = key('big.bin');
  const data = crypto.randomBytes(1024 * 1024 + 12345);
  let last = 0;
  const r = await c.multipartUpload(k, data, {
    partSize: 256 * 1024,
    parallel: 3,
    progress: (p) => { last = p; },
  });
  assert.equal(r.res.status, 200);
  assert.equal(last, 1);
  const got = await c.get(k);
  assert.ok(got.content.equals(data), 'the bytes read back are the bytes sent');
  assert.match(got.res.headers.etag, /-5"$/, 'a multipart ETag over 5 parts');
});

test('presigned URLs (V1 and V4) for GET and PUT', async () => {
  // ali-oss will not sign a URL for an IP endpoint: the same server by name, path style.
  const byName = endpoint.replace('127.0.0.1', 'localhost');
  const c = client({ endpoint: byName, sldEnable: true });
  const k = key('signed.txt');
  const putUrl = c.signatureUrl(k, { method: 'PUT', expires: 60, 'Content-Type': 'text/plain' });
  let r = await fetch(putUrl, { method: 'PUT', body: 'via url', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(r.status, 200, await r.text());
  r = await fetch(c.signatureUrl(k, { expires: 60 }));
  assert.equal(await r.text(), 'via url');
  const v4 = await c.signatureUrlV4('GET', 60, {}, k);
  r = await fetch(v4);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'via url');
  // A URL whose signature is altered is refused.
  r = await fetch(v4.replace(/x-oss-signature=[0-9a-f]/, 'x-oss-signature=Z'));
  assert.equal(r.status, 403);
});

test('STS: AssumeRole through ali-oss, then a session limited by its policy', async () => {
  const sts = new OSS.STS({ ...demo, endpoint: `${stsEndpoint}/` });
  const prefix = key('sts/');
  const policy = {
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: ['oss:PutObject', 'oss:GetObject'], Resource: [`acs:oss:*:*:${bucket}/${prefix}*`] }],
  };
  const token = await sts.assumeRole(roleArn, policy, 900, 'ali-oss-test');
  assert.match(token.credentials.AccessKeyId, /^STS\./);
  const session = client({
    accessKeyId: token.credentials.AccessKeyId,
    accessKeySecret: token.credentials.AccessKeySecret,
    stsToken: token.credentials.SecurityToken,
    authorizationV4: true,
  });
  await session.put(`${prefix}ok.txt`, Buffer.from('allowed'));
  assert.equal((await session.get(`${prefix}ok.txt`)).content.toString(), 'allowed');
  await assert.rejects(session.put('elsewhere.txt', Buffer.from('x')), (e) => e.status === 403 && e.code === 'AccessDenied');
  const forged = client({ accessKeyId: token.credentials.AccessKeyId, accessKeySecret: token.credentials.AccessKeySecret, stsToken: 'forged' });
  await assert.rejects(forged.get(`${prefix}ok.txt`), (e) => e.status === 403 && e.code === 'InvalidSecurityToken');
});

test('a PostObject form signed with ali-oss calculatePostSignature', async () => {
  const c = client();
  const k = key('form.txt');
  const policy = {
    expiration: new Date(Date.now() + 60000).toISOString(),
    conditions: [{ bucket }, ['eq', '$key', k], ['content-length-range', 1, 1024]],
  };
  const signed = c.calculatePostSignature(policy);
  const post = async (name, bytes) => {
    const form = new FormData();
    form.append('key', name);
    for (const [f, v] of Object.entries(signed)) form.append(f, v);
    form.append('success_action_status', '200');
    form.append('file', new Blob([bytes]), 'form.txt');
    return fetch(`${endpoint}/${bucket}`, { method: 'POST', body: form });
  };
  let r = await post(k, 'form body');
  assert.equal(r.status, 200, await r.text());
  assert.equal((await c.get(k)).content.toString(), 'form body');
  r = await post(`${k}.other`, 'x');
  assert.equal(r.status, 403, 'a key the policy does not allow');
  await assert.rejects(c.head(`${k}.other`), (e) => e.status === 404);
});

test('append and tagging', async () => {
  const c = client();
  const k = key('log.txt');
  let r = await c.append(k, Buffer.from('one '));
  r = await c.append(k, Buffer.from('two'), { position: r.nextAppendPosition });
  assert.equal(r.nextAppendPosition, '7');
  assert.equal((await c.get(k)).content.toString(), 'one two');
  await c.putObjectTagging(k, { team: 'a', env: 'test' });
  const tags = await c.getObjectTagging(k);
  assert.deepEqual(tags.tag, { team: 'a', env: 'test' });
});
