import { afterEach, describe, expect, it } from "vitest";
import { ResendMailer } from "../../../src/adapters/mail/resend";
import { emailChangedNoticeMail, signInCodeMail } from "../../../src/adapters/mail/templates";
import { UpstreamError } from "../../../src/errors";
import { fakeHost } from "../helpers/network";

let removeFake: (() => void) | undefined;
afterEach(() => {
  removeFake?.();
  removeFake = undefined;
});

function fakeResend(respond: () => Response) {
  const requests: { url: string; method: string; headers: Headers; body: unknown }[] = [];
  removeFake = fakeHost("https://api.resend.com", async (request) => {
    requests.push({ url: request.url, method: request.method, headers: request.headers, body: await request.json() });
    return respond();
  });
  return requests;
}

const MAIL = { to: "asha@example.com", ...signInCodeMail("042917", 10) };

describe("ResendMailer", () => {
  it("posts the email with bearer auth", async () => {
    const requests = fakeResend(() => Response.json({ id: "email-id" }));
    const mailer = new ResendMailer({
      apiKey: "re_test_key",
      from: "Trade Identity <no-reply@app.test>",
      replyTo: "support@app.test",
    });

    await mailer.send(MAIL);

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("https://api.resend.com/emails");
    expect(request?.headers.get("authorization")).toBe("Bearer re_test_key");
    expect(request?.headers.get("content-type")).toBe("application/json");
    expect(request?.body).toEqual({
      from: "Trade Identity <no-reply@app.test>",
      to: ["asha@example.com"],
      subject: MAIL.subject,
      text: MAIL.text,
      html: MAIL.html,
      reply_to: "support@app.test",
    });
  });

  it("leaves out an unset reply-to", async () => {
    const requests = fakeResend(() => Response.json({ id: "email-id" }));
    const mailer = new ResendMailer({ apiKey: "re_test_key", from: "no-reply@app.test", replyTo: undefined });

    await mailer.send(MAIL);

    expect(requests[0]?.body).not.toHaveProperty("reply_to");
  });

  it.each([401, 422, 429, 500])("throws an upstream error on HTTP %i", async (status) => {
    fakeResend(() => Response.json({ name: "validation_error", message: "Invalid `to` field" }, { status }));
    const mailer = new ResendMailer({ apiKey: "re_test_key", from: "no-reply@app.test", replyTo: undefined });

    const error = await mailer.send(MAIL).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).service).toBe("mail");
  });

  it("throws an upstream error when unreachable", async () => {
    removeFake = fakeHost("https://api.resend.com", () => {
      throw new TypeError("Network connection lost.");
    });
    const mailer = new ResendMailer({ apiKey: "re_test_key", from: "no-reply@app.test", replyTo: undefined });

    await expect(mailer.send(MAIL)).rejects.toThrow(UpstreamError);
  });
});

describe("mail templates", () => {
  it("puts the code in both bodies", () => {
    const mail = signInCodeMail("042917", 10);

    expect(mail.subject).toContain("042917");
    expect(mail.text).toContain("042917");
    expect(mail.html).toContain("042917");
    expect(mail.html).toMatch(/^<!doctype html>/);
  });

  it("escapes text in the HTML body", () => {
    const mail = emailChangedNoticeMail("n***@example.com", "https://app.test");

    expect(mail.text).toContain("someone else's hands");
    expect(mail.html).toContain("someone else&#39;s hands");
  });
});
