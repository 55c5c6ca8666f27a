/**
 * A main-area panel showing one session: its messages newest page first, chronological
 * inside each page (as `Session.get_messages` pages them), rendered by `render.ts`, each
 * saved one with "Redact…" (`redact.ts`); a seal badge and "Verify"; an export menu; and a
 * note box that adds a message (Ctrl+Enter).
 *
 * It refreshes itself when the store changes (the owner calls `refresh()`), keeping the
 * page and the scroll — and following new messages when the user was reading the newest.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { lockIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import {
  addMessage,
  describeError,
  getMessagePlace,
  getMessages,
  getSession,
  IMessage,
  ISessionSummary,
  IVerifyReport,
  MirrorApiError,
  Role,
  verify
} from './api';
import { button, el, plural, tagList, timeElement } from './dom';
import { Pager } from './pager';
import { NoteBox } from './notebox';
import { redact } from './redact';
import { MessageRenderer } from './render';

export namespace SessionView {
  export interface IOptions {
    sessionId: string;
    rendermime: IRenderMimeRegistry;
    /** Insert this session's Markdown export into the active notebook. */
    onInsert: (sessionId: string) => void;
    /** Open the export menu for this session under `anchor`. */
    onExportMenu: (sessionId: string, anchor: HTMLElement) => void;
    /** A note was added here (the sidebar may want to know at once). */
    onNoteAdded?: (message: IMessage) => void;
    pageSize?: number;
  }
}

export class SessionView extends Widget {
  constructor(options: SessionView.IOptions) {
    super();
    this.addClass('am-SessionView');
    this.sessionId = options.sessionId;
    this.node.dataset.sessionId = options.sessionId;
    this._options = options;
    this._renderer = new MessageRenderer(options.rendermime);

    const header = el('div', 'am-SessionView-header');
    this._heading = el('h1', 'am-SessionView-title', options.sessionId);
    this._meta = el('div', 'am-SessionView-meta');
    this._badges = el('div', 'am-SessionView-badges');
    header.append(this._heading, this._meta, this._badges);

    this._pager = new Pager({
      pageSize: options.pageSize ?? 20,
      load: (page, isCurrent) => this._load(page, isCurrent),
      back: ['am-Pager-newer', '← Newer', 'Show newer messages'],
      forward: ['am-Pager-older', 'Older →', 'Show older messages'],
      className: 'am-SessionView-toolbar'
    });
    this._pager.node.append(el('span', 'am-Spacer'), ...this._actions());

    this._report = el('div', 'am-VerifyReport');
    this._report.setAttribute('aria-live', 'polite');
    this._report.hidden = true;
    this._status = el('div', 'am-SessionView-status');
    this._status.setAttribute('role', 'status');
    this._list = el('ol', 'am-MessageList');
    this._list.setAttribute('aria-label', 'Messages');
    this._list.tabIndex = 0;
    // The user scrolling (wheel, touch, keys, the scrollbar) ends any pinning.
    const release = (): void => {
      this._pin = null;
    };
    for (const type of ['wheel', 'touchmove', 'pointerdown']) {
      this._list.addEventListener(type, release, { passive: true });
    }
    this._list.addEventListener('keydown', event => {
      if (['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End', ' '].includes(event.key)) {
        release();
      }
    });
    this._resizes = new ResizeObserver(() => this._applyPin());
    this._noteBox = new NoteBox({ send: (content, role) => this._send(content, role) });
    this.node.append(
      header,
      this._pager.node,
      this._report,
      this._status,
      this._list,
      this._noteBox.node
    );
  }

  readonly sessionId: string;

  /** The session's summary once loaded. */
  get session(): ISessionSummary | null {
    return this._session;
  }

  /** The page shown: 1 is the newest messages. */
  get page(): number {
    return this._pager.page;
  }

  get pageSize(): number {
    return this._pager.pageSize;
  }

  set pageSize(size: number) {
    if (size !== this._pager.pageSize) {
      this._pager.pageSize = size;
      this._lastRendered = '';
      void this._pager.show(1);
    }
  }

  /** Load again, staying on the page (and redrawing only if something changed). */
  refresh(): Promise<void> {
    return this._pager.refresh();
  }

  /** Redraw everything (after a settings change, e.g. the date format). */
  redraw(): Promise<void> {
    this._lastRendered = '';
    return this._pager.refresh();
  }

  showPage(page: number): Promise<void> {
    return this._pager.show(page);
  }

  /** Show the page holding `messageId` and highlight the message there. */
  async showMessage(messageId: string): Promise<void> {
    try {
      const place = await getMessagePlace(this.sessionId, messageId);
      this._highlighted = messageId;
      await this._pager.show(Math.floor((place.total - 1 - place.position) / this.pageSize) + 1);
      this._applyHighlight(true);
    } catch (error) {
      this._setStatus(describeError(error), true, true);
    }
  }

