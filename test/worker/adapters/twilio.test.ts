import { afterEach, describe, expect, it } from "vitest";
import { TwilioSmsSender } from "../../../src/adapters/sms/twilio";
import { oneTimeCodeSms } from "../../../src/adapters/sms/templates";
import { UpstreamError } from "../../../src/errors";
import { fakeHost } from "../helpers/network";

const ACCOUNT_SID = `AC${"0123456789abcdef".repeat(2)}`;
const AUTH_TOKEN = "twilio-auth-token-for-tests";
const MESSAGE = oneTimeCodeSms("+919876543210", "042917", 10, "https://app.test");

let removeFake: (() => void) | undefined;
afterEach(() => {
  removeFake?.();
  removeFake = undefined;
});

/** Fake Twilio, recording each request with its body read as form fields. */
function fakeTwilio(respond: () => Response | Promise<Response>) {
  const requests: { url: string; method: string; headers: Headers; form: URLSearchParams }[] = [];
  removeFake = fakeHost("https://api.twilio.com", async (request) => {
    requests.push({
      url: request.url,
      method: request.method,
      headers: request.headers,
      form: new URLSearchParams(await request.text()),
    });
    return respond();
  });
  return requests;
}

function created(): Response {
  return Response.json({ sid: "SM0123", status: "queued" }, { status: 201 });
}

describe("TwilioSmsSender", () => {
  it("posts the documented Messages request", async () => {
    const requests = fakeTwilio(created);
    const sender = new TwilioSmsSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: "+15005550006",
      messagingServiceSid: undefined,
    });

    await sender.send(MESSAGE);

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe(`https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(request?.headers.get("authorization")).toBe(`Basic ${btoa(`${ACCOUNT_SID}:${AUTH_TOKEN}`)}`);
    expect(request?.headers.get("content-type")).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(request?.form ?? [])).toEqual({
      To: "+919876543210",
      From: "+15005550006",
      Body: MESSAGE.text,
    });
  });

  it("prefers the messaging service", async () => {
    const requests = fakeTwilio(created);
    const messagingServiceSid = `MG${"fedcba9876543210".repeat(2)}`;
    const sender = new TwilioSmsSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: "+15005550006",
      messagingServiceSid,
    });

    await sender.send(MESSAGE);

    const form = requests[0]?.form;
    expect(form?.get("MessagingServiceSid")).toBe(messagingServiceSid);
    expect(form?.has("From")).toBe(false);
  });

  it.each([400, 401, 429, 500, 503])("throws on HTTP %i without the number", async (status) => {
    fakeTwilio(() =>
      Response.json({ code: 21211, message: "The 'To' number +919876543210 is not valid." }, { status }),
    );
    const sender = new TwilioSmsSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: "+15005550006",
      messagingServiceSid: undefined,
    });

    const error = await sender.send(MESSAGE).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).service).toBe("sms");
    expect((error as Error).message).not.toContain("9876543210");
  });

  it("throws when Twilio does not answer in time", async () => {
    removeFake = fakeHost(
      "https://api.twilio.com",
      (request) =>
        new Promise<Response>((_, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason));
        }),
    );
    const sender = new TwilioSmsSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: "+15005550006",
      messagingServiceSid: undefined,
      timeoutMs: 50,
    });

    await expect(sender.send(MESSAGE)).rejects.toThrow(UpstreamError);
  });
});
