// A Temporal codec server: lets the Web UI and `temporal workflow show --codec-endpoint`
// show encrypted payloads in clear. Protocol: POST {prefix}/encode and {prefix}/decode
// with a JSON body {"payloads": [{"metadata": {name: base64}, "data": base64}]} (proto3
// JSON of Payload), answered in the same shape. Any path prefix is accepted, so
// `http://host:port/{namespace}` works as a CLI endpoint template.
//
// Whoever reaches it can decrypt, so it listens on 127.0.0.1 by default; put it behind
// an authenticating proxy before exposing it.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import type { Config } from '../config';
import { AesGcmPayloadCodec } from './codec';

export interface CodecServer {
  /** e.g. http://127.0.0.1:8888 — the UI's "codec server endpoint". */
  url: string;
  port: number;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

function fromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(String(v), 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Serves the payload codec of `cfg` (HARVEST_SYNC_ENCRYPTION_KEY, ..._KEY_ID, ..._OLD_KEYS)
 * on `host:port` (port 0: any free port), with CORS for HARVEST_SYNC_CODEC_CORS_ORIGIN.
 */
export async function runCodecServer(cfg: Config, port: number, host = '127.0.0.1'): Promise<CodecServer> {
  if (!cfg.temporal.encryption) throw new Error('the codec server needs HARVEST_SYNC_ENCRYPTION_KEY (the key the workers encrypt with)');
  const codec = new AesGcmPayloadCodec(cfg.temporal.encryption);
  const origins = cfg.codecServer.corsOrigins;

  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && (origins.includes('*') || origins.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      // The UI's "include cross-origin credentials" setting sends cookies / auth headers.
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
    const op = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : undefined;
    if (req.method === 'OPTIONS') {
      res.writeHead(op ? 204 : 404).end();
      return;
    }
    if (!op) return send(404, { message: 'not found: POST /encode or /decode' });
    if (req.method !== 'POST') return send(405, { message: 'use POST' });
    readBody(req)
      .then(async (text) => {
        let body: { payloads?: unknown };
        try {
          body = JSON.parse(text) as { payloads?: unknown };
        } catch {
          return send(400, { message: 'the body must be JSON: {"payloads": [...]}' });
        }
        if (!Array.isArray(body.payloads)) return send(400, { message: 'the body must have a "payloads" array' });
        const payloads = (body.payloads as JsonPayload[]).map(fromJson);
        try {
          const out = op === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
          send(200, { payloads: out.map(toJson) });
        } catch (err) {
          // The codec's messages name key ids, never keys.
          send(400, { message: (err as Error).message });
        }
      })
      .catch((err: Error) => send(400, { message: err.message }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