  /** The server stopped answering (or its store failed): one line here too, until the
   * next successful load. */
  showConnection(error: unknown | null): void {
    if (error !== null) {
      this._setStatus(describeError(error), true);
    }
  }

  /** Focus the note box. */
  focusNote(): void {
    this._noteBox.focus();
  }

  dispose(): void {
    this._resizes.disconnect();
    this._renderer.dispose();
    super.dispose();
  }

  private _actions(): HTMLElement[] {
    const verifyButton = button(
      'am-SessionView-verify',
      'Verify',
      "Check this session's hash chain and seal"
    );
    verifyButton.addEventListener('click', () => void this._verify());
    const exportButton = button(
      'am-SessionView-export',
      'Export ▾',
      'Download or insert this session'
    );
    exportButton.setAttribute('aria-haspopup', 'menu');
    exportButton.addEventListener('click', () =>
      this._options.onExportMenu(this.sessionId, exportButton)
    );
    const refresh = button('am-SessionView-refresh', 'Refresh', 'Reload this session');
    refresh.addEventListener('click', () => void this.refresh());
    const insert = button(
      'am-SessionView-insert jp-mod-accept',
      'Insert into notebook',
      "Insert this session's Markdown export as a new cell in the active notebook"
    );
    insert.addEventListener('click', () => this._options.onInsert(this.sessionId));
    return [verifyButton, exportButton, refresh, insert];
  }

  /** Save a note from the box; true once saved. A refusal (a 409: sealed meanwhile) is
   * one line under the toolbar, and the view catches up with the session. */
  private async _send(content: string, role: Role): Promise<boolean> {
    try {
      const message = await addMessage(this.sessionId, content, role);
      this._highlighted = null;
      this._stickToEnd = true;
      await this._pager.show(1);
      this._setStatus('', false);
      this._options.onNoteAdded?.(message);
      return true;
    } catch (error) {
      this._setStatus(describeError(error), true, true);
      if (error instanceof MirrorApiError && error.status === 409) {
        void this.refresh();
      }
      return false;
    }
  }

  private async _verify(): Promise<void> {
    this._report.hidden = false;
    this._report.className = 'am-VerifyReport';
    this._report.textContent = 'Verifying…';
    try {
      this._showReport(await verify(this.sessionId));
    } catch (error) {
      this._report.classList.add('am-mod-error');
      this._report.textContent = describeError(error);
    }
  }

  private _showReport(report: IVerifyReport): void {
    this._report.replaceChildren();
    this._report.classList.add(report.ok ? 'am-mod-ok' : 'am-mod-error');
    const sealed = this._session?.sealed ? ' and seal' : '';
    this._report.append(
      el(
        'div',
        'am-VerifyReport-summary',
        report.ok
          ? `✓ Verified: ${plural(report.messages, 'message')}, hash chain${sealed} intact — nothing changed since saved.`
          : `✗ ${plural(report.problems.length, 'problem')} found in ${plural(report.messages, 'message')}:`
      )
    );
    if (!report.ok) {
      const list = el('ul', 'am-VerifyReport-problems');
      for (const problem of report.problems) {
        const where = problem.message_id
          ? `message ${problem.message_id}`
          : `session ${problem.session_id}`;
        list.append(el('li', '', `${problem.kind}: ${where}: ${problem.detail}`));
      }
      this._report.append(list);
    }
  }

  private async _load(page: number, isCurrent: () => boolean): Promise<number | null> {
    this.node.dataset.state = 'loading';
    const size = this._pager.pageSize;
    try {
      const [session, result] = await Promise.all([
        getSession(this.sessionId),
        getMessages(this.sessionId, size, this._pager.offset(page))
      ]);
      if (isCurrent()) {
        this._session = session;
        // Redraw only when what is shown changed (a redraw re-renders every message).
        const fingerprint = JSON.stringify([page, size, session, result.total, result.messages]);
        if (fingerprint !== this._lastRendered) {
          this._renderSession(session);
          this._renderMessages(result.messages, page);
          this._lastRendered = fingerprint;
        }
        if (!this._actionError) {
          this._setStatus(result.total === 0 ? 'This session has no messages yet.' : '', false);
        }
        this.node.dataset.state = 'ready';
      }
      return result.total;
    } catch (error) {
      if (isCurrent()) {
        this._setStatus(
          error instanceof MirrorApiError && error.status === 404
            ? `This session is gone: ${describeError(error)}`
            : `Could not load this session: ${describeError(error)}`,
          true
        );
        this.node.dataset.state = 'error';
      }
      return null;
    }
  }

  /** One line under the toolbar. An `action` error (a refused note) stays through
   * refreshes until the next action; a load error until the next successful load. */
  private _setStatus(text: string, error: boolean, action = false): void {
    this._actionError = action && error;
    this._status.textContent = text;
    this._status.classList.toggle('am-mod-error', error);
    this._status.setAttribute('role', error ? 'alert' : 'status');
  }

