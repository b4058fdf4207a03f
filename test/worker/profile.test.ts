import { beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./helpers/app";
import { type SignedInUser, signUpUser } from "./helpers/accounts";

const PROFILE = {
  full_name: "Asha Rao",
  country_code: "IND",
  address: "12 Marine Drive\nMumbai 400002",
  company_name: "Rao Exports Pvt Ltd",
  mobile_number: "+919876543210",
  profile_img_url: "https://cdn.example.com/asha.png",
};

describe("business profile", () => {
  let t: TestApp;
  let asha: SignedInUser;
  let ravi: SignedInUser;

  beforeAll(async () => {
    t = await createTestApp();
    asha = await signUpUser(t, "asha@example.com");
    ravi = await signUpUser(t, "ravi@example.com");
  });

  it("answers 404 before the first save", async () => {
    const response = await t.request("GET", "/v1/me/profile", { token: asha.accessToken });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe("not_found");
  });

  it("requires an access token", async () => {
    expect((await t.request("GET", "/v1/me/profile")).status).toBe(401);
    expect((await t.request("PUT", "/v1/me/profile", { body: PROFILE })).status).toBe(401);
  });

  it("creates the profile and marks setup time", async () => {
    const saved = await t.request("PUT", "/v1/me/profile", { token: asha.accessToken, body: PROFILE });
    expect(saved.status).toBe(200);
    expect(saved.headers.get("cache-control")).toBe("no-store");
    expect(saved.body).toMatchObject({ ...PROFILE, created_at: t.clock.now().toISOString() });

    const me = await t.request("GET", "/v1/me", { token: asha.accessToken });
    expect(me.body.user.profile_setup_at).toBe(t.clock.now().toISOString());
    expect(me.body.profile.full_name).toBe("Asha Rao");

    const read = await t.request("GET", "/v1/me/profile", { token: asha.accessToken });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(saved.body);
  });

  it("keeps the first setup time on later saves", async () => {
    const [before] = await t.sql`SELECT profile_setup_at FROM users WHERE id = ${asha.id}`;
    t.clock.advanceSeconds(60);
    const saved = await t.request("PUT", "/v1/me/profile", {
      token: asha.accessToken,
      body: { ...PROFILE, company_name: "Rao Global Trading" },
    });
    expect(saved.status).toBe(200);
    expect(saved.body.company_name).toBe("Rao Global Trading");
    expect(saved.body.updated_at).toBe(t.clock.now().toISOString());
    const [after] = await t.sql`SELECT profile_setup_at FROM users WHERE id = ${asha.id}`;
    expect(after?.profile_setup_at).toEqual(before?.profile_setup_at);
  });

  it("clears optional fields a PUT leaves out", async () => {
    const saved = await t.request("PUT", "/v1/me/profile", {
      token: asha.accessToken,
      body: { full_name: "Asha Rao", country_code: "ind", company_name: "  " },
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({
      country_code: "IND",
      address: null,
      company_name: null,
      mobile_number: null,
      profile_img_url: null,
    });
  });

  it("rejects a country that does not exist", async () => {
    const before = await t.request("GET", "/v1/me/profile", { token: asha.accessToken });
    const response = await t.request("PUT", "/v1/me/profile", {
      token: asha.accessToken,
      body: { ...PROFILE, country_code: "XYZ" },
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("validation_failed");
    expect(response.body.errors).toEqual([{ path: "country_code", message: expect.any(String) }]);
    const after = await t.request("GET", "/v1/me/profile", { token: asha.accessToken });
    expect(after.body).toEqual(before.body);
  });

  it("rejects a new user with an unknown country", async () => {
    const newcomer = await signUpUser(t, "newcomer@example.com");
    const response = await t.request("PUT", "/v1/me/profile", {
      token: newcomer.accessToken,
      body: { full_name: "New Comer", country_code: "ZZZ" },
    });
    expect(response.status).toBe(400);
    const rows = await t.sql`SELECT 1 FROM user_profile WHERE user_id = ${newcomer.id}`;
    expect(rows).toHaveLength(0);
    const [row] = await t.sql`SELECT profile_setup_at FROM users WHERE id = ${newcomer.id}`;
    expect(row?.profile_setup_at).toBeNull();
  });

  it("normalises a national mobile number", async () => {
    const saved = await t.request("PUT", "/v1/me/profile", {
      token: asha.accessToken,
      body: { ...PROFILE, mobile_number: "098765 43210" },
    });
    expect(saved.status).toBe(200);
    expect(saved.body.mobile_number).toBe("+919876543210");
  });

  it("rejects invalid mobile numbers", async () => {
    for (const mobile of ["12345", "+91 98765 43210 ext. 12", "call +919876543210", "+999123456789"]) {
      const response = await t.request("PUT", "/v1/me/profile", {
        token: ravi.accessToken,
        body: { ...PROFILE, mobile_number: mobile },
      });
      expect(response.status, mobile).toBe(400);
      expect(response.body.errors[0].path, mobile).toBe("mobile_number");
    }
  });

  it("reports a mobile number on another profile", async () => {
    const response = await t.request("PUT", "/v1/me/profile", {
      token: ravi.accessToken,
      body: { ...PROFILE, full_name: "Ravi Shah", mobile_number: "+91 98765 43210" },
    });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe("mobile_taken");
    expect(await t.sql`SELECT 1 FROM user_profile WHERE user_id = ${ravi.id}`).toHaveLength(0);
  });

  it("accepts only https image URLs", async () => {
    for (const url of [
      "http://cdn.example.com/a.png",
      "javascript:alert(1)",
      "https://user:pw@cdn.example.com/a.png",
      "/a.png",
    ]) {
      const response = await t.request("PUT", "/v1/me/profile", {
        token: ravi.accessToken,
        body: { full_name: "Ravi Shah", country_code: "IND", profile_img_url: url },
      });
      expect(response.status, url).toBe(400);
      expect(response.body.errors[0].path, url).toBe("profile_img_url");
    }
  });

  it("rejects unknown fields and bad names", async () => {
    const bodies = [
      { full_name: "Ravi Shah", country_code: "IND", user_id: asha.id },
      { full_name: "Ravi Shah", country_code: "IND", profile_setup_at: "2020-01-01T00:00:00Z" },
      { full_name: "", country_code: "IND" },
      { full_name: "x".repeat(151), country_code: "IND" },
      { full_name: "Ravi\u0000Shah", country_code: "IND" },
      { full_name: ["Ravi"], country_code: "IND" },
      { full_name: "Ravi Shah", country_code: "IN" },
      { full_name: "Ravi Shah" },
      { full_name: "Ravi Shah", country_code: "IND", company_name: "c".repeat(256) },
    ];
    for (const body of bodies) {
      const response = await t.request("PUT", "/v1/me/profile", { token: ravi.accessToken, body });
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(response.body.code).toBe("validation_failed");
    }
    expect(await t.sql`SELECT 1 FROM user_profile WHERE user_id = ${ravi.id}`).toHaveLength(0);
  });

  it("stops working when the session is revoked", async () => {
    const other = await signUpUser(t, "revoked@example.com");
    await t.sql`UPDATE auth_sessions SET revoked_at = now() WHERE user_id = ${other.id}`;
    const response = await t.request("PUT", "/v1/me/profile", { token: other.accessToken, body: PROFILE });
    expect(response.status).toBe(401);
    expect(await t.sql`SELECT 1 FROM user_profile WHERE user_id = ${other.id}`).toHaveLength(0);
  });

  it("records profile changes in the audit log", async () => {
    const events = await t.sql`SELECT actor_user_id, target_user_id FROM audit_events
                               WHERE action = 'profile.updated' AND target_user_id = ${asha.id}`;
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events[0]?.actor_user_id).toBe(asha.id);
  });

  it("uses one round trip per request", async () => {
    expect(await t.countRoundTrips(() => t.request("GET", "/v1/me/profile", { token: asha.accessToken }))).toBe(1);
    expect(
      await t.countRoundTrips(() => t.request("PUT", "/v1/me/profile", { token: asha.accessToken, body: PROFILE })),
    ).toBe(1);
    expect(
      await t.countRoundTrips(() =>
        t.request("PUT", "/v1/me/profile", { token: asha.accessToken, body: { ...PROFILE, country_code: "XYZ" } }),
      ),
    ).toBe(1);
  });
});
