const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes a user string (run name, path, note) for HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => HTML[c]!);
}

/**
 * Escapes a string for Markdown text and table cells: the characters that could start code,
 * emphasis, a link or strikethrough, and the table separator `|`, get a backslash; `&`, `<` and `>`
 * become entities (Markdown renderers pass raw HTML through); line breaks become spaces.
 */
export function escapeMarkdown(text: string): string {
  return String(text)
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/[&<>]/g, (c) => HTML[c]!)
    .replace(/\r?\n/g, ' ');
}
