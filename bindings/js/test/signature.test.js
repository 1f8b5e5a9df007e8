// verify(file, { signature, publicKey }): the signature is checked by
// csvseal's own component alongside the verify pass, and the report gets
// the CLI's `signature` object and error kinds. Signatures are made here
// (test/signing.js) and by Debian's minisign (guest/tests/data/minisign/).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { OptionsError, canonicalJson, createWorker, verify } from '../src/index.js';
import { b2, signedFixture } from './signing.js';

const fx = await signedFixture();
const MINISIGN = new URL('../../../guest/tests/data/minisign/', import.meta.url);
const real = (name) => readFileSync(new URL(name, MINISIGN));

describe('signature checks', () => {
  test('a signed file is valid, with the key ID and its signed claims', async () => {
    const r = await verify(fx.data, { signature: fx.signature, publicKey: fx.key.publicKey, fileName: 'trades.csv' });
    assert.equal(r.valid, true, JSON.stringify(r.errors));
    assert.deepEqual(r.signature, {
      status: 'valid',
      key_id: fx.key.id,
      claims: { file_name: 'trades.csv', rows: 3, first_seq: 1, last_seq: 3, blake2b: b2(fx.data), previous: null },
      blake2b: b2(fx.data),
      message: '',
    });
    assert.match(canonicalJson(r), /"signature":\{"blake2b":"[0-9a-f]{128}","claims":\{"blake2b":"[0-9a-f]{128}","file_name":"trades.csv",/);
    // Without publicKey there is no signature object at all.
    assert.equal((await verify(fx.data)).signature, undefined);
  });

  test('the recomputed-checksum tamper verifies without a key and is signature-invalid with one', async () => {
    const plain = await verify(fx.tampered);
    assert.equal(plain.valid, true, 'the tamper must pass the policy checks, as the issue describes');
    const r = await verify(fx.tampered, { signature: fx.signature, publicKey: fx.key.publicKey });
    assert.equal(r.valid, false);
    assert.equal(r.signature.status, 'invalid');
    assert.deepEqual(r.errors, [{ kind: 'signature-invalid', line: 0, message: r.signature.message }]);
    assert.equal(r.error_count, 1);
    assert.match(r.signature.message, /does not match the file's bytes/);
  });

  test('another key is unknown-key, naming the signer; a keyring holding it is valid', async () => {
    const r = await verify(fx.data, { signature: fx.signature, publicKey: fx.otherKey.publicKey });
    assert.equal(r.valid, false);
    assert.equal(r.signature.status, 'unknown-key');
    assert.equal(r.signature.key_id, fx.key.id);
    assert.equal(r.signature.claims, null);
    assert.deepEqual(r.errors.map((e) => [e.kind, e.line]), [['unknown-key', 0]]);
    const ring = fx.otherKey.publicKey + fx.key.publicKey;
    assert.equal((await verify(fx.data, { signature: fx.signature, publicKey: ring })).valid, true);
    const list = [fx.otherKey.publicKey, fx.key.publicKey];
    assert.equal((await verify(fx.data, { signature: fx.signature, publicKey: list })).valid, true);
  });

  test('a missing, malformed or misnamed signature is a located error', async () => {
    const missing = await verify(fx.data, { publicKey: fx.key.publicKey });
    assert.equal(missing.signature.status, 'missing');
    assert.deepEqual(missing.errors.map((e) => e.kind), ['signature-missing']);
    const garbage = await verify(fx.data, { signature: 'not a signature', publicKey: fx.key.publicKey });
    assert.equal(garbage.signature.status, 'malformed');
    assert.deepEqual(garbage.errors.map((e) => e.kind), ['signature-invalid']);
    const renamed = await verify(fx.data, { signature: fx.signature, publicKey: fx.key.publicKey, fileName: 'other.csv' });
    assert.equal(renamed.signature.status, 'invalid');
    assert.match(renamed.signature.message, /is for 'trades.csv', not 'other.csv'/);
  });

  test('a File gives its name, also through a Worker', async () => {
    const worker = await createWorker();
    try {
      for (const [name, status] of [['trades.csv', 'valid'], ['trades-copy.csv', 'invalid']]) {
        const file = new File([fx.data], name);
        const opts = { signature: fx.signature, publicKey: fx.key.publicKey };
        assert.equal((await verify(file, opts)).signature.status, status, name);
        assert.equal((await worker.verify(file, opts)).signature.status, status, `${name} in a Worker`);
      }
      const r = await worker.verify(fx.tampered, { signature: fx.signature, publicKey: fx.key.publicKey });
      assert.deepEqual(r.errors.map((e) => e.kind), ['signature-invalid']);
    } finally {
      worker.terminate();
    }
  });

  test("signatures made by Debian's minisign verify; a plain one has no claims", async () => {
    const file = real('trades.csv');
    const publicKey = real('minisign.pub').toString();
    const r = await verify(file, { signature: real('trades.csv.minisig').toString(), publicKey, fileName: 'trades.csv' });
    assert.equal(r.signature.status, 'valid', r.signature.message);
    assert.equal(r.signature.key_id, 'D18462FBA40EE349');
    assert.equal(r.signature.claims.blake2b, b2(file));
    const plain = await verify(file, { signature: real('trades.csv.plain-minisig').toString(), publicKey });
    assert.deepEqual([plain.valid, plain.signature.status, plain.signature.claims], [true, 'valid', null]);
  });

  test('bad options fail before reading', async () => {
    await assert.rejects(verify(fx.data, { signature: fx.signature }), OptionsError);
    await assert.rejects(verify(fx.data, { signature: fx.signature, publicKey: [] }), OptionsError);
    await assert.rejects(verify(fx.data, { signature: 3, publicKey: fx.key.publicKey }), OptionsError);
    await assert.rejects(verify(fx.data, { signature: fx.signature, publicKey: 'untrusted comment: x\nRWQ=\n' }), {
      name: 'OptionsError',
      message: /^public key: line 2: not a minisign public key/,
    });
    await assert.rejects(verify(fx.data, { publicKey: '\n' }), { name: 'OptionsError', message: /hold no key/ });
  });
});
