// Failure chains (workflow → child → activity → Harvest's answer): the innermost message
// is the one that says what went wrong. Pure: used by workflows and the CLI alike.

export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let msg = String(e?.message ?? err);
  while (e?.cause) {
    e = e.cause as { message?: string; cause?: unknown };
    if (e.message) msg = e.message;
  }
  return msg;
}
