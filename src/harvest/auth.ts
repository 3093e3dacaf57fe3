// Access tokens for Harvest. A personal access token is used as is; an OAuth2 access
// token is cached in the worker process, refreshed shortly before it expires and once
// after a 401, and a refresh token Harvest hands back replaces the old one on disk so a
// worker restart does not fall back to a rotated-out token.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { request } from 'undici';
import type { HarvestConfig } from '../config';
import { HarvestError, harvestMessage } from './errors';

export interface TokenProvider {
  /** A valid access token. */
  token(): Promise<string>;
  /** Called after a 401: returns true when a fresh token was obtained and a retry makes sense. */
  invalidate(rejected: string): Promise<boolean>;
}

export function createTokenProvider(cfg: HarvestConfig): TokenProvider {
  if (cfg.auth.kind === 'pat') {
    const pat = cfg.auth.accessToken;
    return { token: async () => pat, invalidate: async () => false };
  }
  return new OAuthTokenProvider(cfg);
}

interface StoredTokens {
  /** Fingerprint of the configured refresh token this file descends from. */
  origin: string;
  refreshToken: string;
}

const REFRESH_MARGIN_MS = 5 * 60_000;

class OAuthTokenProvider implements TokenProvider {
  private access?: { token: string; expiresAt: number };
  private refreshing?: Promise<string>;
  private refreshToken: string;
  private readonly origin: string;

  constructor(private readonly cfg: HarvestConfig) {
    if (cfg.auth.kind !== 'oauth') throw new Error('OAuth provider needs OAuth configuration');
    this.origin = fingerprint(cfg.auth.refreshToken);
    this.refreshToken = this.loadStored() ?? cfg.auth.refreshToken;
  }

  async token(): Promise<string> {
    if (this.access && this.access.expiresAt - REFRESH_MARGIN_MS > Date.now()) return this.access.token;
    return this.refresh();
  }

  async invalidate(rejected: string): Promise<boolean> {
    // Another request may already have refreshed: only drop the token that failed.
    if (this.access?.token === rejected) this.access = undefined;
    await this.token();
    return true;
  }

  private refresh(): Promise<string> {
    // One refresh at a time: concurrent activities share its result.
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<string> {
    const auth = this.cfg.auth as Extract<HarvestConfig['auth'], { kind: 'oauth' }>;
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: auth.clientId,
      client_secret: auth.clientSecret,
      refresh_token: this.refreshToken,
    });
    let res;
    try {
      res = await request(this.cfg.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': this.cfg.userAgent, accept: 'application/json' },
        body: form.toString(),
        headersTimeout: this.cfg.requestTimeoutMs,
        bodyTimeout: this.cfg.requestTimeoutMs,
      });
    } catch (err) {
      throw new HarvestError(`OAuth2 token refresh at ${safeUrl(this.cfg.tokenUrl)} failed: ${(err as Error).message}`, 'network', undefined, true);
    }
    const text = await res.body.text();
    if (res.statusCode >= 500 || res.statusCode === 429) {
      throw new HarvestError(`OAuth2 token refresh answered ${res.statusCode}: ${harvestMessage(text)}`, 'server', res.statusCode, true);
    }
    if (res.statusCode !== 200) {
      throw new HarvestError(
        `OAuth2 token refresh was refused (${res.statusCode}: ${harvestMessage(text)}); check HARVEST_CLIENT_ID, HARVEST_CLIENT_SECRET and HARVEST_REFRESH_TOKEN`,
        'auth',
        res.statusCode,
        false,
      );
    }
    let body: { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new HarvestError('OAuth2 token refresh returned a body that is not JSON', 'malformed', 200, true);
    }
    if (typeof body.access_token !== 'string' || !body.access_token) {
      throw new HarvestError('OAuth2 token refresh returned no access_token', 'malformed', 200, true);
    }
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    this.access = { token: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
    if (typeof body.refresh_token === 'string' && body.refresh_token && body.refresh_token !== this.refreshToken) {
      this.refreshToken = body.refresh_token;
      this.store();
    }
    return this.access.token;
  }

  private loadStored(): string | undefined {
    try {
      const stored = JSON.parse(fs.readFileSync(this.cfg.tokenFile, 'utf8')) as StoredTokens;
      return stored.origin === this.origin && typeof stored.refreshToken === 'string' ? stored.refreshToken : undefined;
    } catch {
      return undefined;
    }
  }

  private store(): void {
    const data: StoredTokens = { origin: this.origin, refreshToken: this.refreshToken };
    fs.mkdirSync(path.dirname(this.cfg.tokenFile), { recursive: true });
    const tmp = `${this.cfg.tokenFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
    fs.renameSync(tmp, this.cfg.tokenFile);
  }
}

function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

/** A URL without query string or credentials, for messages. */
export function safeUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
