// Type-level test of the typed client: `npm run typecheck` compiles this file, and a change to a
// route's schema that breaks a consumer's call fails the compile. Nothing here runs.
import { hc, type InferRequestType, type InferResponseType } from "hono/client";
import type { AppType } from "../../src/index";

function expectType<T>(_value: T): void {}

const client = hc<AppType>("https://api.example.com");

type SignUpBody = InferRequestType<typeof client.v1.auth.signup.$post>["json"];
expectType<SignUpBody>({ email: "asha@example.com", password: "correct horse battery staple" });
expectType<SignUpBody>({ email: "asha@example.com", password: "correct horse battery staple", username: "asha" });
// @ts-expect-error the password is required
expectType<SignUpBody>({ email: "asha@example.com" });
// @ts-expect-error request bodies are strict, so a client cannot send a role
expectType<SignUpBody>({ email: "asha@example.com", password: "correct horse battery staple", role: "admin" });

type SignUpAccepted = InferResponseType<typeof client.v1.auth.signup.$post, 202>;
expectType<"verification_required">(({} as SignUpAccepted).status);

type Me = InferResponseType<typeof client.v1.me.$get, 200>;
expectType<string>(({} as Me).user.id);
expectType<boolean>(({} as Me).login_methods.password);

/** Sign up as a consumer would, returning the masked address the code went to. */
export async function signUpAndReadDestination(email: string, password: string): Promise<string | null> {
  const response = await client.v1.auth.signup.$post({ json: { email, password } });
  if (response.status !== 202) return null;
  return (await response.json()).destination;
}

/** Read the signed-in user's email as a consumer would, with an access token. */
export async function readEmailOfSignedInUser(accessToken: string): Promise<string | null> {
  const response = await client.v1.me.$get(undefined, { headers: { authorization: `Bearer ${accessToken}` } });
  if (response.status !== 200) return null;
  const me = await response.json();
  return me.user.email;
}
