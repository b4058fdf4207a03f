import { sha256Hex } from "../crypto/hashing";
import { signAccessToken } from "../crypto/jwt";
import { generateRandomToken } from "../crypto/random";
import type { Config } from "../config";
import type { UserView } from "./user-view";

export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;

export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_in: number;
  user: UserView;
}

/** A new refresh token (256 random bits) and the SHA-256 hash that the database stores. */
export async function createRefreshToken(): Promise<{ refreshToken: string; refreshTokenHash: string }> {
  const refreshToken = generateRandomToken(32);
  return { refreshToken, refreshTokenHash: await sha256Hex(refreshToken) };
}

export async function buildTokenResponse(
  config: Config,
  session: { id: string; refreshToken: string; expiresAt: Date },
  user: UserView,
  now: Date,
): Promise<TokenResponse> {
  const accessToken = await signAccessToken(
    config.jwt.keys,
    { sub: user.id, sid: session.id, role: user.role },
    { issuer: config.jwt.issuer, audience: config.jwt.audience, now, ttlSeconds: config.jwt.accessTokenTtlSeconds },
  );
  return {
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: config.jwt.accessTokenTtlSeconds,
    refresh_token: session.refreshToken,
    refresh_token_expires_in: Math.max(0, Math.floor((session.expiresAt.getTime() - now.getTime()) / 1000)),
    user,
  };
}
