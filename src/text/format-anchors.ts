/**
 * Parts of a text that a translation must carry over unchanged because a program reads them:
 * printf-style format directives (`%s`, `%d`, `%1$s`, `%-5.2f`), Python's `%(name)s` and `{0}`,
 * and markup tags (`<b>`, `</span>`, `<%s>`). gettext's own `msgfmt --check-format` rejects a
 * translation whose directives differ from the msgid's, so real translations keep them; a target
 * that lost one was cut short or belongs to another message.
 */

// Without the space flag: "50% of" is no directive. Not after a digit or a letter-led word ("50%off").
const PRINTF = /(?<![\p{N}])%(?:\(\w+\)|\d+\$)?[-+#0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|Z|t|I)?[diouxXeEfFgGcsp]/gu;
const BRACE = /\{\d+\}/g;
/** A markup tag: `<b>`, `</span>`, `<key name='%s'>`, `<br/>`. */
export const MARKUP_TAG = /<\/?[A-Za-z][\w:-]*(?:\s+[\w:-]+(?:="[^"<>]*"|='[^'<>]*')?)*\s*\/?>/g;

/** The format directives and markup tags of a text, positions dropped (`%2$s` → `%s`: order may change in a translation). */
export function formatAnchors(text: string): string[] {
  const plain = text.replace(/%%/g, " ");
  const directives = (plain.match(PRINTF) ?? []).map((directive) => directive.replace(/^%\d+\$/, "%"));
  const tags = (plain.match(MARKUP_TAG) ?? []).map((tag) => tag.replace(/\s.*(?=\/?>$)/s, "").toLowerCase());
  return [...directives, ...(plain.match(BRACE) ?? []), ...tags];
}

/** Anchors of the source missing from the target and anchors the target has beyond the source's (each counted with its multiplicity). */
export function anchorDifference(source: string, target: string): { missing: string[]; extra: string[] } {
  const counts = new Map<string, number>();
  for (const anchor of formatAnchors(source)) counts.set(anchor, (counts.get(anchor) ?? 0) + 1);
  const extra: string[] = [];
  for (const anchor of formatAnchors(target)) {
    const left = counts.get(anchor) ?? 0;
    if (left > 0) counts.set(anchor, left - 1);
    else extra.push(anchor);
  }
  const missing = [...counts].flatMap(([anchor, count]) => Array.from({ length: count }, () => anchor));
  return { missing, extra };
}
