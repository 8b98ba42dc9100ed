/**
 * Text from input (an event field, a JSON parser's excerpt of a bad line, a config value) made safe to print:
 * control characters would let it move the cursor, recolour or clear a terminal, or fake lines in a log.
 */

/** C0 controls, DEL and C1 controls written as `\xNN`; everything else unchanged. */
export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Whether the string holds a control character (C0, DEL, C1). */
export function hasControl(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f]/.test(s);
}
