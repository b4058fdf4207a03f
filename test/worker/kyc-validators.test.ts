import { describe, expect, it } from "vitest";
import {
  checkGovernmentIdNumber,
  computeGstinCheckCharacter,
  hasValidVerhoeffCheckDigit,
  isValidAadhaar,
  isValidDrivingLicence,
  isValidGstin,
  isValidNationalId,
  isValidPan,
  isValidPassportNumber,
  isValidVoterId,
  normalizeIdNumber,
  panOfGstin,
} from "../../src/lib/kyc-validators";

// Every number below is made up. Check digits and characters were computed for these vectors
// with a separate Python implementation of Verhoeff and of the GSTIN mod-36 algorithm.

describe("PAN", () => {
  it("accepts every holder type", () => {
    for (const holderType of "PCHFATBLJG") {
      expect(isValidPan(`ABC${holderType}E1234F`), holderType).toBe(true);
    }
  });

  it("rejects malformed PANs", () => {
    const invalid = [
      "ABCXE1234F", // X is not a holder type
      "ABCDE1234F", // D is not a holder type
      "ABCPE1234", // too short
      "ABCPE12345F", // too long
      "ABCP11234F", // digit where a letter belongs
      "ABCPE1A34F", // letter where a digit belongs
      "ABCPE12349", // digit as the last character
      "abcpe1234f", // not normalised
      "",
    ];
    for (const pan of invalid) expect(isValidPan(pan), pan).toBe(false);
  });
});

describe("Aadhaar", () => {
  it("accepts numbers with a valid check digit", () => {
    for (const aadhaar of ["234567890124", "987654321012", "500000000006", "712345678908"]) {
      expect(isValidAadhaar(aadhaar), aadhaar).toBe(true);
    }
  });

  it("rejects wrong check digits and shapes", () => {
    const invalid = [
      "234567890123", // wrong check digit
      "234567890142", // last two digits swapped
      "324567890124", // first two digits swapped
      "123456789010", // valid check digit, but starts with 1
      "012345678906", // valid check digit, but starts with 0
      "23456789012", // 11 digits
      "2345678901245", // 13 digits
      "23456789012A",
      "",
    ];
    for (const aadhaar of invalid) expect(isValidAadhaar(aadhaar), aadhaar).toBe(false);
  });

  it("matches the published Verhoeff example", () => {
    // The worked example in Verhoeff's scheme: 236 gets check digit 3.
    expect(hasValidVerhoeffCheckDigit("2363")).toBe(true);
    expect(hasValidVerhoeffCheckDigit("2364")).toBe(false);
  });
});

describe("GSTIN", () => {
  const valid = [
    "27ABCPE1234F1ZB",
    "29AAACZ9876K1ZA",
    "07AAAFT5678L2ZL",
    "97AABCT1357B1ZJ",
    "99ZZZGA2468J1ZB",
    "38ABCHP4321Q1ZP",
  ];

  it("accepts valid GSTINs", () => {
    for (const gstin of valid) expect(isValidGstin(gstin), gstin).toBe(true);
  });

  it("computes check characters", () => {
    for (const gstin of valid) expect(computeGstinCheckCharacter(gstin.slice(0, 14)), gstin).toBe(gstin[14]);
  });

  it("rejects invalid GSTINs", () => {
    const invalid = [
      "27ABCPE1234F1ZC", // wrong check character
      "27ABCPE1234F1BZ", // last two characters swapped
      "00ABCPE1234F1ZR", // state code 00, valid check character
      "39ABCPE1234F1Z6", // state code 39, valid check character
      "98ABCPE1234F1Z2", // state code 98, valid check character
      "27ABCXE1234F1ZV", // embedded PAN has holder type X, valid check character
      "27ABCPE1234F0ZC", // entity number 0, valid check character
      "27ABCPE1234F1YD", // Y where Z belongs, valid check character
      "27ABCPE1234F1Z", // 14 characters
      "27ABCPE1234F1ZBB", // 16 characters
      "27abcpe1234f1zb", // not normalised
      "",
    ];
    for (const gstin of invalid) expect(isValidGstin(gstin), gstin).toBe(false);
  });

  it("exposes the embedded PAN", () => {
    expect(panOfGstin("27ABCPE1234F1ZB")).toBe("ABCPE1234F");
  });
});

describe("passport and other ids", () => {
  it("accepts passport numbers of 6 to 9 characters", () => {
    for (const passport of ["K1234567", "Z9876543", "X12345678", "123456", "AB1234567"]) {
      expect(isValidPassportNumber(passport), passport).toBe(true);
    }
  });

  it("rejects malformed passport numbers", () => {
    for (const passport of ["K1234", "K123456789", "ABCDEFGH", "K12-4567", "K1234567<", ""]) {
      expect(isValidPassportNumber(passport), passport).toBe(false);
    }
  });

  it("checks voter ids, licences and national ids", () => {
    expect(isValidVoterId("ABC1234567")).toBe(true);
    expect(isValidVoterId("AB12345678")).toBe(false);
    expect(isValidVoterId("ABC123456")).toBe(false);
    expect(isValidDrivingLicence("MH1420110062821")).toBe(true);
    expect(isValidDrivingLicence("MH14201100628")).toBe(false);
    expect(isValidDrivingLicence("MH1418110062821")).toBe(false);
    expect(isValidDrivingLicence("1H1420110062821")).toBe(false);
    expect(isValidNationalId("X1234")).toBe(true);
    expect(isValidNationalId("ABCDEFGH")).toBe(false);
    expect(isValidNationalId("X12")).toBe(false);
    expect(isValidNationalId(`X${"1".repeat(20)}`)).toBe(false);
  });
});

describe("normalisation and dispatch", () => {
  it("removes spaces and hyphens and upper-cases", () => {
    expect(normalizeIdNumber(" 2345 6789-0124 ")).toBe("234567890124");
    expect(normalizeIdNumber("abcpe1234f")).toBe("ABCPE1234F");
    // Full-width digits become ASCII under NFKC.
    expect(normalizeIdNumber("２３４５６７８９０１２４")).toBe("234567890124");
  });

  it("validates by id type", () => {
    expect(checkGovernmentIdNumber("pan", "ABCPE1234F")).toBeNull();
    expect(checkGovernmentIdNumber("aadhaar", "ABCPE1234F")).toMatch(/Aadhaar/);
    expect(checkGovernmentIdNumber("aadhaar", "234567890124")).toBeNull();
    expect(checkGovernmentIdNumber("pan", "234567890124")).toMatch(/PAN/);
    expect(checkGovernmentIdNumber("passport", "K1234567")).toBeNull();
    expect(checkGovernmentIdNumber("voter_id", "ABC1234567")).toBeNull();
    expect(checkGovernmentIdNumber("driving_licence", "MH1420110062821")).toBeNull();
    expect(checkGovernmentIdNumber("national_id", "X1234")).toBeNull();
  });
});
