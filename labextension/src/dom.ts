/**
 * DOM helpers. User text (titles, message bodies, roles) only ever reaches the
 * page through `textContent`, so markup in it stays visible text.
 */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export function button(className: string, label: string, title: string): HTMLButtonElement {
  const node = el('button', `jp-mod-styled am-Button ${className}`, label);
  node.type = 'button';
  node.title = title;
  return node;
}

/** A `<time>` showing a server timestamp in the user's locale. */
export function timeElement(className: string, iso: string): HTMLTimeElement {
  const node = el('time', className, formatTime(iso));
  node.dateTime = iso;
  node.title = iso;
  return node;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
