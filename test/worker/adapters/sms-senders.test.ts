import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DevelopmentOutbox } from "../../../src/adapters/outbox";
import { createSmsSender } from "../../../src/adapters/sms/create";
import { OutboxSmsSender } from "../../../src/adapters/sms/outbox-sms";
import { oneTimeCodeSms } from "../../../src/adapters/sms/templates";
import { TwilioSmsSender } from "../../../src/adapters/sms/twilio";
import { ConfigError, parseConfig } from "../../../src/config";
import { FrozenClock } from "../helpers/clock";

const TWILIO_SETTINGS = {
  TWILIO_ACCOUNT_SID: `AC${"0123456789abcdef".repeat(2)}`,
  TWILIO_AUTH_TOKEN: "twilio-auth-token-for-tests",
  TWILIO_MESSAGING_SERVICE_SID: `MG${"0123456789abcdef".repeat(2)}`,
};

describe("OutboxSmsSender", () => {
  it("writes the SMS to the development outbox", async () => {
    const outbox = new DevelopmentOutbox(env.OTP_KV);
    const number = `+9198${String(Date.now()).slice(-8)}`;

    await new OutboxSmsSender(outbox, new FrozenClock()).send(oneTimeCodeSms(number, "042917", 10, "https://app.test"));

    const messages = await outbox.list(number);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ channel: "sms", to: number, subject: null });
    expect(messages[0]?.text).toContain("042917");
  });
});

describe("oneTimeCodeSms", () => {
  it("ends with the WebOTP line", () => {
    const message = oneTimeCodeSms("+919876543210", "042917", 10, "https://app.example.com");

    expect(message.text.split("\n").at(-1)).toBe("@app.example.com #042917");
    expect(message.template).toEqual({
      name: "one_time_code",
      variables: { code: "042917", expires_in_minutes: "10" },
    });
  });
});

describe("createSmsSender", () => {
  it("uses the outbox in development", async () => {
    const config = await parseConfig({ ...env, ...TWILIO_SETTINGS, ENVIRONMENT: "development" });

    expect(createSmsSender(config, env.OTP_KV, new FrozenClock())).toBeInstanceOf(OutboxSmsSender);
  });

  it("uses Twilio when configured", async () => {
    const config = await parseConfig({ ...env, ...TWILIO_SETTINGS });

    expect(createSmsSender(config, env.OTP_KV, new FrozenClock())).toBeInstanceOf(TwilioSmsSender);
  });
});

describe("SMS settings", () => {
  const production = {
    ...env,
    ENVIRONMENT: "production",
    NEON_FETCH_ENDPOINT: "",
    RESEND_API_KEY: "re_production_key",
    CORS_ORIGINS: "https://client.example.com",
  };

  it("names every missing Twilio setting", async () => {
    const error = await parseConfig(production).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain("TWILIO_ACCOUNT_SID is not set");
    expect((error as Error).message).toContain("TWILIO_AUTH_TOKEN is not set");
    expect((error as Error).message).toContain("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM");
  });

  it("accepts a complete Twilio setup", async () => {
    const config = await parseConfig({ ...production, ...TWILIO_SETTINGS });

    expect(config.sms.twilio?.messagingServiceSid).toBe(TWILIO_SETTINGS.TWILIO_MESSAGING_SERVICE_SID);
  });

  it("rejects an unknown provider", async () => {
    const error = await parseConfig({ ...env, SMS_PROVIDER: "carrier-pigeon" }).catch((caught: unknown) => caught);

    expect((error as Error).message).toContain("SMS_PROVIDER must be one of twilio");
  });

  it("rejects malformed Twilio values", async () => {
    const error = await parseConfig({
      ...env,
      TWILIO_ACCOUNT_SID: "not-a-sid",
      TWILIO_AUTH_TOKEN: "token",
      TWILIO_FROM: "+1 (555) 000",
    }).catch((caught: unknown) => caught);

    expect((error as Error).message).toContain("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits");
    expect((error as Error).message).toContain("TWILIO_FROM must be an E.164 number");
  });
});
