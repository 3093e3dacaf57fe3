/**
 * Credentials of the fake: personal access tokens, the OAuth2 refresh flow, and the
 * per-token sliding-window rate limit. Tokens are kept only in memory and never logged.
 */
import { randomBytes } from 'node:crypto';

export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Lifetime of issued access tokens (default 3600). */
  accessTtlSeconds?: number;
  /** Issue a new refresh token on every refresh and retire the old one. */
  rotateRefreshToken?: boolean;
}

export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
}

const INVALID_GRANT = (description: string) => ({ error: 'invalid_grant', error_description: description });

export class TokenBook {
  private readonly pats: ReadonlySet<string>;
  /** OAuth access token → expiry (ms epoch). */
  private readonly accessTokens = new Map<string, number>();
  private refreshToken: string | undefined;

  constructor(pats: readonly string[], private readonly oauth?: OAuthOptions) {
    this.pats = new Set(pats);
    this.refreshToken = oauth?.refreshToken;
  }

  isValid(token: string, nowMs: number = Date.now()): boolean {
    if (this.pats.has(token)) return true;
    const expiry = this.accessTokens.get(token);
    return expiry !== undefined && expiry > nowMs;
  }

  /** Every OAuth access token issued so far becomes invalid (PATs keep working). */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** `POST /api/v2/oauth2/token` with a form body. */
  refresh(form: URLSearchParams, nowMs: number = Date.now()): TokenReply {
    const oauth = this.oauth;
    if (form.get('grant_type') !== 'refresh_token') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Only refresh_token is supported.' } };
    }
    if (!oauth || form.get('client_id') !== oauth.clientId || form.get('client_secret') !== oauth.clientSecret) {
      return { status: 401, body: INVALID_GRANT('The client credentials are invalid.') };
    }
    if (!this.refreshToken || form.get('refresh_token') !== this.refreshToken) {
      return { status: 400, body: INVALID_GRANT('The refresh token is invalid, expired or revoked.') };
    }
    const ttl = oauth.accessTtlSeconds ?? 3600;
    const access_token = randomToken();
    this.accessTokens.set(access_token, nowMs + ttl * 1000);
    if (oauth.rotateRefreshToken) this.refreshToken = randomToken();
    return {
      status: 200,
      body: { access_token, refresh_token: this.refreshToken, expires_in: ttl, token_type: 'bearer' },
    };
  }
}

function randomToken(): string {
  return `${randomBytes(3).toString('hex')}.at.${randomBytes(24).toString('base64url')}`;
}

/** Extracts the token of an `Authorization: Bearer …` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1] : undefined;
}

export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** Sliding window per key: at most `limit` requests in any `windowMs`. */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly config: RateLimit) {}

  /** Records a request; returns 0 if allowed, else the whole seconds until a slot frees (>= 1). */
  take(key: string, nowMs: number = Date.now()): number {
    const windowStart = nowMs - this.config.windowMs;
    const hits = (this.hits.get(key) ?? []).filter((t) => t > windowStart);
    this.hits.set(key, hits);
    if (hits.length < this.config.limit) {
      hits.push(nowMs);
      return 0;
    }
    // Rejected requests are not counted; a slot frees when the oldest hit leaves the window.
    return Math.max(1, Math.ceil((hits[0]! + this.config.windowMs - nowMs) / 1000));
  }
}
