// Payload encryption: workflow and activity inputs, results, query answers and heartbeat
// details are encrypted before they leave the process, so the Temporal server (and
// everyone who can read its history) sees only ciphertext. AES-256-GCM with a random IV
// per payload; the key id travels in the payload's metadata, so keys can rotate: new
// payloads use the current key, old ones stay readable with the decrypt-only keys.
//
// Codecs run outside the workflow sandbox (in the worker's and the client's Node
// process), so node:crypto is fine here.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { EncryptionConfig, TemporalConfig } from '../config';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const readText = (b: Uint8Array | null | undefined): string | undefined => (b ? Buffer.from(b).toString('utf8') : undefined);

/**
 * The whole original payload (its metadata too: `encoding: json/plain`) is serialized and
 * encrypted; the key id is authenticated with it (GCM additional data), so a payload
 * cannot be relabelled to another key. Data layout: IV (12 bytes) | ciphertext | tag (16).
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  // Private fields: the SDK dumps worker options (codecs included) at DEBUG level, and
  // JSON/inspect never see #fields.
  readonly #keyId: string;
  readonly #keys: Map<string, Buffer>;

  constructor(cfg: EncryptionConfig) {
    if (cfg.key.length !== 32) throw new Error('the encryption key must be 32 bytes');
    this.#keyId = cfg.keyId;
    this.#keys = new Map([...Object.entries(cfg.oldKeys), [cfg.keyId, cfg.key]]);
  }

  get keyId(): string {
    return this.#keyId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.#keys.get(this.#keyId)!;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(text(this.#keyId));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return {
        metadata: { encoding: text(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: text(this.#keyId) },
        data: Buffer.concat([iv, body, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Payloads written before encryption was switched on stay readable.
      if (readText(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyId = readText(payload.metadata?.[KEY_ID_METADATA]);
      if (keyId === undefined) throw new PayloadDecryptionError(`cannot decrypt a payload: it has no ${KEY_ID_METADATA} metadata`);
      const key = this.#keys.get(keyId);
      if (!key) {
        throw new PayloadDecryptionError(
          `cannot decrypt a payload encrypted with key id "${keyId}": no such key is configured ` +
            `(known: ${[...this.#keys.keys()].map((k) => `"${k}"`).join(', ')}); add it to HARVEST_SYNC_ENCRYPTION_OLD_KEYS as ${keyId}:<key>`,
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) {
        throw new PayloadDecryptionError(`cannot decrypt a payload with key id "${keyId}": it is truncated (${data.length} bytes)`);
      }
      const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(text(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new PayloadDecryptionError(
          `cannot decrypt a payload with key id "${keyId}": authentication failed (the payload was altered, or the key configured under that id is not the one it was encrypted with)`,
        );
      }
      const inner = temporal.api.common.v1.Payload.decode(plain);
      return { metadata: inner.metadata, data: inner.data };
    });
  }
}

/** The data converter for clients and workers: encryption when a key is configured. */
export function dataConverterFor(cfg: Pick<TemporalConfig, 'encryption'>): DataConverter | undefined {
  return cfg.encryption ? { payloadCodecs: [new AesGcmPayloadCodec(cfg.encryption)] } : undefined;
}
