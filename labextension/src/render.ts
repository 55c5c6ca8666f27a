/**
 * One message as the session view shows it.
 *
 * Bodies go through JupyterLab's rendermime as *untrusted* output, so Markdown and HTML are
 * sanitised by JupyterLab itself (no script, no event handlers). A cell message (autolog:
 * `metadata.kind == "cell"`, or 0.1's `metadata.autolog`) is shown as highlighted code —
 * a fenced Python block, highlighted by JupyterLab's Markdown renderer — with its outputs
 * (the attachments `metadata.outputs` names) below. Images are `<img>` from the attachment
 * endpoint, which serves them with `Content-Security-Policy: sandbox` (an SVG cannot run
 * script); CSV becomes a table of its first rows; anything else a download link.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { fileIcon, tableRowsIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { attachmentText, attachmentUrl, IAttachment, IMessage } from './api';
import { redactedText } from './redact';
import { el, formatSize, timeElement } from './dom';
import { parseCsv } from './table';

/** Images the browser shows from the attachment endpoint. */
const IMAGE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/svg+xml'
]);
/** The longest text an output shows before "…" (the whole is a download away). */
const MAX_TEXT = 100_000;
const CSV_ROWS = 20;

interface IOutputEntry {
  attachment?: unknown;
  output_type?: unknown;
  stream?: unknown;
  truncated?: unknown;
}

/**
 * A mime type without its parameters (`text/html; charset=utf-8` is `text/html`): the
 * server keeps them lower-cased, one space after each `;`; the bare type decides how an
 * attachment is shown.
 */
export function bareType(mimeType: string): string {
  return mimeType.split(';')[0].trim().toLowerCase();
}

export function isCell(message: IMessage): boolean {
  return message.metadata?.kind === 'cell' || message.metadata?.autolog === true;
}

/**
 * Text of attachments by sha256 and type (the same bytes of the same type, and charset, are
 * the same text): refreshes re-use it.
 */
const textCache = new Map<string, Promise<string>>();

function cachedText(message: IMessage, attachment: IAttachment): Promise<string> {
  const key = `${attachment.sha256} ${attachment.mime_type}`;
  let text = textCache.get(key);
  if (!text) {
    text = attachmentText(message.session_id, message.id, attachment.name);
    text.catch(() => textCache.delete(key));
    textCache.set(key, text);
    if (textCache.size > 300) {
      textCache.delete(textCache.keys().next().value as string);
    }
  }
  return text;
}

export class MessageRenderer {
  constructor(rendermime: IRenderMimeRegistry) {
    this._rendermime = rendermime;
  }

  /** The message as a list item; rendered parts fill in as they arrive. */
  render(message: IMessage): HTMLLIElement {
    const cell = isCell(message);
    const item = el('li', 'am-Message');
    item.dataset.messageId = message.id;
    item.dataset.role = message.role;
    item.dataset.kind = cell ? 'cell' : 'note';
    item.tabIndex = -1;
    item.append(this._header(message, cell));
    const content = el('div', 'am-Message-content');
    item.append(content);
    if (message.redacted) {
      item.classList.add('am-mod-redacted');
      content.append(el('div', 'am-Message-redacted', redactedText(message)));
      return item;
    }
    if (cell) {
      this._markdown(content, codeFence(message.content, 'python'), message.content);
      item.append(this._outputs(message));
    } else {
      this._markdown(content, message.content, message.content);
    }
    const extra = this._attachments(message, cell);
    if (extra) {
      item.append(extra);
    }
    return item;
  }

  /** Drop the renderers of everything rendered so far (before a re-render). */
  clear(): void {
    this._widgets.forEach(widget => widget.dispose());
    this._widgets = [];
  }

  dispose(): void {
    this.clear();
  }

  private _header(message: IMessage, cell: boolean): HTMLElement {
    const header = el('div', 'am-Message-header');
    header.append(el('span', 'am-Message-role', message.role));
    if (cell) {
      const meta = message.metadata;
      const count = typeof meta.execution_count === 'number' ? meta.execution_count : ' ';
      header.append(el('span', 'am-Message-prompt', `In [${count}]`));
      const failed = meta.status === 'error' || meta.success === false;
      const status = el('span', `am-Message-status ${failed ? 'am-mod-error' : ''}`.trim());
      status.textContent = failed ? 'error' : 'ok';
      header.append(status);
      if (typeof meta.duration_s === 'number') {
        header.append(el('span', 'am-Message-duration', `${meta.duration_s.toFixed(2)} s`));
      }
    }
    header.append(timeElement('am-Message-time', message.timestamp));
    if (message.hash) {
      const hash = el('span', 'am-Message-hash', message.hash.slice(0, 10));
      hash.title = `SHA-256 chain hash ${message.hash}`;
      header.append(hash);
    }
    return header;
  }

