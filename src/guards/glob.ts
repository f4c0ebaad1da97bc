// Globs over route ids and model names in `guards[].routes` / `guards[].models`: `*` matches any
// run of characters (dots included, so `openai.*` covers `openai.chat.completions`), `?` one.

/** Compiles a list of globs into one matcher (true when any glob matches the whole string). */
export function compileGlobs(globs: readonly string[]): (s: string) => boolean {
  if (globs.includes('*')) return () => true;
  const body = globs.map((g) => g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')).join('|');
  const re = new RegExp(`^(?:${body})$`, 's');
  return (s) => re.test(s);
}
