import { latestCode, type TestApp } from "./app";

export interface SignedInAccount {
  userId: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

/** Sign up through the API, verify the emailed code and return the first session's tokens. */
export async function createAccount(
  t: TestApp,
  input: { email: string; password: string; username?: string },
): Promise<SignedInAccount> {
  const signUp = await t.request("POST", "/v1/auth/signup", { body: input });
  if (signUp.status !== 202) throw new Error(`Sign-up failed: HTTP ${signUp.status} ${signUp.text}`);

  const email = input.email.toLowerCase();
  const code = latestCode(t.mailer, email);
  const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email, code } });
  if (verified.status !== 200) throw new Error(`Verification failed: HTTP ${verified.status} ${verified.text}`);

  return {
    userId: verified.body.user.id,
    email,
    accessToken: verified.body.access_token,
    refreshToken: verified.body.refresh_token,
  };
}

export function login(t: TestApp, identifier: string, password: string, headers: Record<string, string> = {}) {
  return t.request("POST", "/v1/auth/login", { body: { identifier, password }, headers });
}

export function refresh(t: TestApp, refreshToken: string) {
  return t.request("POST", "/v1/auth/token/refresh", { body: { refresh_token: refreshToken } });
}

export const TEST_PASSWORD = "correct horse battery staple";

export interface SignedInUser {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

/**
 * Sign up and verify an account through the API. A role other than `user` is set in the database
 * before verification, so the first access token already carries it.
 */
export async function signUpUser(
  t: TestApp,
  email: string,
  role: "user" | "reviewer" | "admin" = "user",
): Promise<SignedInUser> {
  const signUp = await t.request("POST", "/v1/auth/signup", { body: { email, password: TEST_PASSWORD } });
  if (signUp.status !== 202) throw new Error(`Sign-up failed: HTTP ${signUp.status} ${signUp.text}`);
  if (role !== "user") await t.sql`UPDATE users SET role = ${role} WHERE email = ${email}`;

  const code = latestCode(t.mailer, email);
  const verified = await t.request("POST", "/v1/auth/email/verify", { body: { email, code } });
  if (verified.status !== 200) throw new Error(`Verification failed: HTTP ${verified.status} ${verified.text}`);
  return {
    id: verified.body.user.id,
    email,
    accessToken: verified.body.access_token,
    refreshToken: verified.body.refresh_token,
  };
}