  /** Markdown through rendermime, untrusted (sanitised); `fallback` as text if it fails. */
  private _markdown(host: HTMLElement, source: string, fallback: string): void {
    this._mime(host, 'text/markdown', source, fallback);
  }

  private _mime(host: HTMLElement, mimeType: string, source: string, fallback: string): void {
    let renderer: Widget;
    try {
      renderer = this._rendermime.createRenderer(mimeType);
    } catch {
      host.append(el('div', 'am-Message-text', fallback));
      return;
    }
    renderer.addClass('am-Rendered');
    this._widgets.push(renderer);
    host.append(renderer.node);
    const model = new MimeModel({ data: { [mimeType]: source }, trusted: false });
    (renderer as unknown as { renderModel: (m: MimeModel) => Promise<void> })
      .renderModel(model)
      .catch(() => {
        renderer.node.replaceChildren(el('div', 'am-Message-text', fallback));
      });
  }

  private _outputs(message: IMessage): HTMLElement {
    const box = el('div', 'am-Message-outputs');
    const meta = message.metadata;
    if ((meta.status === 'error' || meta.success === false) && typeof meta.error === 'string') {
      box.append(el('pre', 'am-Output am-Output-error', meta.error));
    }
    const entries = Array.isArray(meta.outputs) ? (meta.outputs as IOutputEntry[]) : [];
    for (const entry of entries) {
      const name = typeof entry?.attachment === 'string' ? entry.attachment : null;
      const attachment = message.attachments?.find(a => a.name === name);
      if (!attachment) {
        continue;
      }
      const output = el('div', 'am-Output');
      output.dataset.outputType = typeof entry.output_type === 'string' ? entry.output_type : '';
      if (entry.stream === 'stderr') {
        output.classList.add('am-mod-stderr');
      }
      this._attachment(output, message, attachment, true);
      if (entry.truncated === true) {
        output.append(el('div', 'am-Output-note', 'Output truncated when it was recorded.'));
      }
      box.append(output);
    }
    return box;
  }

  /** Attachments that are not outputs of the cell, and 0.1's variable snapshots. */
  private _attachments(message: IMessage, cell: boolean): HTMLElement | null {
    const outputs = new Set<string>();
    if (cell && Array.isArray(message.metadata.outputs)) {
      for (const entry of message.metadata.outputs as IOutputEntry[]) {
        if (typeof entry?.attachment === 'string') {
          outputs.add(entry.attachment);
        }
      }
    }
    const files = (message.attachments ?? []).filter(a => !outputs.has(a.name));
    const snapshots = Array.isArray(message.metadata.attachments)
      ? (message.metadata.attachments as unknown[]).filter(
          (item): item is Record<string, unknown> => !!item && typeof item === 'object'
        )
      : [];
    if (files.length === 0 && snapshots.length === 0) {
      return null;
    }
    const box = el('div', 'am-Message-attachments');
    for (const attachment of files) {
      const item = el('div', 'am-Attachment');
      item.dataset.name = attachment.name;
      this._attachment(item, message, attachment, false);
      box.append(item);
    }
    for (const snapshot of snapshots) {
      box.append(snapshotTable(snapshot));
    }
    return box;
  }

  private _attachment(
    host: HTMLElement,
    message: IMessage,
    attachment: IAttachment,
    asOutput: boolean
  ): void {
    const mime = bareType(attachment.mime_type);
    if (!asOutput) {
      host.append(attachmentLabel(message, attachment));
    }
    if (IMAGE_TYPES.has(mime)) {
      const image = el('img', 'am-Attachment-image');
      image.src = attachmentUrl(message.session_id, message.id, attachment.name);
      image.alt = attachment.name;
      image.loading = 'lazy';
      host.append(image);
      return;
    }
    const textual =
      mime === 'text/csv' ||
      mime === 'text/markdown' ||
      mime === 'text/html' ||
      mime === 'application/json' ||
      (asOutput && mime.startsWith('text/'));
    if (!textual) {
      if (asOutput) {
        host.append(attachmentLabel(message, attachment));
      }
      return;
    }
    const slot = el('div', 'am-Attachment-body', 'Loading…');
    host.append(slot);
    cachedText(message, attachment).then(
      text => this._fillText(slot, mime, text),
      () => {
        slot.replaceChildren(attachmentLabel(message, attachment));
      }
    );
  }

