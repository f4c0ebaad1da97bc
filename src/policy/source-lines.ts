// Maps Cedar's source offsets (UTF-8 byte offsets into the text it was given) to 1-based lines.
export function lineAt(text: string, byteOffset: number): number {
  const prefix = Buffer.from(text, 'utf8').subarray(0, Math.max(0, byteOffset)).toString('utf8');
  let line = 1;
  for (let i = 0; i < prefix.length; i++) if (prefix.charCodeAt(i) === 10) line++;
  return line;
}