  private _renderSession(session: ISessionSummary): void {
    const title = session.title || '(untitled)';
    this._heading.textContent = title;
    this.title.label = title;
    this.title.caption = `Mirror session ${session.id}`;
    this._meta.replaceChildren(
      el('span', 'am-SessionView-count', plural(session.message_count, 'message')),
      el('span', 'am-SessionItem-sep', ' · updated '),
      timeElement('am-SessionView-updated', session.updated_at),
      el('span', 'am-SessionView-id', ` · ${session.id}`)
    );
    this._badges.replaceChildren();
    if (session.sealed) {
      const seal = (session.metadata?.seal ?? {}) as Record<string, unknown>;
      const badge = el('span', 'am-Seal');
      badge.append(
        lockIcon.element({ tag: 'span', className: 'am-Seal-icon' }),
        document.createTextNode('Sealed')
      );
      badge.title = [
        'Sealed: read-only; its journal head is recorded.',
        typeof seal.sealed_at === 'string' ? `Sealed at ${seal.sealed_at}.` : '',
        typeof seal.head === 'string' ? `Head ${seal.head}.` : '',
        typeof seal.signature === 'string' ? 'Signed with an Ed25519 key.' : ''
      ]
        .filter(Boolean)
        .join(' ');
      this._badges.append(badge);
    }
    const tags = tagList(session.tags);
    if (tags) {
      this._badges.append(tags);
    }
    this._noteBox.sealed = !!session.sealed;
  }

  private _renderMessages(messages: IMessage[], page: number): void {
    const list = this._list;
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
    const first = this._lastRendered === '';
    const scroll = list.scrollTop;
    this._renderer.clear();
    this._resizes.disconnect();
    list.replaceChildren(...messages.map(message => this._withActions(message)));
    Array.from(list.children).forEach(item => this._resizes.observe(item));
    if (this._stickToEnd || (page === 1 && (first || atEnd || this._pin === 'end'))) {
      this._pin = 'end'; // the newest message is at the bottom of page 1: follow it
    } else if (first || this._pin === 'top') {
      this._pin = 'top';
    } else if (this._pin !== 'highlight') {
      this._pin = null;
      list.scrollTop = scroll;
    }
    this._stickToEnd = false;
    this._applyHighlight(false);
    this._applyPin();
  }

  /** The rendered message, with "Redact…" on a saved message not yet redacted. */
  private _withActions(message: IMessage): HTMLLIElement {
    const item = this._renderer.render(message);
    if (message.hash && !message.redacted) {
      const action = button(
        'am-Message-redact',
        'Redact…',
        "Remove this message's content, metadata and attachments for good (asks first)"
      );
      action.addEventListener('click', () => void this._redact(message));
      item.querySelector('.am-Message-header')?.append(action);
    }
    return item;
  }

  private async _redact(message: IMessage): Promise<void> {
    try {
      const redacted = await redact(message);
      if (redacted) {
        this._setStatus(`Message redacted (${redacted.redacted?.reason ?? ''}).`, false, true);
        this._lastRendered = '';
        await this._pager.refresh();
      }
    } catch (error) {
      this._setStatus(`Could not redact: ${describeError(error)}`, true, true);
    }
  }

  /** Where the list stays while rendered parts (Markdown, images) arrive and change its
   * height: at the end, at the top, on the highlighted message — until the user scrolls. */
  private _applyPin(): void {
    const list = this._list;
    if (this._pin === 'end') {
      list.scrollTop = list.scrollHeight;
    } else if (this._pin === 'top') {
      list.scrollTop = 0;
    } else if (this._pin === 'highlight') {
      list.querySelector('.am-mod-highlighted')?.scrollIntoView({ block: 'center' });
    }
  }

  private _applyHighlight(focus: boolean): void {
    const id = this._highlighted;
    for (const item of Array.from(this._list.children) as HTMLElement[]) {
      const on = item.dataset.messageId === id;
      item.classList.toggle('am-mod-highlighted', on);
      if (on && focus) {
        this._pin = 'highlight';
        item.scrollIntoView({ block: 'center' });
        item.focus({ preventScroll: true });
      }
    }
  }

  private _options: SessionView.IOptions;
  private _renderer: MessageRenderer;
  private _pager: Pager;
  private _session: ISessionSummary | null = null;
  private _heading: HTMLHeadingElement;
  private _meta: HTMLDivElement;
  private _badges: HTMLDivElement;
  private _report: HTMLDivElement;
  private _status: HTMLDivElement;
  private _list: HTMLOListElement;
  private _noteBox: NoteBox;
  private _stickToEnd = false;
  private _highlighted: string | null = null;
  private _lastRendered = '';
  private _actionError = false;
  private _pin: 'end' | 'top' | 'highlight' | null = null;
  private _resizes: ResizeObserver;
}