  private _fillText(slot: HTMLElement, mime: string, text: string): void {
    slot.replaceChildren();
    const clipped = text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) + '\n…' : text;
    if (mime === 'text/csv') {
      slot.append(csvTable(text));
    } else if (mime === 'text/markdown' || mime === 'text/html') {
      this._mime(slot, mime, clipped, clipped);
    } else if (mime === 'application/json') {
      let pretty = clipped;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON after all: show it as it is
      }
      slot.append(el('pre', 'am-Output-text', pretty));
    } else {
      slot.append(el('pre', 'am-Output-text', clipped));
    }
  }

  private _rendermime: IRenderMimeRegistry;
  private _widgets: Widget[] = [];
}

/** A fenced code block that no backtick run in `source` can close early. */
export function codeFence(source: string, language: string): string {
  const longest = Math.max(0, ...(source.match(/`+/g) ?? []).map(run => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${source}\n${fence}`;
}

/** "name · type · size", the name a download link. */
function attachmentLabel(message: IMessage, attachment: IAttachment): HTMLElement {
  const label = el('div', 'am-Attachment-label');
  const link = el('a', 'am-Attachment-link', attachment.name);
  link.href = attachmentUrl(message.session_id, message.id, attachment.name, true);
  link.setAttribute('download', attachment.name);
  link.title = `Download ${attachment.name} (${attachment.mime_type})`;
  label.append(
    fileIcon.element({ tag: 'span', className: 'am-Attachment-icon' }),
    link,
    el('span', 'am-Attachment-meta', ` · ${attachment.mime_type} · ${formatSize(attachment.size)}`)
  );
  return label;
}

function csvTable(text: string): HTMLElement {
  const { rows, more } = parseCsv(text, CSV_ROWS + 1);
  const wrap = el('div', 'am-Table-wrap');
  if (rows.length === 0) {
    wrap.textContent = '(empty table)';
    return wrap;
  }
  wrap.append(table(rows[0], rows.slice(1)));
  if (more) {
    wrap.append(el('div', 'am-Output-note', `First ${CSV_ROWS} rows; download for the rest.`));
  }
  return wrap;
}

function table(columns: unknown[], rows: unknown[][]): HTMLTableElement {
  const node = el('table', 'am-Table');
  const head = el('thead', '');
  const headRow = el('tr', '');
  columns.forEach(column => headRow.append(el('th', '', cellText(column))));
  head.append(headRow);
  const body = el('tbody', '');
  for (const row of rows) {
    const tr = el('tr', '');
    row.forEach(value => tr.append(el('td', '', cellText(value))));
    body.append(tr);
  }
  node.append(head, body);
  return node;
}

function cellText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

/** A 0.1 variable snapshot (`%%mirror_send --attach`): name, type, shape, first rows. */
function snapshotTable(item: Record<string, unknown>): HTMLElement {
  const box = el('div', 'am-Attachment am-Snapshot');
  const facts: string[] = [];
  if (item.type !== undefined) {
    facts.push(String(item.type));
  }
  if (Array.isArray(item.shape)) {
    facts.push(item.shape.join(' × '));
  }
  const name = typeof item.name === 'string' ? item.name : 'attachment';
  const label = el('div', 'am-Attachment-label');
  label.append(
    tableRowsIcon.element({ tag: 'span', className: 'am-Attachment-icon' }),
    document.createTextNode(`${name}${facts.length ? ` (${facts.join(', ')})` : ''}`)
  );
  box.append(label);
  const columns = item.columns;
  const rows = item.head ?? item.rows;
  if (Array.isArray(columns) && Array.isArray(rows)) {
    const cells = rows.map(row =>
      Array.isArray(row) ? row : columns.map(c => (row as Record<string, unknown>)?.[String(c)])
    );
    const wrap = el('div', 'am-Table-wrap');
    wrap.append(table(columns, cells));
    box.append(wrap);
  } else if (typeof item.repr === 'string') {
    box.append(el('pre', 'am-Output-text', item.repr));
  }
  return box;
}
