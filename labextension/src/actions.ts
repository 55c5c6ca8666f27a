/**
 * What the commands do outside the panels: put an export into the notebook (a Markdown
 * cell, or a whole `.ipynb` next to it), download an export, ask for a new session's
 * title and tags, or for a session to export.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, InputDialog, Notification, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import {
  describeError,
  ExportFormat,
  exportFile,
  exportSession,
  getSession,
  listSessions
} from './api';
import { el } from './dom';

/** Put `markdown` into a new Markdown cell below the active cell of the current notebook. */
export function insertMarkdownCell(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker,
  markdown: string,
  sessionId: string
): boolean {
  const panel = notebooks.currentWidget;
  if (!panel || !panel.content.model) {
    return false;
  }
  const notebook = panel.content;
  const index = notebook.activeCellIndex + 1;
  notebook.model!.sharedModel.insertCell(index, {
    cell_type: 'markdown',
    source: markdown,
    metadata: { activemirror: { session_id: sessionId } }
  });
  notebook.activeCellIndex = index;
  const cell = notebook.widgets[index];
  if (cell && 'rendered' in cell) {
    (cell as unknown as { rendered: boolean }).rendered = true;
  }
  app.shell.activateById(panel.id);
  if (cell) {
    void notebook.scrollToCell(cell);
  }
  return true;
}

/** Ask the user which session to export when the command has no session at hand. */
export async function pickSession(): Promise<string | null> {
  const page = await listSessions(100, 0);
  if (page.sessions.length === 0) {
    Notification.info('No saved sessions to insert yet.', { autoClose: 4000 });
    return null;
  }
  const labels = page.sessions.map(s => `${s.title || '(untitled)'} — ${s.id}`);
  const choice = await InputDialog.getItem({ title: 'Insert which session?', items: labels });
  if (!choice.button.accept || choice.value === null) {
    return null;
  }
  const index = labels.indexOf(choice.value);
  return index >= 0 ? page.sessions[index].id : null;
}

/** Save an export (HTML, notebook…) as a download with the name the server gives it. */
export async function downloadExport(sessionId: string, format: ExportFormat): Promise<string> {
  const { blob, filename } = await exportFile(sessionId, format);
  const url = URL.createObjectURL(blob);
  const link = el('a', 'am-Download');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has handed the file to the browser; the object URL can go once it is read.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return filename;
}

/** A file name from a session title: no path separators or control characters. */
export function safeFileName(title: string, fallback: string): string {
  const name = title
    // eslint-disable-next-line no-control-regex -- control characters are what it removes
    .replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, '_')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  return name.slice(0, 100) || fallback;
}

/**
 * The session as a notebook, written next to the open notebook (or at the root) through
 * the contents API, never over an existing file, and opened. Returns its path.
 */
export async function openAsNotebook(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker,
  sessionId: string
): Promise<string> {
  const [text, session] = await Promise.all([
    exportSession(sessionId, 'ipynb'),
    getSession(sessionId)
  ]);
  const content = JSON.parse(text);
  const current = notebooks.currentWidget;
  const folder = current ? PathExt.dirname(current.context.path) : '';
  const contents = app.serviceManager.contents;
  const base = safeFileName(session.title, sessionId);
  let path = PathExt.join(folder, `${base}.ipynb`);
  for (let n = 1; await exists(app, path); n++) {
    path = PathExt.join(folder, `${base} (${n}).ipynb`);
  }
  await contents.save(path, { type: 'notebook', format: 'json', content });
  await app.commands.execute('docmanager:open', { path });
  return path;
}

async function exists(app: JupyterFrontEnd, path: string): Promise<boolean> {
  try {
    await app.serviceManager.contents.get(path, { content: false });
    return true;
  } catch {
    return false;
  }
}

/** The "New session" form: a title and tags (comma separated). */
class NewSessionForm extends Widget {
  constructor(parentTitle: string | null) {
    super();
    this.addClass('am-NewSession');
    this._title = el('input', 'jp-mod-styled am-NewSession-title');
    this._title.placeholder = 'Title';
    this._title.setAttribute('aria-label', 'Title');
    this._tags = el('input', 'jp-mod-styled am-NewSession-tags');
    this._tags.placeholder = 'tags, comma separated (optional)';
    this._tags.setAttribute('aria-label', 'Tags');
    if (parentTitle !== null) {
      this.node.append(el('div', 'am-NewSession-parent', `Inside “${parentTitle}”`));
    }
    this.node.append(this._title, this._tags);
  }

  getValue(): { title: string; tags: string[] } {
    const tags = this._tags.value
      .split(',')
      .map(tag => tag.trim())
      .filter(Boolean);
    return { title: this._title.value.trim(), tags };
  }

  protected onAfterAttach(): void {
    this._title.focus();
  }

  private _title: HTMLInputElement;
  private _tags: HTMLInputElement;
}

/** Ask for a new session's title and tags; null if cancelled. */
export async function askNewSession(
  parentTitle: string | null
): Promise<{ title: string; tags: string[] } | null> {
  const result = await showDialog({
    title: parentTitle === null ? 'New Mirror session' : 'New sub-session',
    body: new NewSessionForm(parentTitle),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })],
    focusNodeSelector: '.am-NewSession-title'
  });
  if (!result.button.accept || !result.value || !result.value.title) {
    return null;
  }
  return result.value;
}

/** A failed action as one line in a notification. */
export function reportFailure(what: string, error: unknown): void {
  Notification.error(`${what}: ${describeError(error)}`, { autoClose: 8000 });
}
