/**
 * DOM helpers. User text (titles, message bodies, roles, snippets) only ever reaches
 * the page through `textContent` and text nodes, so markup in it stays visible text.
 * (Message bodies rendered as Markdown go through JupyterLab's sanitiser instead: see
 * `render.ts`.)
 */
import { LabIcon } from '@jupyterlab/ui-components';

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

/** A compact button showing `icon` (a JupyterLab icon), and `label` beside it if given. */
export function iconButton(
  className: string,
  icon: LabIcon,
  label: string,
  title: string
): HTMLButtonElement {
  const node = button(`am-IconButton ${className}`, '', title);
  node.setAttribute('aria-label', title);
  node.append(
    icon.element({ tag: 'span', className: 'am-IconButton-icon', elementPosition: 'center' })
  );
  if (label) {
    node.append(el('span', 'am-IconButton-label', label));
  }
  return node;
}

/** How dates are shown: the user's locale, ISO 8601, or relative ("5 minutes ago"). */
export type DateFormat = 'locale' | 'iso' | 'relative';

let dateFormat: DateFormat = 'locale';

export function setDateFormat(format: DateFormat): void {
  dateFormat = format;
}

/** A `<time>` showing a server timestamp as the settings say. */
export function timeElement(className: string, iso: string): HTMLTimeElement {
  const node = el('time', className, formatTime(iso));
  node.dateTime = iso;
  node.title = iso;
  return node;
}

export function formatTime(iso: string, now: number = Date.now()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  if (dateFormat === 'iso') {
    return date
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
  }
  if (dateFormat === 'relative') {
    return relativeTime(date.getTime(), now);
  }
  return date.toLocaleString();
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1]
];

/** `then` relative to `now` (both ms since the epoch): "3 minutes ago", "now". */
export function relativeTime(then: number, now: number): string {
  const seconds = Math.round((then - now) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [unit, length] of UNITS) {
    if (Math.abs(seconds) >= length || unit === 'second') {
      return format.format(Math.round(seconds / length), unit);
    }
  }
  return format.format(0, 'second');
}

export function plural(count: number, word: string): string {
  return `${count.toLocaleString()} ${word}${count === 1 ? '' : 's'}`;
}

/** `1536` → `1.5 kB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) {
    return plural(bytes, 'byte');
  }
  const units = ['kB', 'MB', 'GB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * `text` as text nodes, with the `[start, end)` ranges in `highlights` wrapped in `<mark>`.
 * Offsets count code points (as the server's Python does), not UTF-16 units.
 */
export function markedText(text: string, highlights: [number, number][]): DocumentFragment {
  const points = Array.from(text);
  const fragment = document.createDocumentFragment();
  const ranges = highlights
    .filter(([s, e]) => Number.isInteger(s) && Number.isInteger(e) && 0 <= s && s < e)
    .sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [start, end] of ranges) {
    if (start < at || start >= points.length) {
      continue; // overlapping or outside the text: skip rather than mark the wrong words
    }
    if (start > at) {
      fragment.append(document.createTextNode(points.slice(at, start).join('')));
    }
    fragment.append(
      el('mark', 'am-Mark', points.slice(start, Math.min(end, points.length)).join(''))
    );
    at = Math.min(end, points.length);
  }
  if (at < points.length) {
    fragment.append(document.createTextNode(points.slice(at).join('')));
  }
  return fragment;
}

/** Tags as small chips. */
export function tagList(tags: string[] | undefined, className = ''): HTMLElement | null {
  if (!tags || tags.length === 0) {
    return null;
  }
  const list = el('span', `am-Tags ${className}`.trim());
  list.setAttribute('aria-label', `Tags: ${tags.join(', ')}`);
  for (const tag of tags) {
    list.append(el('span', 'am-Tag', tag));
  }
  return list;
}

/** A local calendar date from `<input type=date>` (`2024-05-01`) as the ISO time of its
 * start (`dayOffset` 1: the start of the next day). Empty or invalid: undefined. */
export function localDayStart(value: string, dayOffset = 0): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) {
    return undefined;
  }
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + dayOffset);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
