import type { MailMessage } from "./mailer";

export type MailContent = Omit<MailMessage, "to">;

const PRODUCT_NAME = "Trade Identity";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Build both bodies from the same paragraphs, so the text and HTML versions never disagree. */
function compose(subject: string, paragraphs: string[]): MailContent {
  const text = `${paragraphs.join("\n\n")}\n\n— ${PRODUCT_NAME}\n`;
  const htmlParagraphs = paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join("\n");
  const html = `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">${htmlParagraphs}<p>— ${PRODUCT_NAME}</p></body></html>`;
  return { subject, text, html };
}

export function verificationCodeMail(
  code: string,
  expiresInMinutes: number,
  options: { repeatedSignUp?: boolean } = {},
): MailContent {
  const repeated = options.repeatedSignUp
    ? [
        "Someone signed up again with this address before it was verified, so this code replaces the one sent before, and it activates the password chosen in that latest sign-up.",
        "If you signed up only once, do not use this code: someone else chose that password. Sign up again yourself to get a code for your own password.",
      ]
    : [];
  return compose(`Your ${PRODUCT_NAME} code is ${code}`, [
    `Your verification code is ${code}.`,
    ...repeated,
    `It expires in ${expiresInMinutes} minutes and works once. If you did not ask for it, ignore this email.`,
  ]);
}

export function accountExistsMail(appUrl: string): MailContent {
  return compose(`Someone tried to sign up with your email`, [
    "Someone tried to create a new account with this email address, which already has an account.",
    `If it was you, sign in instead, or reset your password at ${appUrl}. If it was not you, you can ignore this email: nothing has changed.`,
  ]);
}

// --- Password sign-in, lockout and reset ----------------------------------------------------------

export function accountLockedMail(appUrl: string, lockedForMinutes: number): MailContent {
  return compose("Sign-in to your account is paused", [
    `Someone entered the wrong password for your account several times, so password sign-in is paused for ${lockedForMinutes} minutes.`,
    `If it was you, wait and try again, or reset your password at ${appUrl}/forgot-password. If it was not you, your password is still safe: consider changing it to a longer one.`,
  ]);
}

export function passwordResetMail(resetUrl: string, expiresInMinutes: number): MailContent {
  return compose("Reset your password", [
    `Open this link to choose a new password: ${resetUrl}`,
    `The link works once and expires in ${expiresInMinutes} minutes. If you did not ask to reset your password, ignore this email: nothing has changed.`,
  ]);
}

export function passwordNotSetMail(appUrl: string): MailContent {
  return compose("About your password reset request", [
    "Someone asked to reset the password of your account, but your account has no password: you sign in with a linked provider or a one-time code.",
    `Sign in that way at ${appUrl}, then set a password in your account settings if you want one. If you did not ask for this, ignore this email.`,
  ]);
}

export function passwordChangedMail(appUrl: string, how: "changed" | "reset"): MailContent {
  return compose(`Your password was ${how}`, [
    `The password of your account was just ${how}, and your other sessions were signed out.`,
    `If this was not you, reset your password at ${appUrl}/forgot-password right away and review your account.`,
  ]);
}

// KYC review decisions.

export function kycApprovedMail(appUrl: string): MailContent {
  return compose(`Your ${PRODUCT_NAME} business verification is approved`, [
    "Your KYC details and documents have been reviewed and approved. Your business is now verified.",
    `You can see the details at ${appUrl}.`,
  ]);
}

export function kycRejectedMail(reason: string, appUrl: string): MailContent {
  return compose(`Your ${PRODUCT_NAME} business verification needs changes`, [
    "Your KYC details and documents have been reviewed and could not be approved yet. The reviewer wrote:",
    reason,
    `Update your details or documents at ${appUrl} and submit them again.`,
  ]);
}

// One-time codes for sign-in and contact changes, and the notice an old address gets.

export function signInCodeMail(code: string, expiresInMinutes: number): MailContent {
  return compose(`Your ${PRODUCT_NAME} sign-in code is ${code}`, [
    `Your sign-in code is ${code}.`,
    `It expires in ${expiresInMinutes} minutes and works once. If you did not try to sign in, ignore this email: without the code nobody can sign in with it.`,
  ]);
}

export function emailChangeCodeMail(code: string, expiresInMinutes: number): MailContent {
  return compose(`Confirm your new ${PRODUCT_NAME} email address`, [
    `Enter ${code} to make this the email address of your ${PRODUCT_NAME} account.`,
    `The code expires in ${expiresInMinutes} minutes and works once. If you did not ask for this change, ignore this email: nothing changes without the code.`,
  ]);
}

export function emailChangedNoticeMail(maskedNewEmail: string, appUrl: string): MailContent {
  return compose(`Your ${PRODUCT_NAME} email address was changed`, [
    `The email address of your ${PRODUCT_NAME} account was changed to ${maskedNewEmail}. This address no longer signs in to it.`,
    `If you made this change, there is nothing to do. If you did not, your account may be in someone else's hands: contact support through ${appUrl} at once.`,
  ]);
}
