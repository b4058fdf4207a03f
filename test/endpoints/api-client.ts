// A transport-neutral view of the running service, so one table of endpoint cases drives both the
// benchmarks (HTTP against `wrangler dev`) and the reliability tests (in-process inside workerd).

export interface ApiRequestOptions {
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
  token?: string;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface ApiClient {
  request<T = any>(method: string, path: string, options?: ApiRequestOptions): Promise<ApiResponse<T>>;
  /** The text of the newest email or SMS the service sent to `address`, or undefined when none was sent. */
  latestMessage(address: string): Promise<string | undefined>;
  /** Run one SQL statement directly on the service's database, for setup and for checks. */
  query(text: string, params?: unknown[]): Promise<Record<string, any>[]>;
  /** The origin that OAuth `redirect_to` values may point under in this environment. */
  redirectOrigin: string;
  /**
   * Play the person at the provider: approve an authorization URL from `start` for `email` and
   * return the query the provider sends to the callback. Absent where no provider can be played.
   */
  approveAuthorization?(authorizationUrl: string, email: string): Promise<URLSearchParams>;
}

export const BENCH_PASSWORD = "correct horse battery staple";

let sequence = 0;

/** A fresh lower-case address that no other case in this process uses. */
export function uniqueEmail(label: string): string {
  sequence += 1;
  const random = crypto.randomUUID().slice(0, 8);
  return `${label}-${sequence}-${random}@example.com`;
}

/** A fresh Indian mobile number in E.164, unique within this process with high probability. */
export function uniqueMobileNumber(): string {
  const digits = String(Math.floor(Math.random() * 1_000_000_000)).padStart(9, "0");
  return `+919${digits}`;
}

/** Read the 6-digit code from the newest message to `address`. */
export async function latestCode(api: ApiClient, address: string): Promise<string> {
  const text = await api.latestMessage(address);
  const match = /\b(\d{6})\b/.exec(text ?? "");
  if (match?.[1] === undefined) throw new Error(`No code was sent to ${address}`);
  return match[1];
}

/** Read a password-reset token from the newest message to `address`: the `token` parameter of a link. */
export async function latestResetToken(api: ApiClient, address: string): Promise<string> {
  const text = (await api.latestMessage(address)) ?? "";
  const match = /[?&#]token=([A-Za-z0-9_.~%-]+)/.exec(text);
  if (match?.[1] === undefined) throw new Error(`No reset link was sent to ${address}`);
  return decodeURIComponent(match[1]);
}

export interface Account {
  email: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

/** Sign up and verify a new account through the public API, so it is active and signed in. */
export async function createActiveAccount(api: ApiClient, label = "user"): Promise<Account> {
  const email = uniqueEmail(label);
  const signUp = await api.request("POST", "/v1/auth/signup", { body: { email, password: BENCH_PASSWORD } });
  expectStatus(signUp, 202, "sign-up");

  const code = await latestCode(api, email);
  const verified = await api.request("POST", "/v1/auth/email/verify", { body: { email, code } });
  expectStatus(verified, 200, "email verification");
  return {
    email,
    password: BENCH_PASSWORD,
    userId: verified.body.user.id,
    accessToken: verified.body.access_token,
    refreshToken: verified.body.refresh_token,
  };
}

/** Give an account a role and sign in again, so its access token carries the role. */
export async function createAccountWithRole(api: ApiClient, role: "reviewer" | "admin"): Promise<Account> {
  const account = await createActiveAccount(api, role);
  await api.query("UPDATE users SET role = $1 WHERE id = $2", [role, account.userId]);
  return signIn(api, account);
}

/** Sign in with the account's password, returning fresh tokens. */
export async function signIn(api: ApiClient, account: Account): Promise<Account> {
  const login = await api.request("POST", "/v1/auth/login", {
    body: { identifier: account.email, password: account.password },
  });
  expectStatus(login, 200, "login");
  return { ...account, accessToken: login.body.access_token, refreshToken: login.body.refresh_token };
}

/** The session id (`sid` claim) of an access token, read without verifying it. */
export function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split(".")[1] ?? "";
  const json = atob(payload.replaceAll("-", "+").replaceAll("_", "/"));
  return (JSON.parse(json) as { sid: string }).sid;
}

export function expectStatus(response: ApiResponse, expected: number, step: string): void {
  if (response.status !== expected) {
    throw new Error(`${step} returned HTTP ${response.status}, expected ${expected}: ${response.text.slice(0, 300)}`);
  }
}

/** The smallest valid PNG (1×1, transparent), for document uploads. */
export const SMALL_PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (character) => character.charCodeAt(0),
);
