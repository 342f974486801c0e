/** A stand-in for stdout/stderr (not a TTY) that keeps what is written in `text`. */
export function textSink(): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY: false, write: (chunk: string) => ((s.text += chunk), true) };
  return s as unknown as NodeJS.WriteStream & { text: string };
}
